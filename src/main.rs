fn main() -> std::process::ExitCode {
    mt5_mcp::cli::run()
}
