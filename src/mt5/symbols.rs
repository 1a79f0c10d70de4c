//! Symbol preparation: look a symbol up, make it visible in Market Watch if hidden, and
//! cache the result for 60 s.
//!
//! Every tool that takes a symbol goes through [`Mt5Client::prepare_symbol`], so one
//! typo'd symbol gives the same SYMBOL_NOT_FOUND everywhere, and the terminal is asked for
//! a symbol's specification at most once a minute.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use super::client::{Mt5Client, backend_failure};
use crate::errors::{ErrorCode, ToolError};
use crate::terminal::{SymbolInfo, TermError};

const TTL: Duration = Duration::from_secs(60);
/// Symbol names longer than this cannot exist on any broker; refusing them early keeps
/// absurd input away from the terminal.
const MAX_SYMBOL_LEN: usize = 64;

#[derive(Default)]
pub struct SymbolCache {
    entries: Mutex<HashMap<String, (Instant, Arc<SymbolInfo>)>>,
}

impl SymbolCache {
    fn get(&self, symbol: &str) -> Option<Arc<SymbolInfo>> {
        let entries = self.entries.lock().expect("symbol cache poisoned");
        entries
            .get(symbol)
            .filter(|(at, _)| at.elapsed() < TTL)
            .map(|(_, info)| Arc::clone(info))
    }

    fn put(&self, symbol: &str, info: Arc<SymbolInfo>) {
        let mut entries = self.entries.lock().expect("symbol cache poisoned");
        if entries.len() > 4096 {
            entries.retain(|_, (at, _)| at.elapsed() < TTL);
        }
        entries.insert(symbol.to_owned(), (Instant::now(), info));
    }

    pub fn clear(&self) {
        self.entries.lock().expect("symbol cache poisoned").clear();
    }
}

impl Mt5Client {
    /// The symbol's specification, selected into Market Watch if it was hidden.
    pub async fn prepare_symbol(&self, symbol: &str) -> Result<Arc<SymbolInfo>, ToolError> {
        if symbol.is_empty()
            || symbol.len() > MAX_SYMBOL_LEN
            || symbol.chars().any(char::is_control)
        {
            return Err(ToolError::symbol_not_found(symbol));
        }
        if let Some(info) = self.symbols.get(symbol) {
            return Ok(info);
        }
        let info = match self
            .call(|t| async move { t.symbol_info(symbol).await })
            .await?
        {
            Ok(info) => info,
            Err(TermError::Null(_)) => return Err(ToolError::symbol_not_found(symbol)),
            Err(TermError::Backend { why } | TermError::NotSent { why }) => {
                return Err(backend_failure(why));
            }
        };
        let info = if info.visible {
            info
        } else {
            match self
                .call(|t| async move { t.symbol_select(symbol, true).await })
                .await?
            {
                Ok(()) => {}
                Err(TermError::Null(_)) => {
                    return Err(ToolError::new(
                        ErrorCode::SYMBOL_NOT_ENABLED,
                        format!("Could not enable symbol '{symbol}' in Market Watch."),
                    )
                    .with_details(json!({ "symbol": symbol })));
                }
                Err(TermError::Backend { why } | TermError::NotSent { why }) => {
                    return Err(backend_failure(why));
                }
            }
            match self
                .call(|t| async move { t.symbol_info(symbol).await })
                .await?
            {
                Ok(info) => info,
                Err(TermError::Null(_)) => {
                    return Err(ToolError::new(
                        ErrorCode::SYMBOL_NOT_FOUND,
                        format!("Symbol '{symbol}' vanished after being selected."),
                    )
                    .with_details(json!({ "symbol": symbol }))
                    .with_requires_human(true));
                }
                Err(TermError::Backend { why } | TermError::NotSent { why }) => {
                    return Err(backend_failure(why));
                }
            }
        };
        let info = Arc::new(info);
        self.symbols.put(symbol, Arc::clone(&info));
        Ok(info)
    }
}
