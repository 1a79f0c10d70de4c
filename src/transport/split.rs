//! Serialising a large tool answer on two threads.
//!
//! A list answer carries its elements twice: as text blocks (`content`, about 1 MB for
//! 5,000 bars) and as `structuredContent` (about 0.7 MB). Both are serialised at the same
//! time, the work cut in two about equal parts, one on a helper thread, and joined into the
//! envelope, which is serialised with placeholders in their place: `"content":[]` and
//! `"structuredContent":null`. Those two byte strings cannot occur earlier in the line: the
//! fields before them (`jsonrpc`, `id`, `resultType`) are numbers or strings, and inside a
//! JSON string every `"` is escaped. The result is byte for byte what serialising the whole
//! message at once gives (a test checks it).

use std::io;

use rmcp::model::{ContentBlock, ServerJsonRpcMessage, ServerResult};
use serde_json::Value;

/// Answers with at least this many content blocks are split.
pub const SPLIT_FROM: usize = 1024;

const CONTENT_MARK: &[u8] = br#""content":[]"#;
const STRUCTURED_MARK: &[u8] = br#""structuredContent":null"#;

/// The two halves of a large answer, taken out of its message.
pub struct Halves {
    content: Vec<ContentBlock>,
    structured: Value,
}

/// Takes the halves out of `message` if it is a large tool answer with both.
pub fn take(message: &mut ServerJsonRpcMessage) -> Option<Halves> {
    let ServerJsonRpcMessage::Response(response) = message else {
        return None;
    };
    let ServerResult::CallToolResult(result) = &mut response.result else {
        return None;
    };
    if result.content.len() < SPLIT_FROM || result.structured_content.is_none() {
        return None;
    }
    let content = std::mem::take(&mut result.content);
    let structured = result.structured_content.replace(Value::Null)?;
    Some(Halves {
        content,
        structured,
    })
}

/// The line of `message`, whose halves were taken out, with the halves back in their
/// places: pieces to write in order (the big ones are not copied again).
///
/// The text blocks are the bigger half (their JSON is escaped inside strings), so the
/// helper thread takes the first part of them and this thread the rest plus the
/// structured copy, cut so both get about the same number of bytes.
pub fn pieces(message: &ServerJsonRpcMessage, halves: &Halves) -> io::Result<Vec<Vec<u8>>> {
    let envelope = serde_json::to_vec(message)?;
    let content = &halves.content;
    let text: usize = content
        .iter()
        .filter_map(|c| c.as_text())
        .map(|t| t.text.len())
        .sum();
    // Estimates: a block is its text, escaped, in `{"type":"text","text":...}`; the
    // structured copy of a record is about as long as its compact text.
    let blocks_guess = (text + text / 4 + 32 * content.len()).max(1);
    let half = (blocks_guess + text) / 2;
    let cut = (content.len() * half / blocks_guess).min(content.len());
    let (head, tail) = content.split_at(cut);
    let (first, rest) = std::thread::scope(|scope| {
        let first = scope.spawn(|| elements(head, false, half));
        let rest = elements(tail, !head.is_empty(), half)
            .and_then(|rest| Ok([rest, to_vec_sized(&halves.structured, text + text / 8)?]));
        let first = first
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("serialising the answer panicked")));
        (first, rest)
    });
    let (first, [rest, structured]) = (first?, rest?);
    let at_content = find(&envelope, CONTENT_MARK).ok_or_else(|| misplaced("content"))?;
    let at_structured =
        find(&envelope, STRUCTURED_MARK).ok_or_else(|| misplaced("structuredContent"))?;
    if at_structured < at_content + CONTENT_MARK.len() {
        return Err(misplaced("structuredContent"));
    }
    // Inside the placeholders: between `[` and `]` of the first, in place of `null`.
    let content_at = at_content + CONTENT_MARK.len() - 1;
    let structured_at = at_structured + STRUCTURED_MARK.len() - 4;
    Ok(vec![
        envelope[..content_at].to_vec(),
        first,
        rest,
        envelope[content_at..structured_at].to_vec(),
        structured,
        envelope[structured_at + 4..].to_vec(),
    ])
}

/// The JSON of `blocks` separated by commas, without brackets; with a leading comma when
/// `after` says elements come before them.
fn elements(blocks: &[ContentBlock], after: bool, capacity: usize) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(capacity);
    for (i, block) in blocks.iter().enumerate() {
        if after || i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut out, block)?;
    }
    Ok(out)
}

fn to_vec_sized<T: serde::Serialize + ?Sized>(value: &T, capacity: usize) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(capacity);
    serde_json::to_writer(&mut out, value)?;
    Ok(out)
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
    use rmcp::model::{CallToolResult, JsonRpcResponse, NumberOrString, RequestId};
    use serde_json::json;

    use super::*;

    fn answer(id: RequestId, n: usize) -> ServerJsonRpcMessage {
        let items: Vec<Value> = (0..n)
            .map(|i| json!({"i": i, "text": format!("\"quoted\" {i}\n")}))
            .collect();
        let mut result = CallToolResult::success(
            items
                .iter()
                .map(|v| ContentBlock::text(v.to_string()))
                .collect(),
        );
        result.structured_content = Some(json!({ "result": items }));
        ServerJsonRpcMessage::Response(JsonRpcResponse {
            jsonrpc: Default::default(),
            id,
            result: ServerResult::CallToolResult(result),
        })
    }

    #[test]
    fn a_split_answer_is_byte_for_byte_the_whole_serialisation() {
        let ids = [
            RequestId::Number(7),
            RequestId::String("plain".into()),
            // Ids that spell the markers must not be taken for them.
            RequestId::String(r#""content":[]"#.into()),
            RequestId::String(r#"x","structuredContent":null,"#.into()),
        ];
        for id in ids {
            let mut message = answer(id.clone(), SPLIT_FROM + 3);
            let whole = serde_json::to_vec(&message).unwrap();
            let halves = take(&mut message).expect("large enough to split");
            let split = pieces(&message, &halves).unwrap().concat();
            assert_eq!(
                String::from_utf8(split).unwrap(),
                String::from_utf8(whole).unwrap(),
                "{id:?}"
            );
        }
    }

    #[test]
    fn small_answers_errors_and_answers_without_structure_stay_whole() {
        let mut small = answer(RequestId::Number(1), SPLIT_FROM - 1);
        assert!(take(&mut small).is_none());

        let mut unstructured = answer(RequestId::Number(2), SPLIT_FROM);
        if let ServerJsonRpcMessage::Response(r) = &mut unstructured
            && let ServerResult::CallToolResult(c) = &mut r.result
        {
            c.structured_content = None;
        }
        assert!(take(&mut unstructured).is_none());

        let mut other = ServerJsonRpcMessage::Response(JsonRpcResponse {
            jsonrpc: Default::default(),
            id: NumberOrString::Number(3),
            result: ServerResult::empty(()),
        });
        assert!(take(&mut other).is_none());
    }
}
