//! Bars as `mt5-mcp-py` packs them: a `{rows, row_size}` header and 64-byte little-endian
//! records (the layout is in that crate's docs), read back into [`Rate`]s.
//!
//! The tail comes from another build unit through a C ABI, so nothing about it is
//! trusted: the record size must be the one this binary knows and the tail exactly
//! `rows × row_size` bytes, or the whole reply is refused with a [`PackedError`]. No
//! partial result is returned, and nothing is read beyond the buffer.

use serde_json::Value;

use crate::terminal::Rate;

/// Bytes per packed bar.
pub const ROW_SIZE: usize = 64;

const TIME: usize = 0;
const OPEN: usize = 8;
const HIGH: usize = 16;
const LOW: usize = 24;
const CLOSE: usize = 32;
const TICK_VOLUME: usize = 40;
const SPREAD: usize = 48;
const REAL_VOLUME: usize = 56;

/// Why packed bars were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackedError {
    #[error("the bar header {0} lacks an unsigned `rows` or `row_size`")]
    Header(String),
    #[error("bars are packed in {got}-byte records; this mt5-mcp reads {ROW_SIZE}-byte ones")]
    RowSize { got: u64 },
    #[error("{rows} bars need {need} bytes of records, got {got}")]
    Length { rows: u64, need: u128, got: usize },
}

/// Decodes the bars a `rates` call replied with, bit for bit.
pub fn rates(header: &Value, tail: &[u8]) -> Result<Vec<Rate>, PackedError> {
    let field = |k: &str| header.get(k).and_then(Value::as_u64);
    let (Some(rows), Some(row_size)) = (field("rows"), field("row_size")) else {
        return Err(PackedError::Header(header.to_string()));
    };
    if row_size != ROW_SIZE as u64 {
        return Err(PackedError::RowSize { got: row_size });
    }
    let need = u128::from(rows) * ROW_SIZE as u128;
    if need != tail.len() as u128 {
        return Err(PackedError::Length {
            rows,
            need,
            got: tail.len(),
        });
    }
    let (records, rest) = tail.as_chunks::<ROW_SIZE>();
    debug_assert!(rest.is_empty());
    Ok(records.iter().map(rate).collect())
}

fn word(r: &[u8; ROW_SIZE], at: usize) -> [u8; 8] {
    let mut w = [0u8; 8];
    w.copy_from_slice(&r[at..at + 8]);
    w
}

fn rate(r: &[u8; ROW_SIZE]) -> Rate {
    let int = |at| i64::from_le_bytes(word(r, at));
    let float = |at| f64::from_le_bytes(word(r, at));
    Rate {
        time: int(TIME),
        open: float(OPEN),
        high: float(HIGH),
        low: float(LOW),
        close: float(CLOSE),
        tick_volume: int(TICK_VOLUME),
        spread: int(SPREAD),
        real_volume: int(REAL_VOLUME),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Packs by the documented offsets, independently of the decoder's constants.
    fn pack(rates: &[Rate]) -> Vec<u8> {
        let mut out = Vec::new();
        for r in rates {
            out.extend(r.time.to_le_bytes());
            for p in [r.open, r.high, r.low, r.close] {
                out.extend(p.to_le_bytes());
            }
            out.extend(r.tick_volume.to_le_bytes());
            out.extend(r.spread.to_le_bytes());
            out.extend(r.real_volume.to_le_bytes());
        }
        out
    }

    fn header(rows: u64) -> Value {
        json!({ "rows": rows, "row_size": 64 })
    }

    fn rate(time: i64, ohlc: [f64; 4], tick_volume: i64, spread: i64, real_volume: i64) -> Rate {
        let [open, high, low, close] = ohlc;
        Rate {
            time,
            open,
            high,
            low,
            close,
            tick_volume,
            spread,
            real_volume,
        }
    }

    fn bits(r: &Rate) -> [u64; 8] {
        [
            r.time as u64,
            r.open.to_bits(),
            r.high.to_bits(),
            r.low.to_bits(),
            r.close.to_bits(),
            r.tick_volume as u64,
            r.spread as u64,
            r.real_volume as u64,
        ]
    }

    #[test]
    fn packed_bars_decode_bit_for_bit() {
        let nan = f64::from_bits(0x7ff8_0000_dead_beef);
        let cases: Vec<(&str, Vec<Rate>)> = vec![
            ("empty", vec![]),
            (
                "one row",
                vec![rate(1_772_618_400, [1.1, 1.2, 1.0, 1.15], 42, 3, 0)],
            ),
            (
                "17-digit doubles",
                vec![rate(
                    60,
                    [
                        0.022933877151503638,
                        2.0173847075682887e-17,
                        1081.2300000000002,
                        5e-324,
                    ],
                    1,
                    1,
                    1,
                )],
            ),
            (
                "non-finite prices",
                vec![rate(
                    0,
                    [nan, f64::INFINITY, f64::NEG_INFINITY, -0.0],
                    0,
                    0,
                    0,
                )],
            ),
            (
                "negative times and extreme integers",
                vec![
                    rate(-86_400, [1.0; 4], i64::MAX, -5, i64::MIN),
                    rate(i64::MIN, [2.0; 4], 0, i64::MAX, -1),
                ],
            ),
        ];
        for (name, want) in cases {
            let got = rates(&header(want.len() as u64), &pack(&want))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let got: Vec<_> = got.iter().map(bits).collect();
            let want: Vec<_> = want.iter().map(bits).collect();
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn many_rows_keep_their_order() {
        let want: Vec<Rate> = (0..5_000)
            .map(|i| rate(i * 60, [i as f64 * 0.5; 4], i, i % 7, 0))
            .collect();
        assert_eq!(rates(&header(5_000), &pack(&want)).unwrap(), want);
    }

    #[test]
    fn malformed_tails_and_headers_are_typed_errors() {
        let two = pack(&[rate(1, [1.0; 4], 1, 1, 1), rate(2, [2.0; 4], 2, 2, 2)]);
        let cases: Vec<(&str, Value, Vec<u8>, PackedError)> = vec![
            (
                "truncated",
                header(2),
                two[..127].to_vec(),
                PackedError::Length {
                    rows: 2,
                    need: 128,
                    got: 127,
                },
            ),
            (
                "a row short",
                header(2),
                two[..64].to_vec(),
                PackedError::Length {
                    rows: 2,
                    need: 128,
                    got: 64,
                },
            ),
            (
                "longer than the rows",
                header(1),
                two.clone(),
                PackedError::Length {
                    rows: 1,
                    need: 64,
                    got: 128,
                },
            ),
            (
                "rows but no tail",
                header(3),
                vec![],
                PackedError::Length {
                    rows: 3,
                    need: 192,
                    got: 0,
                },
            ),
            (
                "rows that would overflow a usize",
                header(u64::MAX),
                two.clone(),
                PackedError::Length {
                    rows: u64::MAX,
                    need: u128::from(u64::MAX) * 64,
                    got: 128,
                },
            ),
            (
                "wrong row size",
                json!({"rows": 2, "row_size": 60}),
                two[..120].to_vec(),
                PackedError::RowSize { got: 60 },
            ),
            (
                "zero row size",
                json!({"rows": 0, "row_size": 0}),
                vec![],
                PackedError::RowSize { got: 0 },
            ),
            (
                "no rows",
                json!({"row_size": 64}),
                two.clone(),
                PackedError::Header(r#"{"row_size":64}"#.into()),
            ),
            (
                "negative rows",
                json!({"rows": -1, "row_size": 64}),
                vec![],
                PackedError::Header(r#"{"rows":-1,"row_size":64}"#.into()),
            ),
            (
                "a JSON list of bars (the old reply)",
                json!([{"time": 1}]),
                vec![],
                PackedError::Header(r#"[{"time":1}]"#.into()),
            ),
        ];
        for (name, head, tail, want) in cases {
            assert_eq!(rates(&head, &tail), Err(want), "{name}");
        }
    }

    #[test]
    fn errors_say_what_was_wrong() {
        let e = rates(&header(2), &[0u8; 100]).unwrap_err().to_string();
        assert_eq!(e, "2 bars need 128 bytes of records, got 100");
        let e = rates(&json!({"rows": 1, "row_size": 60}), &[0u8; 60])
            .unwrap_err()
            .to_string();
        assert!(e.contains("60-byte") && e.contains("64-byte"), "{e}");
    }
}
