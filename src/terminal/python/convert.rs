//! The library's records, as the `mt5-mcp-py` library reports them (JSON objects holding
//! the attributes that exist), turned into [`crate::terminal`] records.
//!
//! Each reader declares the attribute names it asks for, so the Python side reads exactly
//! those. An attribute that is missing (an older library build, a proxy, a fake) takes
//! upstream's default: 0, `""`, `false`, except `terminal_info().connected` (true) and
//! `time_msc` (`time * 1000`). Numbers are accepted in either JSON form (an integer field
//! sent as `5.0` is 5) because a library may hand back floats where ints are documented.

use serde_json::{Map, Value};

use crate::terminal::{
    AccountInfo, Deal, LastError, Order, OrderCheckResult, OrderSendResult, Position, SymbolInfo,
    TerminalInfo, Tick, TradeRequest,
};

/// Read access to one record with upstream's defaults.
struct Obj<'a>(&'a Map<String, Value>);

impl<'a> Obj<'a> {
    fn of(v: &'a Value) -> Result<Self, String> {
        v.as_object()
            .map(Obj)
            .ok_or_else(|| format!("expected a record, got {}", kind_of(v)))
    }
    fn get(&self, k: &str) -> Option<&Value> {
        self.0.get(k).filter(|v| !v.is_null())
    }
    fn has(&self, k: &str) -> bool {
        self.get(k).is_some()
    }
    fn opt_i(&self, k: &str) -> Option<i64> {
        match self.get(k)? {
            Value::Number(n) => n
                .as_i64()
                .or_else(|| n.as_u64().map(|u| u.min(i64::MAX as u64) as i64))
                .or_else(|| n.as_f64().map(|f| f as i64)),
            Value::Bool(b) => Some(i64::from(*b)),
            _ => None,
        }
    }
    fn i(&self, k: &str) -> i64 {
        self.opt_i(k).unwrap_or(0)
    }
    fn f(&self, k: &str) -> f64 {
        match self.get(k) {
            Some(Value::Number(n)) => n.as_f64().unwrap_or(0.0),
            Some(Value::Bool(b)) => f64::from(u8::from(*b)),
            _ => 0.0,
        }
    }
    fn flag(&self, k: &str, default: bool) -> bool {
        match self.get(k) {
            Some(Value::Bool(b)) => *b,
            Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
            _ => default,
        }
    }
    fn b(&self, k: &str) -> bool {
        self.flag(k, false)
    }
    fn b_true(&self, k: &str) -> bool {
        self.flag(k, true)
    }
    fn s(&self, k: &str) -> String {
        match self.get(k) {
            Some(Value::String(s)) => s.clone(),
            _ => String::new(),
        }
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "None",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a sequence",
        Value::Object(_) => "a record",
    }
}

/// Declares a record reader and the attribute names it asks for, from one field list.
/// `field as "key"` reads a Rust field from a differently named attribute (`type`);
/// `fix |record, obj| {...}` applies defaults that depend on other fields.
macro_rules! reader {
    (
        $reader:ident, $fields:ident => $ty:ident {
            $($field:ident $(as $key:literal)? : $how:ident),* $(,)?
        }
        $(fix |$r:ident, $o:ident| $fix:block)?
    ) => {
        pub const $fields: &[&str] = &[$(reader!(@key $field $($key)?)),*];

        pub fn $reader(v: &Value) -> Result<$ty, String> {
            let o = Obj::of(v)?;
            #[allow(unused_mut)]
            let mut out = $ty { $($field: o.$how(reader!(@key $field $($key)?))),* };
            $({
                let ($r, $o) = (&mut out, &o);
                $fix
            })?
            Ok(out)
        }
    };
    (@key $field:ident $key:literal) => { $key };
    (@key $field:ident) => { stringify!($field) };
}

reader!(terminal_info, TERMINAL_INFO => TerminalInfo {
    connected: b_true, trade_allowed: b, build: i, name: s, company: s, path: s,
    data_path: s, time: opt_i,
});

reader!(account_info, ACCOUNT_INFO => AccountInfo {
    login: i, trade_mode: i, leverage: i, trade_allowed: b, margin_mode: i, balance: f,
    credit: f, profit: f, equity: f, margin: f, margin_free: f, margin_level: f, name: s,
    server: s, currency: s, company: s,
});

reader!(symbol_info, SYMBOL_INFO => SymbolInfo {
    name: s, description: s, path: s, visible: b, select: b, digits: i, spread: i,
    trade_calc_mode: i, trade_mode: i, trade_stops_level: i, trade_freeze_level: i,
    filling_mode: i, expiration_mode: i, order_mode: i, swap_mode: i, swap_rollover3days: i,
    bid: f, ask: f, point: f, trade_tick_value: f, trade_tick_value_profit: f,
    trade_tick_value_loss: f, trade_tick_size: f, trade_contract_size: f, volume_min: f,
    volume_max: f, volume_step: f, swap_long: f, swap_short: f, margin_initial: f,
    margin_maintenance: f, margin_hedged: f, currency_base: s, currency_profit: s,
    currency_margin: s,
});

reader!(tick, TICK => Tick {
    time: i, bid: f, ask: f, last: f, volume: i, time_msc: i, flags: i, volume_real: f,
} fix |t, o| {
    if !o.has("time_msc") {
        t.time_msc = t.time * 1000;
    }
});

/// The names of a bar's fields, in the order a positional row holds them (the bars
/// themselves come back packed, see `packed`).
pub const RATE: &[&str] = &[
    "time",
    "open",
    "high",
    "low",
    "close",
    "tick_volume",
    "spread",
    "real_volume",
];

reader!(position, POSITION => Position {
    ticket: i, time: i, time_msc: i, time_update: i, kind as "type": i, magic: i,
    identifier: i, volume: f, price_open: f, sl: f, tp: f, price_current: f, swap: f,
    profit: f, symbol: s, comment: s,
} fix |p, o| {
    if !o.has("time_msc") {
        p.time_msc = p.time * 1000;
    }
});

reader!(order, ORDER => Order {
    ticket: i, time_setup: i, time_expiration: i, kind as "type": i, type_time: i,
    type_filling: i, state: i, magic: i, position_id: i, volume_initial: f,
    volume_current: f, price_open: f, sl: f, tp: f, price_current: f, price_stoplimit: f,
    symbol: s, comment: s,
});

reader!(deal, DEAL => Deal {
    ticket: i, order: i, time: i, time_msc: i, kind as "type": i, entry: i, magic: i,
    position_id: i, reason: i, volume: f, price: f, commission: f, swap: f, profit: f,
    fee: f, symbol: s, comment: s,
} fix |d, o| {
    if !o.has("time_msc") {
        d.time_msc = d.time * 1000;
    }
});

pub const ORDER_SEND_RESULT: &[&str] = &[
    "retcode",
    "deal",
    "order",
    "volume",
    "price",
    "bid",
    "ask",
    "comment",
    "request_id",
    "retcode_external",
];

/// `order_send()`'s result; its `request` echo is the request this server sent.
pub fn order_send_result(v: &Value, request: &TradeRequest) -> Result<OrderSendResult, String> {
    let o = Obj::of(v)?;
    Ok(OrderSendResult {
        retcode: o.i("retcode"),
        deal: o.i("deal"),
        order: o.i("order"),
        volume: o.f("volume"),
        price: o.f("price"),
        bid: o.f("bid"),
        ask: o.f("ask"),
        comment: o.s("comment"),
        request_id: o.i("request_id"),
        retcode_external: o.i("retcode_external"),
        request: request.clone(),
    })
}

pub const ORDER_CHECK_RESULT: &[&str] = &[
    "retcode",
    "balance",
    "equity",
    "profit",
    "margin",
    "margin_free",
    "margin_level",
    "comment",
];

pub fn order_check_result(v: &Value, request: &TradeRequest) -> Result<OrderCheckResult, String> {
    let o = Obj::of(v)?;
    Ok(OrderCheckResult {
        retcode: o.i("retcode"),
        balance: o.f("balance"),
        equity: o.f("equity"),
        profit: o.f("profit"),
        margin: o.f("margin"),
        margin_free: o.f("margin_free"),
        margin_level: o.f("margin_level"),
        comment: o.s("comment"),
        request: request.clone(),
    })
}

/// A sequence of records.
pub fn list<T>(v: &Value, read: fn(&Value) -> Result<T, String>) -> Result<Vec<T>, String> {
    v.as_array()
        .ok_or_else(|| format!("expected a sequence, got {}", kind_of(v)))?
        .iter()
        .map(read)
        .collect()
}

/// `last_error()`: `(code, message)`.
pub fn last_error(v: &Value) -> Result<LastError, String> {
    match v.as_array().map(Vec::as_slice) {
        Some([code, message, ..]) => Ok(LastError::new(
            code.as_i64().ok_or("last_error() code is not an integer")?,
            message.as_str().unwrap_or_default(),
        )),
        _ => Err(format!("expected (code, message), got {}", kind_of(v))),
    }
}

pub fn number(v: &Value) -> Result<f64, String> {
    v.as_f64()
        .ok_or_else(|| format!("expected a number, got {}", kind_of(v)))
}

/// The request dictionary: only the fields that are set, under MetaTrader5's names.
pub fn request_dict(request: &TradeRequest) -> Map<String, Value> {
    match serde_json::to_value(request) {
        Ok(Value::Object(map)) => map.into_iter().filter(|(_, v)| !v.is_null()).collect(),
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn field_lists_use_the_library_attribute_names() {
        assert!(POSITION.contains(&"type") && !POSITION.contains(&"kind"));
        assert!(DEAL.contains(&"type") && ORDER.contains(&"type"));
        assert_eq!(SYMBOL_INFO.len(), 35);
        assert_eq!(
            RATE,
            [
                "time",
                "open",
                "high",
                "low",
                "close",
                "tick_volume",
                "spread",
                "real_volume"
            ]
        );
    }

    #[test]
    fn missing_attributes_take_upstream_defaults() {
        let t = terminal_info(&json!({"build": 4000, "name": "MetaTrader 5"})).unwrap();
        assert!(t.connected, "connected defaults to true");
        assert_eq!(t.time, None);
        assert_eq!(t.build, 4000);
        assert_eq!(t.company, "");
        let t = terminal_info(&json!({"connected": false, "time": 1_700_000_000})).unwrap();
        assert!(!t.connected);
        assert_eq!(t.time, Some(1_700_000_000));

        let tick = tick(&json!({"time": 1_700_000_000, "bid": 1.1, "ask": 1.2})).unwrap();
        assert_eq!(tick.time_msc, 1_700_000_000_000);
        assert_eq!(tick.last, 0.0);
        let given = super::tick(&json!({"time": 5, "time_msc": 5123})).unwrap();
        assert_eq!(given.time_msc, 5123);
    }

    #[test]
    fn numbers_are_read_in_either_form_and_type_maps_to_kind() {
        let p = position(&json!({"ticket": 7.0, "type": 1, "volume": 1, "sl": null,
                                  "symbol": "EURUSD", "time": 10}))
        .unwrap();
        assert_eq!(p.ticket, 7);
        assert_eq!(p.kind, 1);
        assert_eq!(p.volume, 1.0);
        assert_eq!(p.sl, 0.0);
        assert_eq!(p.time_msc, 10_000);
        let s = symbol_info(&json!({"visible": 1, "select": false, "digits": 5})).unwrap();
        assert!(s.visible && !s.select);
        assert_eq!(s.digits, 5);
    }

    #[test]
    fn wrong_shapes_are_errors_not_defaults() {
        assert!(
            account_info(&json!([1, 2]))
                .unwrap_err()
                .contains("expected a record")
        );
        assert!(list(&json!({"a": 1}), deal).is_err());
        assert_eq!(list(&json!([]), deal).unwrap(), vec![]);
        assert_eq!(last_error(&json!([-10004, "No IPC"])).unwrap().code, -10004);
        assert!(last_error(&json!("x")).is_err());
        assert!(number(&json!(null)).is_err());
    }

    /// Doubles the library computes (a margin of 1081.2300000000002, a tiny swap) need all
    /// 17 significant digits; serde_json's default fast parser can land one ULP off on
    /// those, which `float_roundtrip` fixes. A seeded sweep covers the general case.
    #[test]
    fn doubles_read_from_a_reply_keep_every_bit() {
        let mut values = vec![
            0.022933877151503638,
            2.0173847075682887e-17,
            1081.2300000000002,
            0.1 + 0.2,
            f64::MAX,
            f64::MIN_POSITIVE,
            5e-324,
        ];
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..20_000 {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            let v = f64::from_bits(z ^ (z >> 31));
            if v.is_finite() {
                values.push(v);
            }
        }
        let mut wrong = Vec::new();
        for v in values {
            let text = json!({ "ok": v }).to_string();
            let reply: Value = serde_json::from_str(&text).unwrap();
            let back = number(&reply["ok"]).unwrap();
            if back.to_bits() != v.to_bits() {
                wrong.push((text, back));
            }
        }
        assert!(
            wrong.is_empty(),
            "{} doubles changed, e.g. {:?}",
            wrong.len(),
            &wrong[..wrong.len().min(3)]
        );
    }

    #[test]
    fn the_request_dict_holds_only_set_fields_under_mt5_names() {
        let req = TradeRequest {
            action: 1,
            symbol: Some("EURUSD".into()),
            volume: Some(0.1),
            kind: Some(0),
            comment: Some("hi".into()),
            ..TradeRequest::default()
        };
        let d = request_dict(&req);
        assert_eq!(
            Value::Object(d),
            json!({"action": 1, "symbol": "EURUSD", "volume": 0.1, "type": 0, "comment": "hi"})
        );
    }
}
