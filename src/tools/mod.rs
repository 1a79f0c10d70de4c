//! The MCP tools, one file per family. Handlers are thin: read the arguments, call the
//! client layer, shape the answer.
//!
//! Results: single records are `Result<Json<T>, ToolError>` (structuredContent plus a text
//! copy; spelled out in each signature because rmcp derives the output schema from it); lists are
//! [`Listing`] (structuredContent `{"result": [...]}` and one text block per element, as
//! upstream sends them); every error is `isError: true` with one text block holding
//! `{"error": ErrorDetail}` (DESIGN §3.1).

pub mod args;
mod history;
mod info;
mod market;
pub mod trading;

use std::sync::Arc;

use rmcp::handler::server::tool::IntoCallToolResult;
use rmcp::model::{CallToolResponse, CallToolResult, ContentBlock, IntoContents, JsonObject};
use schemars::JsonSchema;
use serde::Serialize;

use crate::errors::ToolError;

impl IntoContents for ToolError {
    fn into_contents(self) -> Vec<ContentBlock> {
        vec![ContentBlock::text(self.to_json_text())]
    }
}

/// A list result in upstream's shape.
pub struct Listing<T>(pub Vec<T>);

impl<T: Serialize> IntoCallToolResult for Listing<T> {
    fn into_call_tool_result(self) -> Result<CallToolResponse, rmcp::ErrorData> {
        let mut blocks = Vec::with_capacity(self.0.len());
        let mut items = Vec::with_capacity(self.0.len());
        for item in &self.0 {
            let value = serde_json::to_value(item).map_err(|e| {
                rmcp::ErrorData::internal_error(format!("failed to serialise a result: {e}"), None)
            })?;
            blocks.push(ContentBlock::text(value.to_string()));
            items.push(value);
        }
        let mut result = CallToolResult::success(blocks);
        // Moved in, not `json!`-ed: the macro would serialise every element a second time.
        let mut wrapper = serde_json::Map::with_capacity(1);
        wrapper.insert("result".to_owned(), serde_json::Value::Array(items));
        result.structured_content = Some(serde_json::Value::Object(wrapper));
        Ok(result.into())
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
