//! A screen in front of the JSON-RPC reader for messages nested absurdly deep.
//!
//! serde_json refuses input nested deeper than 128 levels, and rmcp's line codec then drops
//! the line without answering: a client that sent such a request waits forever (DESIGN §3.7
//! wants an error, never a hang). Nothing legitimate comes close to that depth, so lines
//! deeper than [`MAX_DEPTH`] are rewritten, before rmcp sees them, into a small request with
//! the same id for a method only this server knows ([`REJECTED_METHOD`]), which the server
//! answers with an "invalid request" error. Lines without an id (notifications, garbage)
//! are dropped, as rmcp would drop them.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, ReadBuf};

/// Deepest nesting of arrays and objects accepted in one message.
pub const MAX_DEPTH: usize = 64;
/// The method a rejected request is rewritten to.
pub const REJECTED_METHOD: &str = "mt5-mcp/rejected";

/// Passes complete lines through, rewriting the ones nested deeper than [`MAX_DEPTH`].
pub struct LineGuard<R> {
    inner: R,
    /// Bytes read but not yet forming a complete line.
    pending: Vec<u8>,
    /// Screened bytes waiting for the reader.
    out: Vec<u8>,
    out_pos: usize,
    eof: bool,
}

impl<R> LineGuard<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            pending: Vec::new(),
            out: Vec::new(),
            out_pos: 0,
            eof: false,
        }
    }

    fn take_lines(&mut self) {
        let mut start = 0;
        while let Some(offset) = self.pending[start..].iter().position(|&b| b == b'\n') {
            let end = start + offset + 1;
            screen(&self.pending[start..end], &mut self.out);
            start = end;
        }
        self.pending.drain(..start);
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for LineGuard<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.out_pos < this.out.len() {
                let n = buf.remaining().min(this.out.len() - this.out_pos);
                buf.put_slice(&this.out[this.out_pos..this.out_pos + n]);
                this.out_pos += n;
                if this.out_pos == this.out.len() {
                    this.out.clear();
                    this.out_pos = 0;
                }
                return Poll::Ready(Ok(()));
            }
            if this.eof {
                if this.pending.is_empty() {
                    return Poll::Ready(Ok(()));
                }
                let last = std::mem::take(&mut this.pending);
                screen(&last, &mut this.out);
                continue;
            }
            let mut chunk = [0u8; 8192];
            let mut read = ReadBuf::new(&mut chunk);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut read))?;
            if read.filled().is_empty() {
                this.eof = true;
                continue;
            }
            this.pending.extend_from_slice(read.filled());
            this.take_lines();
        }
    }
}

/// Appends `line` to `out` unchanged, or its rewrite when it is too deep.
fn screen(line: &[u8], out: &mut Vec<u8>) {
    if max_depth(line) <= MAX_DEPTH {
        out.extend_from_slice(line);
        return;
    }
    tracing::warn!(
        bytes = line.len(),
        "rejected a JSON-RPC message nested deeper than {MAX_DEPTH} levels"
    );
    if let Some(id) = top_level_id(line) {
        out.extend_from_slice(
            format!(
                "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"{REJECTED_METHOD}\",\"params\":{{\"reason\":\"message nested deeper than {MAX_DEPTH} levels\"}}}}\n"
            )
            .as_bytes(),
        );
    }
}

/// Walks JSON text, calling `f(depth_before, byte)` for every byte outside strings, and
/// reporting string spans as `(depth, start, end)` through `on_string`.
fn walk(
    line: &[u8],
    mut on_byte: impl FnMut(usize, usize, u8),
    mut on_string: impl FnMut(usize, usize, usize),
) {
    let mut depth = 0usize;
    let mut i = 0;
    while i < line.len() {
        let b = line[i];
        if b == b'"' {
            let start = i;
            i += 1;
            while i < line.len() && line[i] != b'"' {
                i += if line[i] == b'\\' { 2 } else { 1 };
            }
            on_string(depth, start, (i + 1).min(line.len()));
        } else {
            on_byte(depth, i, b);
            match b {
                b'{' | b'[' => depth += 1,
                b'}' | b']' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        i += 1;
    }
}

fn max_depth(line: &[u8]) -> usize {
    let mut max = 0;
    walk(
        line,
        |depth, _, b| {
            if b == b'{' || b == b'[' {
                max = max.max(depth + 1);
            }
        },
        |_, _, _| {},
    );
    max
}

/// The raw text of the top-level `"id"` value when it is a number or a string.
fn top_level_id(line: &[u8]) -> Option<String> {
    let mut key_end = None;
    walk(
        line,
        |_, _, _| {},
        |depth, start, end| {
            if depth == 1 && key_end.is_none() && &line[start..end] == b"\"id\"" {
                let rest = &line[end..];
                let colon = rest.iter().position(|b| !b.is_ascii_whitespace());
                if colon.is_some_and(|c| rest[c] == b':') {
                    key_end = Some(end + colon.unwrap_or(0) + 1);
                }
            }
        },
    );
    let from = key_end?;
    let rest = &line[from..];
    let skip = rest.iter().position(|b| !b.is_ascii_whitespace())?;
    let value = &rest[skip..];
    let len = if value.first() == Some(&b'"') {
        let mut i = 1;
        while i < value.len() && value[i] != b'"' {
            i += if value[i] == b'\\' { 2 } else { 1 };
        }
        (i + 1).min(value.len())
    } else {
        value
            .iter()
            .position(|b| !(b.is_ascii_digit() || *b == b'-'))
            .unwrap_or(value.len())
    };
    let raw = std::str::from_utf8(&value[..len]).ok()?;
    // Only ids JSON-RPC allows, re-checked by parsing the small value alone.
    match serde_json::from_str::<serde_json::Value>(raw).ok()? {
        serde_json::Value::Number(_) | serde_json::Value::String(_) => Some(raw.to_owned()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    fn nested(depth: usize) -> String {
        format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
    }

    #[test]
    fn depth_ignores_brackets_inside_strings() {
        assert_eq!(max_depth(br#"{"a":"[[[[{{{{"}"#), 1);
        assert_eq!(max_depth(br#"{"a":"\"[["}"#), 1);
        assert_eq!(max_depth(br#"{"a":{"b":[1,[2]]}}"#), 4);
        assert_eq!(max_depth(b"42"), 0);
    }

    #[test]
    fn ids_are_found_only_at_the_top() {
        let cases: [(&str, Option<&str>); 6] = [
            (r#"{"jsonrpc":"2.0","id":7,"method":"x"}"#, Some("7")),
            (r#"{"params":{"id":1},"id":"a\"b"}"#, Some(r#""a\"b""#)),
            (r#"{"id" : -3 ,"method":"x"}"#, Some("-3")),
            (r#"{"method":"x","params":{"id":5}}"#, None),
            (r#"{"id":null}"#, None),
            (r#"{"id":{"x":1}}"#, None),
        ];
        for (line, want) in cases {
            assert_eq!(top_level_id(line.as_bytes()).as_deref(), want, "{line}");
        }
    }

    #[tokio::test]
    async fn deep_requests_become_rejections_and_the_rest_pass_through() {
        let ok = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
        let deep = format!(
            r#"{{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{{"name":"x","arguments":{{"a":{}}}}}}}"#,
            nested(200)
        );
        let deep_note = format!(
            r#"{{"jsonrpc":"2.0","method":"n","params":{}}}"#,
            nested(100)
        );
        let input = format!("{ok}\n{deep}\n{deep_note}\n{ok}");
        let mut guard = LineGuard::new(input.as_bytes());
        let mut text = String::new();
        guard.read_to_string(&mut text).await.unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert_eq!(lines[0], ok);
        let rejected: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(rejected["id"], 2);
        assert_eq!(rejected["method"], REJECTED_METHOD);
        assert_eq!(lines[2], ok, "a final line without a newline still arrives");
    }

    #[tokio::test]
    async fn byte_at_a_time_input_is_reassembled() {
        let input = b"{\"id\":1}\n{\"id\":2}\n".to_vec();
        let (mut tx, rx) = tokio::io::duplex(1);
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            for b in input {
                tx.write_all(&[b]).await.unwrap();
            }
        });
        let mut guard = LineGuard::new(rx);
        let mut text = String::new();
        guard.read_to_string(&mut text).await.unwrap();
        assert_eq!(text, "{\"id\":1}\n{\"id\":2}\n");
    }
}
