//! List answers in upstream's shape: `structuredContent` = `{"result": [...]}` and one
//! compact JSON text block per element.
//!
//! A list can be large (5,000 bars are about 1.7 MB on the wire) and carries every element
//! twice. It is rendered when the handler builds it, in the form the transport of the call
//! takes ([`Wire`]): as JSON text, once per element, which the transport writes as it is
//! (see [`crate::transport::prerendered`]); or, for any other transport, as content blocks
//! and a `serde_json::Value`, both from one pass of serde ([`twin`]). The two forms put the
//! same bytes on the wire (a test checks it). Long lists render on several threads.

use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;

use rmcp::handler::server::common::FromContextPart;
use rmcp::handler::server::tool::{IntoCallToolResult, ToolCallContext};
use rmcp::model::{CallToolResponse, CallToolResult, ContentBlock};
use serde::Serialize;
use serde::ser;
use serde_json::{Error, Map, Value};

use super::mirror::write_both;
use super::twin::twin;
use crate::transport::prerendered::{Accepts, Prerendered};

/// A list result in upstream's shape, rendered when it is built.
pub struct Listing<T> {
    rendered: Result<Rendered, Error>,
    _of: PhantomData<fn() -> T>,
}

enum Rendered {
    /// Every element's text block and structured value, in order.
    Values(Vec<ContentBlock>, Vec<Value>),
    /// The JSON text of both fields.
    Text(Prerendered),
}

/// How the transport that carries a call takes a list answer. Handlers of list tools take
/// it as an argument; rmcp fills it in from the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wire {
    text: bool,
}

impl Wire {
    /// Content blocks and values: what any transport takes.
    pub const VALUES: Wire = Wire { text: false };
    /// JSON text, for a transport that writes pre-rendered answers.
    pub const TEXT: Wire = Wire { text: true };
}

impl<S> FromContextPart<ToolCallContext<'_, S>> for Wire {
    fn from_context_part(ctx: &mut ToolCallContext<'_, S>) -> Result<Self, rmcp::ErrorData> {
        let text = ctx.request_context.extensions.get::<Accepts>().is_some();
        Ok(Wire { text })
    }
}

impl<T: Serialize + Sync> Listing<T> {
    pub fn of(wire: Wire, items: Vec<T>) -> Self {
        Self {
            rendered: build(wire, &items, &AsIs),
            _of: PhantomData,
        }
    }
}

impl<T: Serialize> Listing<T> {
    /// The elements of `source`, each turned into its wire record by `convert` on the
    /// rendering threads (for long lists the conversion is a good part of the work).
    pub fn mapped<S: Sync>(wire: Wire, source: &[S], convert: impl Fn(&S) -> T + Sync) -> Self {
        Self {
            rendered: build(wire, source, &Converted(convert)),
            _of: PhantomData,
        }
    }
}

impl<T> IntoCallToolResult for Listing<T> {
    fn into_call_tool_result(self) -> Result<CallToolResponse, rmcp::ErrorData> {
        let rendered = self.rendered.map_err(|e| {
            rmcp::ErrorData::internal_error(format!("failed to serialise a result: {e}"), None)
        })?;
        let result = match rendered {
            Rendered::Values(blocks, items) => {
                let mut result = CallToolResult::success(blocks);
                let mut wrapper = Map::with_capacity(1);
                wrapper.insert("result".to_owned(), Value::Array(items));
                result.structured_content = Some(Value::Object(wrapper));
                result
            }
            Rendered::Text(text) => text.into_result(),
        };
        Ok(result.into())
    }
}

/// How an element of the source goes into a part of the answer.
trait Element<S>: Sync {
    fn render<P: Part>(&self, element: &S, part: &mut P) -> Result<(), Error>;
}

/// The source elements are the wire records.
struct AsIs;

impl<T: Serialize> Element<T> for AsIs {
    fn render<P: Part>(&self, element: &T, part: &mut P) -> Result<(), Error> {
        part.push(element)
    }
}

/// The wire record is computed from the source element.
struct Converted<F>(F);

impl<S, T: Serialize, F: Fn(&S) -> T + Sync> Element<S> for Converted<F> {
    fn render<P: Part>(&self, element: &S, part: &mut P) -> Result<(), Error> {
        part.push(&(self.0)(element))
    }
}

/// A run of consecutive elements of the answer, rendered by one thread.
trait Part: Send + Sized {
    /// An empty part for `len` elements; `after` when elements come before it.
    fn new(len: usize, after: bool) -> Self;
    fn push<T: Serialize + ?Sized>(&mut self, item: &T) -> Result<(), Error>;
}

/// Text blocks and values.
struct ValuesPart {
    blocks: Vec<ContentBlock>,
    items: Vec<Value>,
    /// Elements of one list are about the same size: each text buffer is sized after the
    /// last one.
    hint: usize,
}

impl Part for ValuesPart {
    fn new(len: usize, _: bool) -> Self {
        ValuesPart {
            blocks: Vec::with_capacity(len),
            items: Vec::with_capacity(len),
            hint: 64,
        }
    }
    fn push<T: Serialize + ?Sized>(&mut self, item: &T) -> Result<(), Error> {
        let (text, value) = twin(item, self.hint)?;
        self.hint = text.len() + text.len() / 8;
        self.blocks.push(ContentBlock::text(text));
        self.items.push(value);
        Ok(())
    }
}

/// The JSON text of the part's content blocks and of its structured elements, each
/// comma-separated (with a leading comma when elements come before the part).
struct TextPart {
    content: Vec<u8>,
    structured: Vec<u8>,
    comma: bool,
    /// Elements still to come; `None` once the buffers are sized.
    left: Option<usize>,
}

/// A text block as rmcp serialises one, around the escaped text.
const BLOCK_OPEN: &[u8] = br#"{"type":"text","text":""#;
const BLOCK_CLOSE: &[u8] = br#""}"#;

impl Part for TextPart {
    fn new(len: usize, after: bool) -> Self {
        TextPart {
            content: Vec::new(),
            structured: Vec::new(),
            comma: after,
            left: Some(len),
        }
    }
    fn push<T: Serialize + ?Sized>(&mut self, item: &T) -> Result<(), Error> {
        if self.comma {
            self.content.push(b',');
            self.structured.push(b',');
        }
        self.comma = true;
        self.content.extend_from_slice(BLOCK_OPEN);
        write_both(item, &mut self.structured, &mut self.content)?;
        self.content.extend_from_slice(BLOCK_CLOSE);
        if let Some(left) = self.left.take() {
            // Size both buffers for the rest of the part after its first element: growing
            // them step by step would copy them again and again.
            let left = left.saturating_sub(1);
            let each = self.structured.len() + self.structured.len() / 8;
            self.structured.reserve(each * left);
            let each = self.content.len() + self.content.len() / 8;
            self.content.reserve(each * left);
        }
        Ok(())
    }
}

impl TextPart {
    fn finish(self) -> Result<(String, String), Error> {
        let utf8 = |bytes| String::from_utf8(bytes).map_err(ser::Error::custom);
        Ok((utf8(self.content)?, utf8(self.structured)?))
    }
}

fn build<S: Sync>(wire: Wire, source: &[S], convert: &impl Element<S>) -> Result<Rendered, Error> {
    if wire.text {
        let mut text = Prerendered::default();
        text.structured.push(r#"{"result":["#.to_owned());
        for part in render::<S, TextPart>(source, convert)? {
            let (content, structured) = part.finish()?;
            text.content.push(content);
            text.structured.push(structured);
        }
        text.structured.push("]}".to_owned());
        return Ok(Rendered::Text(text));
    }
    let mut blocks = Vec::with_capacity(source.len());
    let mut items = Vec::with_capacity(source.len());
    for part in render::<S, ValuesPart>(source, convert)? {
        blocks.extend(part.blocks);
        items.extend(part.items);
    }
    Ok(Rendered::Values(blocks, items))
}

/// Lists at least this long are rendered on several threads. A thread costs some tens of
/// microseconds to start; a 5,000-bar answer takes milliseconds to render.
const PARALLEL_FROM: usize = 1024;

/// At most this many threads render one list.
const MAX_THREADS: usize = 4;

/// The parts of the answer, in order. A conversion that panics makes the list an error
/// (the call is answered), on whichever thread it runs.
fn render<S: Sync, P: Part>(source: &[S], convert: &impl Element<S>) -> Result<Vec<P>, Error> {
    static CORES: OnceLock<usize> = OnceLock::new();
    let threads = *CORES.get_or_init(|| {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_THREADS))
    });
    if threads < 2 || source.len() < PARALLEL_FROM {
        return Ok(vec![guarded(source, convert, false)?]);
    }
    let size = source.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let mut chunks = source.chunks(size);
        let first = chunks.next().unwrap_or_default();
        let others: Vec<_> = chunks
            .map(|chunk| {
                let spawned = std::thread::Builder::new()
                    .name("render".to_owned())
                    .spawn_scoped(scope, move || render_part(chunk, convert, true));
                (chunk, spawned)
            })
            .collect();
        let mut parts = vec![guarded(first, convert, false)];
        // Every thread is joined, even after an error: an unjoined thread that panicked
        // would make the scope panic.
        for (chunk, spawned) in others {
            parts.push(match spawned {
                Ok(thread) => thread.join().unwrap_or_else(|_| Err(panicked())),
                // No thread to be had: this one renders the part.
                Err(_) => guarded(chunk, convert, true),
            });
        }
        parts.into_iter().collect()
    })
}

fn guarded<S, P: Part>(chunk: &[S], convert: &impl Element<S>, after: bool) -> Result<P, Error> {
    catch_unwind(AssertUnwindSafe(|| render_part(chunk, convert, after)))
        .unwrap_or_else(|_| Err(panicked()))
}

fn panicked() -> Error {
    ser::Error::custom("rendering the list panicked")
}

fn render_part<S, P: Part>(
    chunk: &[S],
    convert: &impl Element<S>,
    after: bool,
) -> Result<P, Error> {
    let mut part = P::new(chunk.len(), after);
    for element in chunk {
        convert.render(element, &mut part)?;
    }
    Ok(part)
}

#[cfg(test)]
#[path = "listing_tests.rs"]
mod tests;
