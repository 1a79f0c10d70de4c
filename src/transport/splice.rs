//! Writing a pre-rendered tool answer into its JSON-RPC envelope.
//!
//! The answer's message is serialised with placeholders where the text belongs:
//! `"content":[]` and `"structuredContent":{}` (what [`Prerendered::into_result`] leaves).
//! Those two byte strings cannot occur earlier in the line: the fields before them
//! (`jsonrpc`, `id`, `resultType`) are numbers or strings, and inside a JSON string every
//! `"` is escaped. The text goes between the brackets of the first and in place of the
//! `{}`; a test checks the line is byte for byte what serialising the same answer built
//! from values gives.

use std::io;

use rmcp::ErrorData;
use rmcp::model::{ServerJsonRpcMessage, ServerResult};

use super::prerendered::{Malformed, Prerendered};

const CONTENT_MARK: &[u8] = br#""content":[]"#;
const STRUCTURED_MARK: &[u8] = br#""structuredContent":{}"#;

/// Takes the pre-rendered text out of `message` if it is a tool answer that carries some.
pub fn take(message: &mut ServerJsonRpcMessage) -> Option<Result<Prerendered, Malformed>> {
    let ServerJsonRpcMessage::Response(response) = message else {
        return None;
    };
    let ServerResult::CallToolResult(result) = &mut response.result else {
        return None;
    };
    Prerendered::detach(result)
}

/// The line of `message` (whose text was taken out) with the text in its places: pieces to
/// write in order, the big ones moved, not copied.
pub fn pieces(message: &ServerJsonRpcMessage, text: Prerendered) -> io::Result<Vec<Vec<u8>>> {
    let envelope = serde_json::to_vec(message)?;
    let at_content = find(&envelope, CONTENT_MARK).ok_or_else(|| misplaced("content"))?;
    let at_structured =
        find(&envelope, STRUCTURED_MARK).ok_or_else(|| misplaced("structuredContent"))?;
    if at_structured < at_content + CONTENT_MARK.len() {
        return Err(misplaced("structuredContent"));
    }
    // Inside the placeholders: between `[` and `]` of the first, in place of `{}`.
    let content_at = at_content + CONTENT_MARK.len() - 1;
    let structured_at = at_structured + STRUCTURED_MARK.len() - 2;
    let mut pieces = Vec::with_capacity(text.content.len() + text.structured.len() + 3);
    pieces.push(envelope[..content_at].to_vec());
    pieces.extend(text.content.into_iter().map(String::into_bytes));
    pieces.push(envelope[content_at..structured_at].to_vec());
    pieces.extend(text.structured.into_iter().map(String::into_bytes));
    pieces.push(envelope[structured_at + 2..].to_vec());
    Ok(pieces)
}

/// The error answer sent instead of a pre-rendered one that is malformed or cannot be
/// spliced: the client learns the call failed rather than getting an empty list or no
/// answer at all.
pub fn refusal(
    message: &ServerJsonRpcMessage,
    why: &dyn std::fmt::Display,
) -> ServerJsonRpcMessage {
    tracing::error!(error = %why, "refusing to write a tool answer");
    let id = match message {
        ServerJsonRpcMessage::Response(response) => Some(response.id.clone()),
        _ => None,
    };
    ServerJsonRpcMessage::error(ErrorData::internal_error(why.to_string(), None), id)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn misplaced(field: &str) -> io::Error {
    io::Error::other(format!(
        "the answer's {field} field was not where it belongs"
    ))
}

#[cfg(test)]
mod tests {
    use rmcp::model::{CallToolResult, ContentBlock, JsonRpcResponse, NumberOrString, RequestId};
    use serde_json::{Value, json};

    use super::*;

    fn response(id: RequestId, result: CallToolResult) -> ServerJsonRpcMessage {
        ServerJsonRpcMessage::Response(JsonRpcResponse {
            jsonrpc: Default::default(),
            id,
            result: ServerResult::CallToolResult(result),
        })
    }

    /// The same answer built from values, and pre-rendered in `parts` pieces.
    fn answer(
        id: RequestId,
        n: usize,
        parts: usize,
    ) -> (ServerJsonRpcMessage, ServerJsonRpcMessage) {
        let items: Vec<Value> = (0..n)
            .map(|i| json!({"i": i, "text": format!("\"quoted\" \\ {i}\n\u{7}é")}))
            .collect();
        let texts: Vec<String> = items.iter().map(Value::to_string).collect();
        let mut whole =
            CallToolResult::success(texts.iter().cloned().map(ContentBlock::text).collect());
        whole.structured_content = Some(json!({ "result": items }));

        let mut text = Prerendered::default();
        let size = n.div_ceil(parts).max(1);
        for (p, chunk) in texts.chunks(size).enumerate() {
            let mut content = String::new();
            let mut structured = String::new();
            for (i, t) in chunk.iter().enumerate() {
                if p > 0 || i > 0 {
                    content.push(',');
                    structured.push(',');
                }
                content.push_str(&serde_json::to_string(&ContentBlock::text(t.clone())).unwrap());
                structured.push_str(t);
            }
            text.content.push(content);
            text.structured.push(structured);
        }
        text.structured.insert(0, r#"{"result":["#.into());
        text.structured.push("]}".into());
        (
            response(id.clone(), whole),
            response(id, text.into_result()),
        )
    }

    #[test]
    fn a_spliced_answer_is_byte_for_byte_the_answer_built_from_values() {
        let ids = [
            RequestId::Number(7),
            RequestId::String("plain".into()),
            // Ids that spell the markers must not be taken for them.
            RequestId::String(r#""content":[]"#.into()),
            RequestId::String(r#"x","structuredContent":{},"#.into()),
        ];
        for id in ids {
            for (n, parts) in [(0, 1), (1, 1), (5, 2), (1030, 4)] {
                let (whole, mut rendered) = answer(id.clone(), n, parts);
                let expected = serde_json::to_vec(&whole).unwrap();
                let text = take(&mut rendered).expect("carries text").unwrap();
                let spliced = pieces(&rendered, text).unwrap().concat();
                assert_eq!(
                    String::from_utf8(spliced).unwrap(),
                    String::from_utf8(expected).unwrap(),
                    "{id:?} n={n} parts={parts}"
                );
            }
        }
    }

    #[test]
    fn a_malformed_answer_becomes_an_error_for_the_same_request() {
        let (_, mut rendered) = answer(RequestId::String("r-1".into()), 2, 1);
        if let ServerJsonRpcMessage::Response(r) = &mut rendered
            && let ServerResult::CallToolResult(c) = &mut r.result
        {
            c.content.push(ContentBlock::text("stray"));
        }
        let why = take(&mut rendered).expect("carries text").unwrap_err();
        let line = serde_json::to_value(refusal(&rendered, &why)).unwrap();
        assert_eq!(line["id"], "r-1");
        assert_eq!(line["error"]["code"], -32603);
        assert!(line.get("result").is_none());
    }

    #[test]
    fn answers_without_text_stay_as_they_are() {
        let (mut whole, _) = answer(RequestId::Number(1), 3, 1);
        assert!(take(&mut whole).is_none());

        let mut other = ServerJsonRpcMessage::Response(JsonRpcResponse {
            jsonrpc: Default::default(),
            id: NumberOrString::Number(3),
            result: ServerResult::empty(()),
        });
        assert!(take(&mut other).is_none());
    }
}
