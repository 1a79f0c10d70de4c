//! stdio with a private stdout.
//!
//! In stdio mode fd 1 carries JSON-RPC and nothing else (DESIGN §3.13). Libraries we host
//! may print: the MetaTrader5 package does, and so can any embedded Python module. So
//! before anything else runs we duplicate fd 1 into a private descriptor that only the MCP
//! transport writes to, and point fd 1 at stderr. A stray `print()` then lands in the log
//! instead of corrupting the protocol stream.

use std::io;

use tokio::io::{AsyncRead, AsyncWrite};

/// The (reader, writer) pair the MCP service runs on.
pub fn protected_stdio() -> io::Result<(impl AsyncRead + Unpin, impl AsyncWrite + Unpin)> {
    let writer = private_stdout()?;
    Ok((super::guard::LineGuard::new(tokio::io::stdin()), writer))
}

#[cfg(unix)]
fn private_stdout() -> io::Result<tokio::fs::File> {
    use std::os::fd::FromRawFd;
    // SAFETY: dup/dup2 on the process's own standard descriptors; the new descriptor is
    // owned by the File we build from it and by nothing else.
    unsafe {
        let fd = libc::dup(libc::STDOUT_FILENO);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) < 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::dup2(libc::STDERR_FILENO, libc::STDOUT_FILENO) < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(tokio::fs::File::from_std(std::fs::File::from_raw_fd(fd)))
    }
}

#[cfg(not(unix))]
fn private_stdout() -> io::Result<tokio::io::Stdout> {
    // On Windows the Python backend redirects `sys.stdout` to stderr itself.
    Ok(tokio::io::stdout())
}
