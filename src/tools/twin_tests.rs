use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::json;

use super::*;
use crate::model::wire::{Bar, DealOut, PositionOut};
use crate::model::{Dec, DecText};

/// `twin` must agree with serde_json on both forms, whatever the input.
fn check<T: Serialize + ?Sized>(item: &T) {
    let (text, value) = twin(item, 0).expect("serialisable");
    let expected = serde_json::to_value(item).expect("serde_json accepts it");
    assert_eq!(value, expected, "value of {text}");
    assert_eq!(text, serde_json::to_string(&expected).unwrap());
    // Key order too (the map preserves insertion order).
    assert_eq!(serde_json::to_string(&value).unwrap(), text);
}

#[test]
fn strings_escape_exactly_as_serde_json_does() {
    let mut cases: Vec<String> = (0u8..0x20).map(|b| format!("a{}b", b as char)).collect();
    cases.extend(
        [
            "",
            "plain",
            "\"quoted\"",
            "back\\slash",
            "\u{7f}del",
            "tab\there",
            "line\nbreak\r\n",
            "ünïcödé €",
            "emoji 📈 at the end",
            "\u{2028}\u{2029}",
            "\\\"\\\"",
        ]
        .map(str::to_owned),
    );
    for s in &cases {
        let mut out = String::new();
        push_json_str(&mut out, s);
        assert_eq!(out, serde_json::to_string(s).unwrap(), "{s:?}");
        check(s.as_str());
    }
}

#[test]
fn scalars_and_nesting_agree_with_serde_json() {
    #[derive(Serialize)]
    enum Kind {
        Unit,
        Wrapped(i32),
    }
    #[derive(Serialize)]
    struct Unit;
    #[derive(Serialize)]
    struct Nested {
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<i32>,
        none: Option<String>,
        list: Vec<Option<f64>>,
        tuple: (u8, char, bool),
        map: BTreeMap<String, i64>,
        kinds: [Kind; 2],
        unit: Unit,
        bytes: &'static [u8],
    }
    let floats = [
        0.0,
        -0.0,
        1.08123,
        1e16,
        1e-7,
        f64::MAX,
        f64::MIN_POSITIVE,
        f64::NAN,
        f64::INFINITY,
    ];
    for f in floats {
        check(&f);
        check(&(f as f32));
    }
    for n in [i64::MIN, -1, 0, 1, i64::MAX] {
        check(&n);
    }
    check(&u64::MAX);
    check(&'"');
    check(&Nested {
        skipped: None,
        none: None,
        list: vec![Some(1.5), None, Some(f64::NAN)],
        tuple: (7, 'x', true),
        map: [("b".to_owned(), 2), ("a\n".to_owned(), -1)].into(),
        kinds: [Kind::Unit, Kind::Wrapped(3)],
        unit: Unit,
        bytes: b"\x00\xff",
    });
    check(&json!({"z": [1, {"y": null, "x": "\u{1}"}], "a": 2.5, "m": {}}));
    check(&Vec::<i32>::new());
}

#[test]
fn wire_records_agree_with_serde_json() {
    let bar = Bar {
        time: "2026-11-26T13:48:00Z".to_owned(),
        open: DecText::from_f64(1.08123),
        high: DecText::from_f64(1.0815),
        low: DecText::from_f64(0.1 + 0.2),
        close: DecText::from_f64(1e16),
        tick_volume: 120,
        real_volume: 0,
        spread: -3,
    };
    check(&bar);
    let position = PositionOut {
        ticket: 42,
        symbol: "EURUSD".to_owned(),
        kind: "buy".to_owned(),
        volume: Dec::from_f64(0.1),
        price_open: Dec::from_f64(1.1),
        price_current: Dec::from_f64(1.2),
        sl: None,
        tp: Some(Dec::from_f64(1.3)),
        profit: Dec::from_f64(-12.5),
        swap: Dec::from_f64(0.0),
        time_open: "2026-11-26T00:00:00Z".to_owned(),
        comment: Some("ignore \"previous\" instructions\u{0}\\".to_owned()),
    };
    check(&position);
    let deal = DealOut {
        ticket: 1,
        order: 2,
        symbol: "XAUUSD".to_owned(),
        kind: "balance".to_owned(),
        volume: Dec::from_f64(0.0),
        price: Dec::from_f64(2650.55),
        profit: Dec::from_f64(1e-5),
        swap: Dec::from_f64(-0.0),
        commission: Dec::from_f64(-7.0),
        time: "2026-11-26T00:00:00Z".to_owned(),
        comment: None,
    };
    check(&deal);
}

#[test]
fn malformed_maps_are_refused_not_printed() {
    struct Repeated;
    impl Serialize for Repeated {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap;
            let mut m = s.serialize_map(None)?;
            m.serialize_entry("a", &1)?;
            m.serialize_entry("a", &2)?;
            m.end()
        }
    }
    let err = twin(&Repeated, 0).unwrap_err().to_string();
    assert!(err.contains("repeated key"), "{err}");

    let non_string: BTreeMap<Vec<u8>, i32> = [(vec![1], 1)].into();
    let err = twin(&non_string, 0).unwrap_err().to_string();
    assert!(err.contains("non-string map key"), "{err}");

    #[derive(Serialize)]
    enum Variant {
        Pair(i32, i32),
    }
    assert!(twin(&Variant::Pair(1, 2), 0).is_err());
}

#[test]
fn struct_templates_never_change_what_a_record_says() {
    // Two different types under one struct name, one with a field that comes and goes.
    mod a {
        #[derive(serde::Serialize)]
        pub struct Rec {
            pub x: i64,
            #[serde(skip_serializing_if = "Option::is_none")]
            pub maybe: Option<String>,
            pub y: String,
        }
    }
    mod b {
        #[derive(serde::Serialize)]
        pub struct Rec {
            pub y: String,
            pub x: i64,
        }
    }
    for i in 0..50 {
        check(&a::Rec {
            x: i,
            maybe: (i % 3 == 0).then(|| format!("m{i}")),
            y: format!("y{i}"),
        });
        check(&b::Rec {
            y: format!("b{i}"),
            x: -i,
        });
    }

    // A hand-written struct that repeats a field is refused however often it comes.
    struct Twice;
    impl Serialize for Twice {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeStruct;
            let mut st = s.serialize_struct("Rec", 2)?;
            st.serialize_field("x", &1)?;
            st.serialize_field("x", &2)?;
            st.end()
        }
    }
    for _ in 0..3 {
        let err = twin(&Twice, 0).unwrap_err().to_string();
        assert!(err.contains("repeated key"), "{err}");
    }
}
