//! The command line: `mt5-mcp [serve] [flags]`, `mt5-mcp --version`.
//!
//! Parsing only; the work is in [`serve`]. clap prints usage to stderr and exits 2 on an
//! unknown command or a bad flag, as upstream's argparse did.

mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::config::{BackendChoice, LogLevel};

#[derive(Parser, Debug)]
#[command(
    name = "mt5-mcp",
    version,
    about = "MCP server for MetaTrader 5: account and market data for AI agents, with a paper-trading sim terminal built in."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve MCP (the default command).
    Serve(ServeArgs),
}

#[derive(Args, Debug, Default, Clone)]
pub struct ServeArgs {
    /// Transport to serve on.
    #[arg(long, value_enum, default_value_t = Transport::Stdio)]
    pub transport: Transport,
    /// Config file (default: the per-user config path).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Connect to the terminal in the background right after startup.
    #[arg(long, overrides_with = "no_eager_connect")]
    pub eager_connect: bool,
    /// Connect lazily, on the first tool call.
    #[arg(long, overrides_with = "eager_connect")]
    pub no_eager_connect: bool,
    /// Log level (logs go to stderr).
    #[arg(long, value_enum, ignore_case = true)]
    pub log_level: Option<LevelArg>,
    /// Stateless HTTP (HTTP transport only).
    #[arg(long, overrides_with = "no_stateless")]
    pub stateless: bool,
    /// Stateful HTTP sessions (HTTP transport only).
    #[arg(long, overrides_with = "stateless")]
    pub no_stateless: bool,
    /// Terminal backend: auto, native, bridge or sim.
    #[arg(long, value_enum)]
    pub backend: Option<BackendArg>,
}

#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Transport {
    #[default]
    Stdio,
    Http,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
#[value(rename_all = "UPPER")]
pub enum LevelArg {
    Debug,
    Info,
    Warning,
    Error,
    Critical,
}

impl From<LevelArg> for LogLevel {
    fn from(l: LevelArg) -> Self {
        match l {
            LevelArg::Debug => LogLevel::Debug,
            LevelArg::Info => LogLevel::Info,
            LevelArg::Warning => LogLevel::Warning,
            LevelArg::Error => LogLevel::Error,
            LevelArg::Critical => LogLevel::Critical,
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendArg {
    Auto,
    Native,
    Bridge,
    Sim,
}

impl From<BackendArg> for BackendChoice {
    fn from(b: BackendArg) -> Self {
        match b {
            BackendArg::Auto => BackendChoice::Auto,
            BackendArg::Native => BackendChoice::Native,
            BackendArg::Bridge => BackendChoice::Bridge,
            BackendArg::Sim => BackendChoice::Sim,
        }
    }
}

impl ServeArgs {
    /// `Some(true)`/`Some(false)` when a `--x`/`--no-x` pair was given, else `None`.
    fn flag_pair(yes: bool, no: bool) -> Option<bool> {
        match (yes, no) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        }
    }
    pub fn eager_connect(&self) -> Option<bool> {
        Self::flag_pair(self.eager_connect, self.no_eager_connect)
    }
    pub fn stateless(&self) -> Option<bool> {
        Self::flag_pair(self.stateless, self.no_stateless)
    }
}

pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() => {
            // Some clap errors (a bad value) omit the usage line; always show it.
            let rendered = e.render().to_string();
            eprint!("{rendered}");
            if !rendered.contains("Usage:") {
                eprintln!("\n{}", Cli::command().render_usage());
            }
            return ExitCode::from(2);
        }
        Err(e) => {
            // --help and --version: print to stdout and succeed.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
    };
    match cli.command.unwrap_or(Command::Serve(ServeArgs::default())) {
        Command::Serve(args) => serve::run(args),
    }
}
