// Large answers (5,000 bars are about 75,000 small strings and maps) are dominated by
// allocating and freeing; mimalloc does both several times faster than the system
// allocator on every platform we ship to. Only Rust allocations use it: the embedded
// Python keeps its own, and the Python bridge library frees its own replies.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    mt5_mcp::cli::run()
}
