//! The policy engine: the one path every mutating tool takes to the broker.
//!
//! A tool first validates its arguments (no terminal access), then asks
//! [`PolicyEngine::recall`] whether the idempotency key already has an outcome (DESIGN §3.6:
//! before any lookup, so a retried close of a position that is gone still replays). It then
//! does its terminal lookups and hands a [`Plan`] to [`PolicyEngine::run`], which applies the
//! stages in upstream's order with DESIGN's fixes: trading gate, confirmed-retry validation,
//! preflight, first-pass consent, order-rate cap, claim of the key, durable `intent` audit line,
//! `order_send`, `executed` audit line, stored outcome. Every exit from `run` leaves an audit
//! line; none can return without one (the `intent` line is a precondition of sending).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use super::audit::AuditLog;
use super::consent::{ConsentStore, Take, validate_retry};
use super::idempotency::{Claim, EntryState, IdempotencyStore, Owner, claim_holder_alive, tag_for};
use super::money::render_money;
use super::preflight::{Limits, RateCap, Refusal, Target, check};
use super::reconcile::{self, Reconcile};
use super::result::{self, ResultContext};
use super::trading_gate::TradingGate;
use crate::config::{Config, ConfigHandle};
use crate::errors::{ErrorCode, ToolError};
use crate::model::time::format_utc;
use crate::mt5::Mt5Client;
use crate::terminal::{TermError, TradeRequest};

/// Approval previews kept at most (the oldest is evicted beyond it).
const CONSENT_CAPACITY: usize = 1000;
/// How long a call waits for another call that holds its key to finish sending.
const CLAIM_WAIT: Duration = Duration::from_secs(30);
const CLAIM_POLL: Duration = Duration::from_millis(25);

/// Which preflight rules apply, with the figures they need.
#[derive(Debug, Clone)]
pub enum Exposure {
    Place {
        notional: Decimal,
    },
    Close {
        notional: Decimal,
        realised: Decimal,
    },
    Modify,
    Cancel,
}

/// The approval state of a call.
#[derive(Debug, Clone, Default)]
pub struct Approval {
    /// The configured gate says a human must approve this call.
    pub required: bool,
    pub confirmed: bool,
    pub request_id: Option<String>,
}

/// What a confirmed retry is compared with (upstream §3.4).
#[derive(Debug, Clone)]
pub struct RetryPrices {
    /// The price this call would execute at now.
    pub current: Decimal,
    pub point: Decimal,
    /// For a priced (pending) order: compare with the preview's own price instead of the
    /// market quote it was shown with (DESIGN §3.8).
    pub priced: bool,
}

/// The parts of an approval preview that only the tool can compute.
#[derive(Debug, Clone)]
pub struct PreviewParts {
    pub summary: String,
    pub notional: Decimal,
    pub estimated_margin: Decimal,
    pub reference_quote: Value,
}

/// Everything `run` needs to decide and to send.
pub struct Plan {
    pub tool: &'static str,
    pub symbol: String,
    pub key: Option<String>,
    pub hash: String,
    /// The request as parsed, for `request_echo` (no idempotency key).
    pub echo: Value,
    pub approval: Approval,
    pub retry: RetryPrices,
    pub exposure: Exposure,
    /// Built only when a preview will be shown.
    pub preview: Option<PreviewParts>,
    /// The request for `order_send`; `magic` is set by the engine.
    pub request: TradeRequest,
    pub fallback_volume: String,
    /// The configuration the tool decided with; the engine applies the same snapshot, so a
    /// reload in the middle of a call cannot leave a limit checked with figures the tool
    /// did not compute.
    pub config: Arc<Config>,
}

struct Stores {
    idem: Arc<IdempotencyStore>,
    audit: Arc<AuditLog>,
}

impl Stores {
    /// The unexpired row of `(key, tool)`, read off the async threads.
    async fn lookup(
        &self,
        key: &str,
        tool: &str,
    ) -> Result<Option<super::idempotency::Entry>, ToolError> {
        let idem = Arc::clone(&self.idem);
        let (k, t) = (key.to_owned(), tool.to_owned());
        blocking(move || idem.lookup(&k, &t, now_unix())).await
    }
}

/// One per server. Storage paths are read once (they need a restart to change); every
/// limit is read from the live configuration on each call.
pub struct PolicyEngine {
    config: ConfigHandle,
    startup: Arc<Config>,
    stores: tokio::sync::Mutex<Option<Arc<Stores>>>,
    consent: ConsentStore,
    rate: RateCap,
    gate: TradingGate,
    owner: &'static Owner,
    /// Keys this process is sending right now: a pending row of ours that is not in here
    /// was left by a send whose answer was lost, and is reconciled at once.
    inflight: InflightMap,
}

impl PolicyEngine {
    pub fn new(config: ConfigHandle) -> Self {
        let startup = config.current();
        Self {
            config,
            startup,
            stores: tokio::sync::Mutex::new(None),
            consent: ConsentStore::new(CONSENT_CAPACITY),
            rate: RateCap::new(),
            gate: TradingGate::new(),
            owner: Owner::this_process(),
            inflight: Mutex::new(HashMap::new()),
        }
    }

    /// Opens the idempotency database and the audit log (at startup, so a bad path is
    /// reported before the first order; retried by the first trading call if it failed).
    pub async fn open(&self) -> Result<(), ToolError> {
        self.stores().await.map(|_| ())
    }

    async fn stores(&self) -> Result<Arc<Stores>, ToolError> {
        let mut slot = self.stores.lock().await;
        if let Some(s) = slot.as_ref() {
            return Ok(Arc::clone(s));
        }
        let idem_path = self.startup.idempotency.path.clone();
        let audit_path = self.startup.audit.path.clone();
        let max_bytes = self.startup.audit.max_bytes;
        let opened = tokio::task::spawn_blocking(move || {
            let idem = IdempotencyStore::open(&idem_path).map_err(|e| {
                format!("idempotency database {} unusable: {e}", idem_path.display())
            })?;
            let audit = AuditLog::open(&audit_path, max_bytes)
                .map_err(|e| format!("audit log {} unusable: {e}", audit_path.display()))?;
            Ok::<_, String>(Stores {
                idem: Arc::new(idem),
                audit: Arc::new(audit),
            })
        })
        .await
        .map_err(|e| ToolError::internal("JoinError", e))?
        .map_err(|why| {
            ToolError::new(
                ErrorCode::INTERNAL_ERROR,
                format!("Trading is unavailable: {why}. Fix the path or permissions and restart."),
            )
            .with_details(json!({ "exception_type": "StorageError", "why": why }))
        })?;
        let stores = Arc::new(opened);
        *slot = Some(Arc::clone(&stores));
        Ok(stores)
    }

    /// Writes an audit line; a failure is logged (the line's outcome already happened).
    async fn audit(
        &self,
        stores: &Stores,
        tool: &str,
        action: &str,
        extra: Vec<(&'static str, Value)>,
    ) {
        let audit = Arc::clone(&stores.audit);
        let (tool, action) = (tool.to_owned(), action.to_owned());
        let done = tokio::task::spawn_blocking(move || audit.write(&tool, &action, &extra)).await;
        match done {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "audit log write failed"),
            Err(e) => tracing::error!(error = %e, "audit log writer panicked"),
        }
    }

    /// The idempotency check that precedes every lookup: the stored outcome for this key
    /// (as a replay), IDEMPOTENCY_DIVERGED, or `None` to go on. A key held by a call that is
    /// still sending is waited for; one whose sender died is reconciled with the broker.
    pub async fn recall(
        &self,
        client: &Arc<Mt5Client>,
        tool: &'static str,
        key: Option<&str>,
        hash: &str,
        echo: &Value,
        how: &Reconcile,
    ) -> Result<Option<Value>, ToolError> {
        let Some(key) = key else { return Ok(None) };
        let stores = self.stores().await?;
        match stores.lookup(key, tool).await? {
            None => Ok(None),
            Some(entry) => self
                .settle(
                    Keyed {
                        stores: &stores,
                        client,
                        tool,
                        key,
                        hash,
                        echo,
                        how,
                    },
                    entry,
                )
                .await
                .map(Some),
        }
    }

    /// Answers for a key that already has a row: replay, divergence, or wait/reconcile.
    async fn settle(
        &self,
        k: Keyed<'_>,
        mut entry: super::idempotency::Entry,
    ) -> Result<Value, ToolError> {
        let Keyed {
            stores,
            tool,
            key,
            hash,
            ..
        } = k;
        let started = Instant::now();
        loop {
            if entry.request_hash != hash {
                self.audit(
                    stores,
                    tool,
                    "idempotency_diverged",
                    vec![
                        ("idempotency_key", json!(key)),
                        ("request_hash", json!(hash)),
                    ],
                )
                .await;
                return Err(ToolError::idempotency_diverged(key, tool));
            }
            match &entry.state {
                EntryState::Done { result_json } => {
                    self.audit(
                        stores,
                        tool,
                        "replay",
                        vec![
                            ("idempotency_key", json!(key)),
                            ("request_hash", json!(hash)),
                        ],
                    )
                    .await;
                    return result::as_replay(result_json);
                }
                EntryState::Pending {
                    owner_pid,
                    owner_token,
                    tag,
                    claimed_at,
                } => {
                    let sending = if *owner_token == self.owner.token {
                        self.is_inflight(key, tool)
                    } else {
                        claim_holder_alive(*owner_pid, owner_token)
                    };
                    if !sending || started.elapsed() >= CLAIM_WAIT {
                        return self.reconcile(k, owner_token, *tag, *claimed_at).await;
                    }
                }
            }
            tokio::time::sleep(CLAIM_POLL).await;
            match stores.lookup(key, tool).await? {
                Some(next) => entry = next,
                // The holder gave the key back (it failed before sending): the caller's
                // retry is a fresh attempt, which it is told to make.
                None => {
                    return Err(ToolError::new(
                        ErrorCode::INVALID_REQUEST,
                        "A concurrent call with this idempotency_key failed before sending; nothing was sent. Retry the call.",
                    )
                    .with_details(json!({ "field": "idempotency_key", "value": key, "reason": "released by a concurrent call" }))
                    .with_retryable(true));
                }
            }
        }
    }

    async fn reconcile(
        &self,
        k: Keyed<'_>,
        owner_token: &str,
        tag: i64,
        claimed_at: i64,
    ) -> Result<Value, ToolError> {
        let Keyed {
            stores,
            client,
            tool,
            key,
            hash,
            echo,
            how,
        } = k;
        let found = reconcile::find(client, how, tag, claimed_at).await;
        match found {
            Ok(Some(found)) => {
                let ctx = ResultContext {
                    tool,
                    symbol: &found.symbol,
                    fallback_volume: &found.fallback_volume,
                    echo,
                };
                let value = result::reconciled(&ctx, found.ticket, found.volume, found.price);
                let text = value.to_string();
                let idem = Arc::clone(&stores.idem);
                let (k, t, o) = (key.to_owned(), tool.to_owned(), owner_token.to_owned());
                let ttl = self.config.current().idempotency.ttl_seconds;
                blocking(move || idem.resolve(&k, &t, &o, &text, now_unix(), ttl)).await?;
                self.audit(
                    stores,
                    tool,
                    "reconciled",
                    vec![
                        ("request_hash", json!(hash)),
                        ("idempotency_key", json!(key)),
                        ("ticket", json!(found.ticket)),
                        ("source", json!(found.source)),
                    ],
                )
                .await;
                let mut value = value;
                value["replayed"] = Value::Bool(true);
                Ok(value)
            }
            Ok(None) | Err(_) => {
                let why = match found {
                    Err(e) => format!("the broker could not be asked ({})", e.message),
                    _ => "the broker shows no trace of it".to_owned(),
                };
                self.audit(
                    stores,
                    tool,
                    "outcome_unknown",
                    vec![
                        ("request_hash", json!(hash)),
                        (
                            "reason",
                            json!(format!("earlier send with this key did not finish; {why}")),
                        ),
                    ],
                )
                .await;
                Err(ToolError::new(
                    ErrorCode::MT5_NULL_RESPONSE,
                    format!(
                        "An earlier {tool} with this idempotency_key was sent but its outcome is unknown ({why}). \
                         Check positions, orders and history (magic {tag}) before trading again; use a new key for a new attempt."
                    ),
                )
                .with_details(json!({ "idempotency_key": key, "action": tool, "tag": tag }))
                .with_requires_human(true))
            }
        }
    }

    fn is_inflight(&self, key: &str, tool: &str) -> bool {
        self.inflight
            .lock()
            .expect("inflight set poisoned")
            .contains_key(&(key.to_owned(), tool.to_owned()))
    }

    /// The guarded stages, from the trading gate to the stored outcome.
    pub async fn run(
        &self,
        client: &Arc<Mt5Client>,
        plan: Plan,
        how: &Reconcile,
    ) -> Result<Value, ToolError> {
        let stores = self.stores().await?;
        let tool = plan.tool;
        let hash = plan.hash.as_str();
        let config = Arc::clone(&plan.config);

        if let Err(halted) = self.gate.check() {
            self.audit(
                &stores,
                tool,
                "error",
                vec![
                    ("request_hash", json!(hash)),
                    ("exception_type", json!("TradingHalted")),
                ],
            )
            .await;
            return Err(ToolError::new(
                ErrorCode::EXCEEDS_LOCAL_LIMIT,
                format!("Trading is halted: {}", halted.reason),
            )
            .with_details(json!({ "limit_name": "trading_halted", "configured": halted.reason, "attempted": tool })));
        }

        // Confirmed retry: the preview is consumed whatever the validation says.
        if plan.approval.required && plan.approval.confirmed {
            self.check_confirmation(&stores, &plan).await?;
        }

        // Preflight, on the live limits.
        let limits = Limits::from(config.as_ref());
        let day_pnl = match plan.exposure {
            Exposure::Place { .. } | Exposure::Close { .. }
                if limits.max_daily_loss > Decimal::ZERO =>
            {
                match super::daily::realised_today(client).await {
                    Ok(v) => v,
                    Err(e) => {
                        self.audit(
                            &stores,
                            tool,
                            "error",
                            vec![
                                ("request_hash", json!(hash)),
                                ("exception_type", json!(e.code.as_str())),
                            ],
                        )
                        .await;
                        return Err(e);
                    }
                }
            }
            _ => Decimal::ZERO,
        };
        let target = match &plan.exposure {
            Exposure::Place { notional } => Target::Place {
                symbol: &plan.symbol,
                notional: *notional,
            },
            Exposure::Close { notional, realised } => Target::Close {
                symbol: &plan.symbol,
                notional: *notional,
                realised: *realised,
            },
            Exposure::Modify => Target::Modify {
                symbol: &plan.symbol,
            },
            Exposure::Cancel => Target::Cancel {
                symbol: &plan.symbol,
            },
        };
        if let Err(refusal) = check(&limits, &target, day_pnl) {
            return Err(self.refuse(&stores, tool, hash, refusal).await);
        }

        // First-pass consent: a preview, with no side effect.
        if plan.approval.required && !plan.approval.confirmed {
            return self.preview(&stores, &plan, &config).await;
        }

        // Order-rate cap (place_order only).
        if matches!(plan.exposure, Exposure::Place { .. })
            && let Err(refusal) = self
                .rate
                .check(limits.max_orders_per_minute, Instant::now())
        {
            return Err(self.refuse(&stores, tool, hash, refusal).await);
        }

        self.execute(&stores, client, plan, how, config.idempotency.ttl_seconds)
            .await
    }

    /// A local limit said no: audited, then the error.
    async fn refuse(&self, stores: &Stores, tool: &str, hash: &str, refusal: Refusal) -> ToolError {
        self.audit(
            stores,
            tool,
            "preflight_refused",
            vec![
                ("request_hash", json!(hash)),
                ("limit_name", json!(refusal.limit_name)),
            ],
        )
        .await;
        ToolError::from(refusal)
    }

    async fn check_confirmation(&self, stores: &Stores, plan: &Plan) -> Result<(), ToolError> {
        let tool = plan.tool;
        let hash = plan.hash.as_str();
        let Some(id) = plan.approval.request_id.clone().filter(|s| !s.is_empty()) else {
            self.audit(
                stores,
                tool,
                "invalid_approval",
                vec![("request_hash", json!(hash))],
            )
            .await;
            return Err(ToolError::invalid_approval_missing_id());
        };
        let now = Utc::now();
        let preview = match self.consent.take(&id, now) {
            Take::Found(p) if p["action"] == json!(tool) => p,
            _ => {
                self.audit(
                    stores,
                    tool,
                    "invalid_approval",
                    vec![("request_id", json!(id)), ("request_hash", json!(hash))],
                )
                .await;
                return Err(ToolError::invalid_approval(
                    "unknown or expired approval_request_id",
                ));
            }
        };
        let reference = if plan.retry.priced {
            preview["request_echo"]["price"]
                .as_str()
                .and_then(|p| p.parse::<Decimal>().ok())
        } else {
            None
        };
        let checked = validate_retry(
            &preview["request_echo"],
            &plan.echo,
            &preview["reference_quote"],
            reference,
            plan.retry.current,
            plan.retry.point,
            preview_expiry(&preview),
            now,
        );
        if let Err(reason) = checked {
            self.audit(
                stores,
                tool,
                "invalid_approval",
                vec![
                    ("request_id", json!(id)),
                    ("request_hash", json!(hash)),
                    ("reason", json!(reason)),
                ],
            )
            .await;
            return Err(ToolError::invalid_approval(&reason));
        }
        Ok(())
    }

    async fn preview(
        &self,
        stores: &Stores,
        plan: &Plan,
        config: &Config,
    ) -> Result<Value, ToolError> {
        let parts = plan.preview.clone().ok_or_else(|| {
            ToolError::internal(
                "PreviewMissing",
                "an approval is required but no preview was prepared",
            )
        })?;
        let now = Utc::now();
        let expires = now + chrono::Duration::seconds(config.policy.approval_ttl_seconds as i64);
        let body = json!({
            "expires_at": format_utc(expires),
            "summary": parts.summary,
            "action": plan.tool,
            "symbol": plan.symbol,
            "notional": render_money(parts.notional),
            "estimated_margin": render_money(parts.estimated_margin),
            "reference_quote": parts.reference_quote,
            "request_echo": plan.echo,
        });
        let id = self.consent.insert(body.clone(), expires, now);
        self.audit(
            stores,
            plan.tool,
            "requires_approval",
            vec![
                ("request_id", json!(id)),
                ("request_hash", json!(plan.hash)),
            ],
        )
        .await;
        let mut out = Map::new();
        out.insert("request_id".into(), json!(id));
        if let Value::Object(rest) = body {
            out.extend(rest);
        }
        Ok(Value::Object(out))
    }

    /// Claim, intent, send, outcome. The claim makes the send happen once across processes;
    /// the durable intent line is what a human reads if the process dies mid-send.
    async fn execute(
        &self,
        stores: &Arc<Stores>,
        client: &Arc<Mt5Client>,
        plan: Plan,
        how: &Reconcile,
        ttl: u64,
    ) -> Result<Value, ToolError> {
        let tool = plan.tool;
        let hash = plan.hash.clone();
        let tag = plan.key.as_deref().map_or(0, |k| tag_for(k, tool));
        let mut request = plan.request.clone();
        request.magic = Some(tag);

        // One trip to the blocking pool: claim the key (exactly once across processes), then
        // the durable intent line; a failed intent gives the claim back.
        let _inflight = plan
            .key
            .as_deref()
            .map(|key| InflightGuard::enter(&self.inflight, key, tool));
        let intent = vec![
            ("request_hash", json!(hash)),
            ("idempotency_key", json!(plan.key)),
            ("tag", json!(tag)),
            ("request", request_dict(&request)),
        ];
        let (idem, audit) = (Arc::clone(&stores.idem), Arc::clone(&stores.audit));
        let (key, h, owner) = (plan.key.clone(), hash.clone(), self.owner);
        let step = blocking(move || {
            if let Some(k) = &key
                && let Claim::Taken(entry) = idem.claim(k, tool, &h, owner, tag, now_unix(), ttl)?
            {
                return Ok::<_, super::idempotency::StoreError>(Step::Taken(entry));
            }
            match audit.write_durable(tool, "intent", &intent) {
                Ok(()) => Ok(Step::Go),
                Err(e) => {
                    if let Some(k) = &key {
                        idem.release(k, tool, &owner.token)?;
                    }
                    Ok(Step::AuditFailed(e.to_string()))
                }
            }
        })
        .await?;
        match step {
            Step::Go => {}
            Step::Taken(entry) => {
                drop(_inflight);
                let key = plan.key.as_deref().unwrap_or_default();
                return self
                    .settle(
                        Keyed {
                            stores,
                            client,
                            tool,
                            key,
                            hash: &hash,
                            echo: &plan.echo,
                            how,
                        },
                        entry,
                    )
                    .await;
            }
            Step::AuditFailed(why) => {
                tracing::error!(error = %why, "audit intent line could not be written; order not sent");
                return Err(ToolError::new(
                    ErrorCode::INTERNAL_ERROR,
                    format!("Order not sent: the audit log could not record it ({why})."),
                )
                .with_details(json!({ "exception_type": "AuditWriteError" })));
            }
        }

        let started = Instant::now();
        let sent = client
            .call(|t| {
                let request = request.clone();
                async move { t.order_send(&request).await }
            })
            .await;
        let duration_ms = started.elapsed().as_millis() as i64;
        let ctx = ResultContext {
            tool,
            symbol: &plan.symbol,
            fallback_volume: &plan.fallback_volume,
            echo: &plan.echo,
        };
        let value = match sent {
            Ok(Ok(r)) => result::from_send(&ctx, &r),
            Ok(Err(TermError::Null(last))) => result::from_null(&ctx, &last),
            Ok(Err(TermError::Backend { why })) => {
                return Err(self
                    .unknown_outcome(stores, tool, &hash, plan.key.as_deref(), tag, &why)
                    .await);
            }
            Ok(Err(TermError::NotSent { why })) => {
                // Refused before reaching the library (e.g. the backend is stuck on an
                // earlier call): nothing was sent, so the key is free for a retry.
                self.release(stores, plan.key.as_deref(), tool).await;
                self.audit(
                    stores,
                    tool,
                    "error",
                    vec![
                        ("request_hash", json!(hash)),
                        ("exception_type", json!("NotSent")),
                    ],
                )
                .await;
                return Err(crate::mt5::client::backend_failure(format!(
                    "order not sent: {why}"
                )));
            }
            Err(e) => {
                // The reconnect before the send failed: nothing reached the terminal.
                self.release(stores, plan.key.as_deref(), tool).await;
                self.audit(
                    stores,
                    tool,
                    "error",
                    vec![
                        ("request_hash", json!(hash)),
                        ("exception_type", json!(e.code.as_str())),
                    ],
                )
                .await;
                return Err(e);
            }
        };
        if matches!(plan.exposure, Exposure::Place { .. }) {
            self.rate.record(Instant::now());
        }
        // One trip to the blocking pool: the `executed` line, then the outcome under the key.
        let success = value["success"] == json!(true);
        let executed = vec![
            ("request_hash", json!(hash)),
            ("ticket", value["ticket"].clone()),
            ("duration_ms", json!(duration_ms)),
            (
                "result_status",
                json!(if success { "filled" } else { "rejected" }),
            ),
        ];
        let (idem, audit) = (Arc::clone(&stores.idem), Arc::clone(&stores.audit));
        let (key, token, text) = (
            plan.key.clone(),
            self.owner.token.clone(),
            value.to_string(),
        );
        let recorded = tokio::task::spawn_blocking(move || {
            if let Err(e) = audit.write(tool, "executed", &executed) {
                tracing::error!(error = %e, "audit log write failed");
            }
            match &key {
                Some(k) => idem.complete(k, tool, &token, &text, now_unix(), ttl),
                None => Ok(()),
            }
        })
        .await;
        if !matches!(recorded, Ok(Ok(()))) {
            // The order went through; only the replay record is missing. A retry will
            // reconcile with the broker instead of sending again.
            tracing::error!("could not store the outcome under its idempotency key");
        }
        Ok(value)
    }

    async fn release(&self, stores: &Stores, key: Option<&str>, tool: &str) {
        if let Some(key) = key {
            let idem = Arc::clone(&stores.idem);
            let (k, t, o) = (key.to_owned(), tool.to_owned(), self.owner.token.clone());
            if let Err(e) = blocking(move || idem.release(&k, &t, &o)).await {
                tracing::error!(error = %e.message, "could not release an idempotency claim");
            }
        }
    }

    async fn unknown_outcome(
        &self,
        stores: &Stores,
        tool: &str,
        hash: &str,
        key: Option<&str>,
        tag: i64,
        why: &str,
    ) -> ToolError {
        self.audit(
            stores,
            tool,
            "outcome_unknown",
            vec![
                ("request_hash", json!(hash)),
                ("reason", json!(format!("order_send did not answer: {why}"))),
            ],
        )
        .await;
        let retry = if key.is_some() {
            "Retrying with the same idempotency_key checks the broker instead of sending again."
        } else {
            "Check positions, orders and history before trading again."
        };
        ToolError::new(
            ErrorCode::MT5_NULL_RESPONSE,
            format!("The order may or may not have reached the broker: {why}. {retry}"),
        )
        .with_details(json!({ "action": tool, "why": why, "tag": tag }))
        .with_requires_human(true)
    }
}

/// The order dictionary as the terminal receives it (unset fields left out).
pub fn request_dict(request: &TradeRequest) -> Value {
    match serde_json::to_value(request) {
        Ok(Value::Object(map)) => {
            Value::Object(map.into_iter().filter(|(_, v)| !v.is_null()).collect())
        }
        _ => Value::Null,
    }
}

fn preview_expiry(preview: &Value) -> chrono::DateTime<Utc> {
    preview["expires_at"]
        .as_str()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map_or_else(Utc::now, |t| t.with_timezone(&Utc))
}

fn now_unix() -> i64 {
    Utc::now().timestamp()
}

async fn blocking<T: Send + 'static, E: std::fmt::Display + Send + 'static>(
    f: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, ToolError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(ToolError::new(
            ErrorCode::INTERNAL_ERROR,
            format!("Idempotency database error: {e}"),
        )
        .with_details(json!({ "exception_type": "StoreError" }))),
        Err(e) => Err(ToolError::internal("JoinError", e)),
    }
}

/// One keyed call, as the idempotency paths (replay, wait, reconcile) need it.
#[derive(Clone, Copy)]
struct Keyed<'a> {
    stores: &'a Arc<Stores>,
    client: &'a Arc<Mt5Client>,
    tool: &'static str,
    key: &'a str,
    hash: &'a str,
    echo: &'a Value,
    how: &'a Reconcile,
}

/// What the claim-and-intent step decided.
enum Step {
    Go,
    Taken(super::idempotency::Entry),
    AuditFailed(String),
}

type InflightMap = Mutex<HashMap<(String, String), usize>>;

/// Marks a key as being handled by a call of this process for as long as it lives. Counted:
/// a concurrent duplicate enters too (before its claim is refused), and leaving must not
/// unmark the call that holds the claim.
struct InflightGuard<'a> {
    set: &'a InflightMap,
    entry: (String, String),
}

impl<'a> InflightGuard<'a> {
    fn enter(set: &'a InflightMap, key: &str, tool: &str) -> Self {
        let entry = (key.to_owned(), tool.to_owned());
        *set.lock()
            .expect("inflight set poisoned")
            .entry(entry.clone())
            .or_insert(0) += 1;
        Self { set, entry }
    }
}

impl Drop for InflightGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut set) = self.set.lock()
            && let Some(n) = set.get_mut(&self.entry)
        {
            *n -= 1;
            if *n == 0 {
                set.remove(&self.entry);
            }
        }
    }
}
