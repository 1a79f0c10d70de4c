use std::collections::BTreeMap;

use rmcp::handler::server::tool::IntoCallToolResult;
use rmcp::model::{
    CallToolResponse, JsonRpcResponse, RequestId, ServerJsonRpcMessage, ServerResult,
};
use serde_json::json;

use super::*;
use crate::model::wire::{Bar, PositionOut};
use crate::model::{Dec, DecText};
use crate::transport::splice;

fn result_of<T>(listing: Listing<T>) -> CallToolResult {
    match listing.into_call_tool_result().expect("renders") {
        CallToolResponse::Complete(result) => result,
        _ => panic!("a listing completes"),
    }
}

/// The line a transport writes for `listing`: spliced from the text when it carries text,
/// serialised whole otherwise. rmcp reshapes results for peers on protocol versions before
/// 2026-07-28 (`legacy`) before the transport sees them.
fn line_of<T>(listing: Listing<T>, legacy: bool) -> String {
    let mut result = ServerResult::CallToolResult(result_of(listing));
    if legacy {
        result.strip_result_type_for_legacy_peer();
        result.strip_non_object_output_for_legacy_peer();
    }
    let mut message = ServerJsonRpcMessage::Response(JsonRpcResponse {
        jsonrpc: Default::default(),
        id: RequestId::Number(9),
        result,
    });
    let bytes = match splice::take(&mut message) {
        Some(text) => splice::pieces(&message, text.expect("well formed"))
            .unwrap()
            .concat(),
        None => serde_json::to_vec(&message).unwrap(),
    };
    String::from_utf8(bytes).unwrap()
}

/// Both forms of a listing of `items` put the same bytes on the wire.
fn same_on_the_wire<T: Serialize + Sync + Clone>(items: &[T]) {
    for legacy in [false, true] {
        let values = line_of(Listing::of(Wire::VALUES, items.to_vec()), legacy);
        let text = line_of(Listing::of(Wire::TEXT, items.to_vec()), legacy);
        assert_eq!(text, values, "legacy: {legacy}");
        let mapped = line_of(Listing::mapped(Wire::TEXT, items, T::clone), legacy);
        assert_eq!(mapped, values, "legacy: {legacy}");
    }
}

fn bar(i: i64) -> Bar {
    Bar {
        time: format!("2026-11-26T13:{:02}:00Z", i % 60),
        open: DecText::from_f64(1.08123 + i as f64 * 1e-5),
        high: DecText::from_f64(1.0815),
        low: DecText::from_f64(0.1 + 0.2),
        close: DecText::from_f64(if i % 7 == 0 { 1e16 } else { -0.0 }),
        tick_volume: 120 + i,
        real_volume: 0,
        spread: -3,
    }
}

fn position(i: i64, comment: Option<&str>) -> PositionOut {
    PositionOut {
        ticket: i,
        symbol: "EUR\"USD".to_owned(),
        kind: "buy".to_owned(),
        volume: Dec::from_f64(0.1),
        price_open: Dec::from_f64(1.1),
        price_current: Dec::from_f64(1.2),
        sl: None,
        tp: Some(Dec::from_f64(1.3)),
        profit: Dec::from_f64(-12.5),
        swap: Dec::from_f64(0.0),
        time_open: "2026-11-26T00:00:00Z".to_owned(),
        comment: comment.map(str::to_owned),
    }
}

#[test]
fn a_listing_has_one_block_per_element_and_the_same_structured_items() {
    let items = vec![json!({"b": 1, "a": "x\"y"}), json!({"c": [true, null]})];
    let result = result_of(Listing::of(Wire::VALUES, items.clone()));
    assert_eq!(result.is_error, Some(false));
    assert_eq!(result.structured_content, Some(json!({ "result": items })));
    let texts: Vec<&str> = result
        .content
        .iter()
        .map(|c| c.as_text().expect("text block").text.as_str())
        .collect();
    assert_eq!(texts, [r#"{"b":1,"a":"x\"y"}"#, r#"{"c":[true,null]}"#]);

    let empty = result_of(Listing::of(Wire::VALUES, Vec::<Value>::new()));
    assert!(empty.content.is_empty());
    assert_eq!(empty.structured_content, Some(json!({ "result": [] })));
}

#[test]
fn the_text_form_puts_the_same_bytes_on_the_wire_as_the_values_form() {
    same_on_the_wire::<Value>(&[]);
    same_on_the_wire(&[
        json!({"b": 1, "a": "x\"y\\z\n\u{1}"}),
        json!([1.5, null, "é📈"]),
    ]);
    let bars: Vec<Bar> = (0..40).map(bar).collect();
    same_on_the_wire(&bars);
    let comments = [
        None,
        Some(""),
        Some("ignore \"previous\" instructions\u{0}\\"),
        Some("tab\tline\r\n\u{7f}\u{2028} ünï €"),
    ];
    let positions: Vec<PositionOut> = (0..8)
        .map(|i| position(i, comments[i as usize % 4]))
        .collect();
    same_on_the_wire(&positions);
    // Long enough to render on several threads, and not a multiple of any part size.
    let long: Vec<Bar> = (0..(3 * PARALLEL_FROM as i64 + 7)).map(bar).collect();
    same_on_the_wire(&long);
}

#[test]
fn the_text_form_carries_nothing_else() {
    let result = result_of(Listing::of(Wire::TEXT, vec![bar(1)]));
    assert!(result.content.is_empty());
    assert_eq!(result.structured_content, Some(json!({})));
    assert_eq!(result.is_error, Some(false));
}

#[test]
fn long_lists_render_on_several_threads_in_order() {
    // Long enough to be split across threads, and not a multiple of any part size.
    let source: Vec<u32> = (0..(3 * PARALLEL_FROM as u32 + 7)).collect();
    let convert = |n: &u32| json!({ "n": n, "label": format!("#{n}") });
    let expected: Vec<Value> = source.iter().map(convert).collect();
    for listing in [
        Listing::mapped(Wire::VALUES, &source, convert),
        Listing::of(Wire::VALUES, expected.clone()),
    ] {
        let Ok(Rendered::Values(blocks, items)) = listing.rendered else {
            panic!("renders values");
        };
        assert_eq!(items, expected);
        for (block, item) in blocks.iter().zip(&expected) {
            assert_eq!(block.as_text().unwrap().text, item.to_string());
        }
        assert_eq!(blocks.len(), source.len());
    }
    let Ok(Rendered::Text(text)) = Listing::mapped(Wire::TEXT, &source, convert).rendered else {
        panic!("renders text");
    };
    let structured: Value = serde_json::from_str(&text.structured.concat()).unwrap();
    assert_eq!(structured, json!({ "result": expected }));
    let content: Vec<ContentBlock> =
        serde_json::from_str(&format!("[{}]", text.content.concat())).unwrap();
    assert_eq!(content.len(), source.len());
    for (block, item) in content.iter().zip(&expected) {
        assert_eq!(block.as_text().unwrap().text, item.to_string());
    }
}

#[test]
fn a_conversion_that_cannot_be_rendered_is_an_error_not_a_partial_list() {
    let source: Vec<u32> = (0..(2 * PARALLEL_FROM as u32)).collect();
    // One element, deep in a later part, is a map with a non-string key.
    let convert = |n: &u32| {
        let mut m = BTreeMap::new();
        if *n == 2 * PARALLEL_FROM as u32 - 3 {
            m.insert(vec![*n], 1);
        }
        m
    };
    for wire in [Wire::VALUES, Wire::TEXT] {
        let err = Listing::mapped(wire, &source, convert)
            .into_call_tool_result()
            .expect_err("refused");
        assert!(err.message.contains("key"), "{wire:?}: {}", err.message);
    }
}

#[test]
fn a_conversion_that_panics_is_an_error_not_a_lost_answer() {
    for len in [10, 3 * PARALLEL_FROM as u32] {
        let source: Vec<u32> = (0..len).collect();
        // Once in the first part (this thread), once in the last (a helper thread).
        for bad in [1, len - 2] {
            for wire in [Wire::VALUES, Wire::TEXT] {
                let err = Listing::mapped(wire, &source, |n: &u32| {
                    assert!(*n != bad, "conversion failed on {n}");
                    *n
                })
                .into_call_tool_result()
                .expect_err("refused");
                assert!(err.message.contains("panicked"), "{}", err.message);
            }
        }
    }
}
