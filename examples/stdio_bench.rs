//! Low-overhead JSON-RPC driver for MCP stdio servers.
//!
//! Spawns the command given after `--`, speaks newline-delimited JSON-RPC over
//! the child's stdin/stdout with blocking std I/O (no MCP SDK, no extra thread
//! in the timed path) and measures:
//!
//! * cold start: spawn -> `initialize` -> `notifications/initialized` -> first
//!   `ping` answer, repeated `--spawns` times on fresh processes;
//! * steady state: `--calls` sequential `ping`s and `--calls` sequential
//!   `tools/call` of `--tool` with `--args`, after `--warmup` untimed calls each.
//!
//! Every answer is checked: a JSON-RPC error, a missing result or a tool result
//! with `isError: true` aborts the run, so a broken server cannot post a fast
//! number. A watchdog kills a child that does not answer within `--timeout-ms`.
//!
//! Example (from the repo root, see BENCHMARKS.md):
//! `target/release/examples/stdio_bench --tool echo --args '{"text":"EURUSD"}' -- target/release/examples/echo_server`

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use clap::Parser;
use serde_json::Value;

#[derive(Parser, Debug)]
#[command(about = "Cold-start and request-latency benchmark for MCP stdio servers")]
struct Cli {
    /// Tool to call in the steady-state phase (required unless --calls 0).
    #[arg(long)]
    tool: Option<String>,
    /// JSON object passed as the tool's `arguments`.
    #[arg(long, default_value = "{}")]
    args: String,
    /// Number of fresh processes for the cold-start phase (0 = skip).
    #[arg(long, default_value_t = 20)]
    spawns: usize,
    /// Timed sequential requests per steady-state series (0 = skip).
    #[arg(long, default_value_t = 2000)]
    calls: usize,
    /// Untimed requests before each timed series.
    #[arg(long, default_value_t = 200)]
    warmup: usize,
    /// Environment variable for the child, `K=V` (repeatable).
    #[arg(long = "env", value_name = "K=V")]
    env: Vec<String>,
    /// Label for the summary line and table row (default: the command's file name).
    #[arg(long)]
    label: Option<String>,
    /// Protocol version sent in `initialize`.
    #[arg(long, default_value = "2025-11-25")]
    protocol: String,
    /// Kill the child and abort if one answer takes longer than this.
    #[arg(long, default_value_t = 30_000)]
    timeout_ms: u64,
    /// Discard the child's stderr instead of inheriting it.
    #[arg(long)]
    quiet_child: bool,
    /// Trading round trips to time after the other phases: `place_order` (market buy of
    /// `--volume` `--symbol` with a fresh idempotency key) then `close_position` of its
    /// ticket, each answer checked for `success: true` (0 = skip).
    #[arg(long, default_value_t = 0)]
    roundtrips: usize,
    /// Symbol for --roundtrips.
    #[arg(long, default_value = "EURUSD")]
    symbol: String,
    /// Volume (lots) for --roundtrips.
    #[arg(long, default_value = "0.01")]
    volume: String,
    /// Also print the results as one JSON object (line prefixed `JSON `).
    #[arg(long)]
    json: bool,
    /// Server command and its arguments.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    command: Vec<String>,
}

// ---------------------------------------------------------------- watchdog

/// Kills the current child if an armed deadline passes. Polls every 20 ms on
/// its own thread, which never touches the request path.
struct Watchdog {
    inner: Arc<WdInner>,
    thread: Option<thread::JoinHandle<()>>,
}

struct WdInner {
    base: Instant,
    /// Deadline in ns since `base`; 0 = disarmed.
    deadline_ns: AtomicU64,
    fired: AtomicBool,
    stop: AtomicBool,
    child: Mutex<Option<Child>>,
}

impl Watchdog {
    fn start() -> Self {
        let inner = Arc::new(WdInner {
            base: Instant::now(),
            deadline_ns: AtomicU64::new(0),
            fired: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            child: Mutex::new(None),
        });
        let wd = inner.clone();
        let thread = thread::spawn(move || {
            while !wd.stop.load(Ordering::Relaxed) {
                thread::sleep(Duration::from_millis(20));
                let d = wd.deadline_ns.load(Ordering::Relaxed);
                if d != 0 && wd.base.elapsed().as_nanos() as u64 > d {
                    if let Some(c) = wd.child.lock().unwrap().as_mut() {
                        let _ = c.kill();
                    }
                    wd.fired.store(true, Ordering::Relaxed);
                    wd.deadline_ns.store(0, Ordering::Relaxed);
                }
            }
        });
        Self {
            inner,
            thread: Some(thread),
        }
    }

    fn arm(&self, timeout: Duration) {
        let d = (self.inner.base.elapsed() + timeout).as_nanos() as u64;
        self.inner.deadline_ns.store(d.max(1), Ordering::Relaxed);
    }

    fn disarm(&self) {
        self.inner.deadline_ns.store(0, Ordering::Relaxed);
    }

    fn fired(&self) -> bool {
        self.inner.fired.load(Ordering::Relaxed)
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.inner.stop.store(true, Ordering::Relaxed);
        if let Some(c) = self.inner.child.lock().unwrap().as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ----------------------------------------------------------------- session

/// One running server process and its pipes.
struct Session<'a> {
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    wd: &'a Watchdog,
    pid: u32,
    timeout: Duration,
    next_id: u64,
    line: String,
    req: Vec<u8>,
}

impl<'a> Session<'a> {
    /// Spawns the child. The child is owned by the watchdog so it can be killed.
    fn spawn(cli: &Cli, envs: &[(String, String)], wd: &'a Watchdog) -> Result<Self> {
        let mut cmd = Command::new(&cli.command[0]);
        cmd.args(&cli.command[1..])
            .envs(envs.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(if cli.quiet_child {
                Stdio::null()
            } else {
                Stdio::inherit()
            });
        let mut child = cmd
            .spawn()
            .with_context(|| format!("spawning {:?}", cli.command))?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let pid = child.id();
        *wd.inner.child.lock().unwrap() = Some(child);
        wd.inner.fired.store(false, Ordering::Relaxed);
        Ok(Self {
            stdin,
            stdout: BufReader::with_capacity(1 << 16, stdout),
            wd,
            pid,
            timeout: Duration::from_millis(cli.timeout_ms),
            next_id: 0,
            line: String::with_capacity(4096),
            req: Vec::with_capacity(4096),
        })
    }

    /// Writes one request line (single `write` syscall) and returns its id.
    fn send_request(&mut self, method: &str, params: Option<&str>) -> Result<u64> {
        self.next_id += 1;
        let id = self.next_id;
        self.req.clear();
        write!(
            self.req,
            r#"{{"jsonrpc":"2.0","id":{id},"method":"{method}""#
        )?;
        if let Some(p) = params {
            self.req.extend_from_slice(br#","params":"#);
            self.req.extend_from_slice(p.as_bytes());
        }
        self.req.extend_from_slice(b"}\n");
        self.wd.arm(self.timeout);
        self.stdin
            .write_all(&self.req)
            .with_context(|| format!("writing {method} request (child gone?)"))?;
        Ok(id)
    }

    fn send_notification(&mut self, method: &str) -> Result<()> {
        let line = format!("{{\"jsonrpc\":\"2.0\",\"method\":\"{method}\"}}\n");
        self.stdin
            .write_all(line.as_bytes())
            .with_context(|| format!("writing {method} notification"))
    }

    /// Reads lines until the answer with `id` arrives. Returns the time the
    /// answer's line was read (taken before parsing) and the parsed answer.
    /// Notifications are skipped; anything else unexpected aborts.
    fn recv(&mut self, id: u64, what: &str) -> Result<(Instant, Value)> {
        loop {
            self.line.clear();
            let n = self.stdout.read_line(&mut self.line)?;
            let t = Instant::now();
            if n == 0 {
                self.wd.disarm();
                if self.wd.fired() {
                    bail!(
                        "{what}: no answer within {:?}; child killed by watchdog",
                        self.timeout
                    );
                }
                bail!("{what}: child closed stdout (exited?) before answering id {id}");
            }
            let text = self.line.trim_end();
            if text.is_empty() {
                continue;
            }
            let msg: Value = serde_json::from_str(text)
                .with_context(|| format!("{what}: non-JSON line on child stdout: {text:?}"))?;
            match msg.get("id") {
                None => continue, // notification (e.g. logging, list_changed)
                Some(v) if v.as_u64() == Some(id) && msg.get("method").is_none() => {
                    self.wd.disarm();
                    return Ok((t, msg));
                }
                Some(_) if msg.get("method").is_some() => {
                    bail!("{what}: server sent a request the driver cannot answer: {text}")
                }
                Some(_) => bail!("{what}: answer with unexpected id (wanted {id}): {text}"),
            }
        }
    }

    /// Closes stdin and waits (untimed) for the child to exit; kills it after 5 s.
    fn close(self) -> Result<()> {
        drop(self.stdin);
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            {
                let mut slot = self.wd.inner.child.lock().unwrap();
                let child = slot.as_mut().expect("child present");
                if child.try_wait()?.is_some() {
                    *slot = None;
                    return Ok(());
                }
                if Instant::now() > deadline {
                    eprintln!("warning: child did not exit 5 s after stdin EOF; killing it");
                    let _ = child.kill();
                    let _ = child.wait();
                    *slot = None;
                    return Ok(());
                }
            }
            thread::sleep(Duration::from_millis(2));
        }
    }
}

/// The `result` of an answer, or an error naming the JSON-RPC error.
fn result_of<'v>(msg: &'v Value, what: &str) -> Result<&'v Value> {
    if let Some(e) = msg.get("error") {
        bail!("{what}: JSON-RPC error: {e}");
    }
    msg.get("result")
        .ok_or_else(|| anyhow!("{what}: answer has neither result nor error: {msg}"))
}

/// Aborts unless a `tools/call` answer is a success.
fn check_tool_result(msg: &Value, what: &str) -> Result<()> {
    let r = result_of(msg, what)?;
    ensure!(r.is_object(), "{what}: result is not an object: {msg}");
    if r.get("isError").and_then(Value::as_bool) == Some(true) {
        bail!("{what}: tool returned isError: true: {msg}");
    }
    ensure!(
        r.get("content").is_some() || r.get("structuredContent").is_some(),
        "{what}: tool result has no content: {msg}"
    );
    Ok(())
}

/// `initialize` + `notifications/initialized`. Returns the negotiated version.
fn handshake(s: &mut Session, protocol: &str) -> Result<(Instant, String)> {
    let params = format!(
        r#"{{"protocolVersion":"{protocol}","capabilities":{{}},"clientInfo":{{"name":"stdio_bench","version":"{}"}}}}"#,
        env!("CARGO_PKG_VERSION")
    );
    let id = s.send_request("initialize", Some(&params))?;
    let (t, msg) = s.recv(id, "initialize")?;
    let r = result_of(&msg, "initialize")?;
    let version = r
        .get("protocolVersion")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("initialize: no protocolVersion in {msg}"))?
        .to_owned();
    s.send_notification("notifications/initialized")?;
    Ok((t, version))
}

fn ping(s: &mut Session) -> Result<Instant> {
    let id = s.send_request("ping", None)?;
    let (t, msg) = s.recv(id, "ping")?;
    result_of(&msg, "ping")?;
    Ok(t)
}

/// CPU time consumed so far by all threads of `pid`, in ns, from
/// `/proc/<pid>/task/*/schedstat` (Linux; `None` elsewhere). Insensitive to
/// wake-up latency, so it separates server work from scheduler noise.
fn proc_cpu_ns(pid: u32) -> Option<u64> {
    let mut total = 0u64;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(total)
}

/// Server CPU µs per request between two `proc_cpu_ns` readings.
fn cpu_per_req(before: Option<u64>, after: Option<u64>, n: usize) -> Option<f64> {
    Some(after?.checked_sub(before?)? as f64 / 1e3 / n as f64)
}

// ------------------------------------------------------------------ stats

#[derive(Debug, Clone, Copy, serde::Serialize)]
struct Stats {
    n: usize,
    min: f64,
    p50: f64,
    p99: f64,
    max: f64,
    mean: f64,
}

/// Nearest-rank percentiles; values in the caller's unit.
fn stats(mut v: Vec<f64>) -> Stats {
    assert!(!v.is_empty());
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let pct = |p: f64| v[((p / 100.0 * n as f64).ceil() as usize).clamp(1, n) - 1];
    Stats {
        n,
        min: v[0],
        p50: pct(50.0),
        p99: pct(99.0),
        max: v[n - 1],
        mean: v.iter().sum::<f64>() / n as f64,
    }
}

/// One decimal, or `-` when unavailable.
fn opt1(v: Option<f64>) -> String {
    v.map_or("-".to_owned(), |x| format!("{x:.1}"))
}

fn us(d: Duration) -> f64 {
    d.as_nanos() as f64 / 1e3
}

fn ms(d: Duration) -> f64 {
    d.as_nanos() as f64 / 1e6
}

// ------------------------------------------------------------------ phases

#[derive(Debug, serde::Serialize)]
struct ColdStart {
    /// spawn start -> first ping answer (ms).
    total: Stats,
    /// spawn start -> `spawn()` returned (ms).
    spawn: Stats,
    /// spawn start -> initialize answer (ms).
    initialize: Stats,
    protocol: String,
}

fn cold_start(cli: &Cli, envs: &[(String, String)], wd: &Watchdog) -> Result<ColdStart> {
    let (mut total, mut spawn, mut init) = (vec![], vec![], vec![]);
    let mut protocol = String::new();
    for i in 0..cli.spawns {
        let t0 = Instant::now();
        let mut s = Session::spawn(cli, envs, wd)?;
        let t_spawned = Instant::now();
        let (t_init, version) =
            handshake(&mut s, &cli.protocol).with_context(|| format!("cold start #{i}"))?;
        let t_ping = ping(&mut s).with_context(|| format!("cold start #{i}"))?;
        s.close()?;
        total.push(ms(t_ping - t0));
        spawn.push(ms(t_spawned - t0));
        init.push(ms(t_init - t0));
        protocol = version;
    }
    Ok(ColdStart {
        total: stats(total),
        spawn: stats(spawn),
        initialize: stats(init),
        protocol,
    })
}

#[derive(Debug, serde::Serialize)]
struct Steady {
    /// Sequential `ping` round trips (µs).
    ping: Stats,
    /// Sequential `tools/call` round trips (µs).
    call: Stats,
    /// Server CPU time (all threads) per timed `ping`, µs; Linux only.
    ping_server_cpu_us: Option<f64>,
    /// Server CPU time (all threads) per timed `tools/call`, µs; Linux only.
    call_server_cpu_us: Option<f64>,
    /// Size of the last tool answer line in bytes.
    answer_bytes: usize,
}

fn steady(
    cli: &Cli,
    envs: &[(String, String)],
    wd: &Watchdog,
    tool: &str,
    args: &str,
) -> Result<Steady> {
    let mut s = Session::spawn(cli, envs, wd)?;
    handshake(&mut s, &cli.protocol)?;
    let params = format!(
        r#"{{"name":{},"arguments":{args}}}"#,
        serde_json::to_string(tool)?
    );

    let mut pings = Vec::with_capacity(cli.calls);
    let mut cpu0 = None;
    for i in 0..cli.warmup + cli.calls {
        if i == cli.warmup {
            cpu0 = proc_cpu_ns(s.pid);
        }
        let t0 = Instant::now();
        let t1 = ping(&mut s).with_context(|| format!("ping #{i}"))?;
        if i >= cli.warmup {
            pings.push(us(t1 - t0));
        }
    }

    let ping_server_cpu_us = cpu_per_req(cpu0, proc_cpu_ns(s.pid), cli.calls);

    let mut calls = Vec::with_capacity(cli.calls);
    for i in 0..cli.warmup + cli.calls {
        if i == cli.warmup {
            cpu0 = proc_cpu_ns(s.pid);
        }
        let what = format!("tools/call {tool} #{i}");
        let t0 = Instant::now();
        let id = s.send_request("tools/call", Some(&params))?;
        let (t1, msg) = s.recv(id, &what)?;
        check_tool_result(&msg, &what)?;
        if i >= cli.warmup {
            calls.push(us(t1 - t0));
        }
    }
    let call_server_cpu_us = cpu_per_req(cpu0, proc_cpu_ns(s.pid), cli.calls);
    let answer_bytes = s.line.trim_end().len();
    s.close()?;
    Ok(Steady {
        ping: stats(pings),
        call: stats(calls),
        ping_server_cpu_us,
        call_server_cpu_us,
        answer_bytes,
    })
}

// -------------------------------------------------------------- trading

/// The structured answer of a trading call that must have succeeded.
fn trade_answer(msg: &Value, what: &str) -> Result<Value> {
    check_tool_result(msg, what)?;
    let r = result_of(msg, what)?;
    let body = match r.get("structuredContent") {
        Some(v) => v.clone(),
        None => {
            let text = r["content"][0]["text"].as_str().unwrap_or("");
            serde_json::from_str(text).with_context(|| format!("{what}: answer is not JSON"))?
        }
    };
    ensure!(
        body.get("success").and_then(Value::as_bool) == Some(true),
        "{what}: not a fill: {body}"
    );
    Ok(body)
}

struct Roundtrips {
    n: usize,
    /// place + close, µs.
    pair: Stats,
    per_second: f64,
}

fn roundtrips(cli: &Cli, envs: &[(String, String)], wd: &Watchdog) -> Result<Roundtrips> {
    let mut s = Session::spawn(cli, envs, wd)?;
    handshake(&mut s, &cli.protocol)?;
    let run = std::process::id();
    let mut pairs = Vec::with_capacity(cli.roundtrips);
    let started = Instant::now();
    for i in 0..cli.roundtrips {
        let t0 = Instant::now();
        let place = serde_json::json!({"name": "place_order", "arguments": {
            "symbol": cli.symbol, "side": "buy", "type": "market", "volume": cli.volume,
            "idempotency_key": format!("bench-{run}-{i}-open")}});
        let id = s.send_request("tools/call", Some(&place.to_string()))?;
        let (_, msg) = s.recv(id, "place_order")?;
        let ticket = trade_answer(&msg, &format!("place_order #{i}"))?["ticket"].clone();
        let close = serde_json::json!({"name": "close_position", "arguments": {
            "ticket": ticket, "idempotency_key": format!("bench-{run}-{i}-close")}});
        let id = s.send_request("tools/call", Some(&close.to_string()))?;
        let (t1, msg) = s.recv(id, "close_position")?;
        trade_answer(&msg, &format!("close_position #{i}"))?;
        pairs.push(us(t1 - t0));
    }
    let elapsed = started.elapsed().as_secs_f64();
    s.close()?;
    Ok(Roundtrips {
        n: cli.roundtrips,
        per_second: cli.roundtrips as f64 / elapsed,
        pair: stats(pairs),
    })
}

// -------------------------------------------------------------------- main

fn main() -> Result<()> {
    let cli = Cli::parse();
    let envs: Vec<(String, String)> = cli
        .env
        .iter()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .ok_or_else(|| anyhow!("--env expects K=V, got {kv:?}"))
        })
        .collect::<Result<_>>()?;
    let args: Value = serde_json::from_str(&cli.args).context("--args is not valid JSON")?;
    ensure!(args.is_object(), "--args must be a JSON object");
    let args = serde_json::to_string(&args)?;
    ensure!(
        cli.calls == 0 || cli.tool.is_some() || cli.roundtrips > 0,
        "--tool is required unless --calls 0"
    );
    let label = cli.label.clone().unwrap_or_else(|| {
        std::path::Path::new(&cli.command[0])
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| cli.command[0].clone())
    });

    let wd = Watchdog::start();
    let cold = if cli.spawns > 0 {
        Some(cold_start(&cli, &envs, &wd)?)
    } else {
        None
    };
    let steady = match (&cli.tool, cli.calls) {
        (Some(tool), k) if k > 0 => Some(steady(&cli, &envs, &wd, tool, &args)?),
        _ => None,
    };
    let trades = if cli.roundtrips > 0 {
        Some(roundtrips(&cli, &envs, &wd)?)
    } else {
        None
    };
    drop(wd);
    if let Some(r) = &trades {
        println!(
            "{}: {} place_order+close_position round trips: {:.0}/s, p50 {:.1} us, p99 {:.1} us, max {:.1} us",
            cli.label.as_deref().unwrap_or("server"),
            r.n,
            r.per_second,
            r.pair.p50,
            r.pair.p99,
            r.pair.max
        );
    }

    let tool = cli.tool.as_deref().unwrap_or("-");
    let mut line = format!("{label}:");
    if let Some(c) = &cold {
        line += &format!(
            " cold start (spawn->initialize->ping, {} spawns, protocol {}) p50 {:.2} ms, min {:.2}, max {:.2} [initialize answered at p50 {:.2} ms];",
            c.total.n, c.protocol, c.total.p50, c.total.min, c.total.max, c.initialize.p50
        );
    }
    if let Some(s) = &steady {
        line += &format!(
            " {tool} x{} (warm-up {}): p50 {:.1} us, p99 {:.1} us, mean {:.1} us, min {:.1}, max {:.1}, answer {} B, server CPU {} us/call; ping p50 {:.1} us, p99 {:.1} us, server CPU {} us/ping",
            s.call.n,
            cli.warmup,
            s.call.p50,
            s.call.p99,
            s.call.mean,
            s.call.min,
            s.call.max,
            s.answer_bytes,
            opt1(s.call_server_cpu_us),
            s.ping.p50,
            s.ping.p99,
            opt1(s.ping_server_cpu_us),
        );
    }
    println!("{line}");

    let f = |v: Option<f64>, prec: usize| v.map_or("-".to_owned(), |x| format!("{x:.prec$}"));
    println!(
        "| label | cold start p50 (ms) | cold min / max (ms) | tool | calls | p50 (µs) | p99 (µs) | mean (µs) | server CPU/call (µs) | ping p50 (µs) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {label} | {} | {} / {} | {tool} | {} | {} | {} | {} | {} | {} |",
        f(cold.as_ref().map(|c| c.total.p50), 2),
        f(cold.as_ref().map(|c| c.total.min), 2),
        f(cold.as_ref().map(|c| c.total.max), 2),
        steady.as_ref().map_or(0, |s| s.call.n),
        f(steady.as_ref().map(|s| s.call.p50), 1),
        f(steady.as_ref().map(|s| s.call.p99), 1),
        f(steady.as_ref().map(|s| s.call.mean), 1),
        f(steady.as_ref().and_then(|s| s.call_server_cpu_us), 1),
        f(steady.as_ref().map(|s| s.ping.p50), 1),
    );
    if cli.json {
        let out = serde_json::json!({
            "label": label, "tool": tool, "args": serde_json::from_str::<Value>(&args)?,
            "cold_start_ms": cold, "steady_us": steady,
        });
        println!("JSON {out}");
    }
    Ok(())
}
