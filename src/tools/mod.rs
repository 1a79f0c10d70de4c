//! The MCP tools, one file per family. Handlers are thin: read the arguments, call the
//! client layer, shape the answer.
//!
//! Results: single records are `Result<Json<T>, ToolError>` (structuredContent plus a text
//! copy; spelled out in each signature because rmcp derives the output schema from it); lists are
//! [`Listing`] (structuredContent `{"result": [...]}` and one text block per element, as
//! upstream sends them; list handlers take a [`Wire`] argument, which says whether the
//! transport takes the list pre-rendered as text); every error is `isError: true` with one text block holding
//! `{"error": ErrorDetail}` (DESIGN §3.1).

pub mod args;
mod history;
mod info;
mod listing;
mod market;
mod mirror;
pub mod trading;
mod twin;

use std::sync::Arc;

use rmcp::model::{ContentBlock, IntoContents, JsonObject};
use schemars::JsonSchema;

use crate::errors::ToolError;
pub use listing::{Listing, Wire};

impl IntoContents for ToolError {
    fn into_contents(self) -> Vec<ContentBlock> {
        vec![ContentBlock::text(self.to_json_text())]
    }
}

#[derive(JsonSchema)]
#[allow(dead_code)]
struct ListOf<T> {
    result: Vec<T>,
}

/// The output schema of a [`Listing`]: `{"result": [T]}`.
pub fn list_schema<T: JsonSchema + 'static>() -> Arc<JsonObject> {
    rmcp::handler::server::common::schema_for_output::<ListOf<T>>()
}

/// Free-form object schema (upstream's `ping` output).
pub fn open_object_schema() -> Arc<JsonObject> {
    let v = serde_json::json!({ "type": "object", "additionalProperties": true });
    match v {
        serde_json::Value::Object(map) => Arc::new(map),
        _ => unreachable!(),
    }
}
