//! Tool answers that arrive at the transport already rendered as JSON text.
//!
//! A list answer can be large: 5,000 bars are about 1.7 MB on the wire, the same records
//! twice (text blocks and `structuredContent`). rmcp wants them as `ContentBlock`s and a
//! `serde_json::Value`, which the transport then serialises again; building those values,
//! printing them and freeing them was most of a `get_rates` call. A transport that can
//! write pre-rendered text says so by putting [`Accepts`] in each request's extensions; a
//! tool that sees it renders its list straight to JSON text once and hands it over inside
//! the `CallToolResult` ([`Prerendered::into_result`]); the transport takes it out
//! ([`Prerendered::detach`]) and writes it where the two fields belong.
//!
//! The text travels inside the message (under a private `_meta` key) rather than beside
//! it, so it cannot be matched to the wrong answer or outlive it. A tool only renders this
//! way when the transport asked for it, and only our own transports ask, so the private key
//! never reaches a client; anything that reads a `CallToolResult` between the tool and the
//! transport sees empty `content` and an empty `structuredContent` object. Nothing in this
//! server does.
//!
//! Only a plain `tools/call` response is spliced. Should tool calls ever run as MCP tasks
//! (their results then travel in other messages), a transport must not mark those calls.

use rmcp::model::{CallToolResult, MetaObject};
use serde_json::{Map, Value};

/// Request extension: the transport answering this request writes [`Prerendered`] answers.
#[derive(Clone, Copy, Debug, Default)]
pub struct Accepts;

/// The private `_meta` key that carries the text between the tool and the transport.
const KEY: &str = "mt5-mcp/prerendered";

/// A tool answer's `content` and `structuredContent` as JSON text, each in pieces that are
/// written one after the other (parts rendered on different threads are not joined).
#[derive(Debug, Default, PartialEq)]
pub struct Prerendered {
    /// The elements of the `content` array, comma-separated, without the brackets.
    pub content: Vec<String>,
    /// The whole `structuredContent` value.
    pub structured: Vec<String>,
}

/// A result whose private key does not hold what [`Prerendered::into_result`] put there.
#[derive(Debug, thiserror::Error)]
#[error("a pre-rendered tool answer was malformed: {0}")]
pub struct Malformed(&'static str);

impl Prerendered {
    /// A successful result that carries the text: `content` is empty and
    /// `structuredContent` is `{}`, the places the transport writes the text into.
    pub fn into_result(self) -> CallToolResult {
        let strings =
            |parts: Vec<String>| Value::Array(parts.into_iter().map(Value::String).collect());
        let mut carried = Map::with_capacity(2);
        carried.insert("content".to_owned(), strings(self.content));
        carried.insert("structured".to_owned(), strings(self.structured));
        let mut meta = MetaObject::new();
        meta.0.insert(KEY.to_owned(), Value::Object(carried));
        let mut result = CallToolResult::success(Vec::new());
        // An object: rmcp moves other values into `content` for peers on protocol
        // versions before 2026-07-28.
        result.structured_content = Some(Value::Object(Map::new()));
        result.meta = Some(meta);
        result
    }

    /// Takes the text out of `result`, leaving the result as the envelope to write it into.
    /// `None` when the result carries none.
    pub fn detach(result: &mut CallToolResult) -> Option<Result<Prerendered, Malformed>> {
        let meta = result.meta.as_mut()?;
        let carried = meta.0.remove(KEY)?;
        if meta.0.is_empty() {
            result.meta = None;
        }
        Some(Self::unpack(carried, result))
    }

    fn unpack(carried: Value, envelope: &CallToolResult) -> Result<Prerendered, Malformed> {
        let placeholder =
            matches!(&envelope.structured_content, Some(Value::Object(m)) if m.is_empty());
        if !envelope.content.is_empty() || !placeholder {
            return Err(Malformed("the result also carries content of its own"));
        }
        let Value::Object(mut carried) = carried else {
            return Err(Malformed("not an object"));
        };
        let mut strings = |field: &str| match carried.remove(field) {
            Some(Value::Array(parts)) => parts
                .into_iter()
                .map(|part| match part {
                    Value::String(s) => Ok(s),
                    _ => Err(Malformed("a part is not a string")),
                })
                .collect(),
            _ => Err(Malformed("a field is missing")),
        };
        Ok(Prerendered {
            content: strings("content")?,
            structured: strings("structured")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_comes_back_out_whole_and_leaves_no_trace() {
        let sent = Prerendered {
            content: vec![r#"{"type":"text","text":"1"}"#.into(), String::new()],
            structured: vec![r#"{"result":[1]}"#.into()],
        };
        let expected = Prerendered {
            content: sent.content.clone(),
            structured: sent.structured.clone(),
        };
        let mut result = sent.into_result();
        let back = Prerendered::detach(&mut result).unwrap().unwrap();
        assert_eq!(back, expected);
        assert!(result.meta.is_none(), "the private key is gone");
        assert!(result.content.is_empty());
        assert_eq!(result.structured_content, Some(serde_json::json!({})));
        assert!(Prerendered::detach(&mut result).is_none());
    }

    #[test]
    fn other_meta_stays_and_ordinary_results_carry_nothing() {
        let mut result = Prerendered::default().into_result();
        result
            .meta
            .as_mut()
            .unwrap()
            .0
            .insert("other".into(), Value::Bool(true));
        assert!(Prerendered::detach(&mut result).unwrap().is_ok());
        assert_eq!(
            result.meta.unwrap().0.get("other"),
            Some(&Value::Bool(true))
        );

        let mut plain = CallToolResult::success(vec![rmcp::model::ContentBlock::text("x")]);
        assert!(Prerendered::detach(&mut plain).is_none());
    }

    #[test]
    fn a_malformed_carrier_is_refused_not_written() {
        let cases: [fn(&mut CallToolResult); 5] = [
            |r| {
                r.meta.as_mut().unwrap().0.insert(KEY.into(), Value::Null);
            },
            |r| {
                r.meta.as_mut().unwrap().0.insert(
                    KEY.into(),
                    serde_json::json!({"content": [1], "structured": []}),
                );
            },
            |r| {
                r.meta
                    .as_mut()
                    .unwrap()
                    .0
                    .insert(KEY.into(), serde_json::json!({"content": []}));
            },
            |r| r.content.push(rmcp::model::ContentBlock::text("own")),
            |r| r.structured_content = Some(serde_json::json!({"result": []})),
        ];
        for (i, spoil) in cases.iter().enumerate() {
            let mut result = Prerendered::default().into_result();
            spoil(&mut result);
            assert!(
                matches!(Prerendered::detach(&mut result), Some(Err(_))),
                "case {i}"
            );
        }
    }
}
