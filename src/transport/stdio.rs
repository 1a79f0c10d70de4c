//! stdio with a private stdout.
//!
//! In stdio mode fd 1 carries JSON-RPC and nothing else (DESIGN §3.13). Libraries we host
//! may print: the MetaTrader5 package does, and so can any embedded Python module. So
//! before anything else runs we duplicate fd 1 into a private descriptor that only the MCP
//! transport writes to, and point fd 1 at stderr. A stray `print()` then lands in the log
//! instead of corrupting the protocol stream.
//!
//! Reading is rmcp's line transport behind [`LineGuard`](super::guard::LineGuard); sending
//! is ours ([`Output`]), which streams large answers instead of serialising, dropping and
//! then writing them one after the other. Tool calls are marked as coming through a
//! transport that writes [pre-rendered](super::prerendered) answers.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use rmcp::RoleServer;
use rmcp::model::{ClientRequest, JsonRpcMessage};
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use rmcp::transport::async_rw::AsyncRwTransport;
use tokio::io::{AsyncRead, AsyncWrite, Stdin};

use super::guard::LineGuard;
use super::output::Output;
use super::prerendered::Accepts;
use super::splice;

/// The MCP server's stdio transport.
pub struct StdioTransport<R: AsyncRead> {
    /// Reads requests. It also writes the "invalid request" answers it produces itself,
    /// through [`OutputLines`], so those queue behind our other output.
    inner: AsyncRwTransport<RoleServer, R, OutputLines>,
    out: Output,
}

/// The transport on this process's stdin and private stdout.
pub fn protected_stdio() -> io::Result<StdioTransport<LineGuard<Stdin>>> {
    let out = Output::spawn(private_stdout()?)?;
    Ok(StdioTransport {
        inner: AsyncRwTransport::new(LineGuard::new(tokio::io::stdin()), OutputLines(out.clone())),
        out,
    })
}

impl<R> Transport<RoleServer> for StdioTransport<R>
where
    R: AsyncRead + Unpin + Send + 'static,
{
    type Error = io::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleServer>,
    ) -> impl Future<Output = io::Result<()>> + Send + 'static {
        let out = self.out.clone();
        async move {
            let mut item = item;
            match splice::take(&mut item) {
                // Serialised before the output is locked: other messages need not wait.
                Some(Ok(text)) => match splice::pieces(&item, text) {
                    Ok(pieces) => out.send_serialised(item, pieces).await,
                    // The client still gets an answer to its request.
                    Err(e) => out.send(splice::refusal(&item, &e)).await,
                },
                Some(Err(malformed)) => out.send(splice::refusal(&item, &malformed)).await,
                None => out.send(item).await,
            }
        }
    }

    fn receive(&mut self) -> impl Future<Output = Option<RxJsonRpcMessage<RoleServer>>> + Send {
        let next = self.inner.receive();
        async move {
            let mut message = next.await?;
            if let JsonRpcMessage::Request(request) = &mut message
                && let ClientRequest::CallToolRequest(call) = &mut request.request
            {
                call.extensions.insert(Accepts);
            }
            Some(message)
        }
    }

    async fn close(&mut self) -> io::Result<()> {
        self.inner.close().await
    }
}

/// rmcp's framed writer hands over whole encoded lines in one write, so each write is
/// queued as it is.
pub struct OutputLines(Output);

impl AsyncWrite for OutputLines {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(self.0.send_bytes(buf.to_vec()).map(|()| buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(unix)]
fn private_stdout() -> io::Result<std::fs::File> {
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
        grow_pipe(fd);
        Ok(std::fs::File::from_raw_fd(fd))
    }
}

/// A pipe holds 64 KiB by default, so a 1.7 MB answer crosses it in some thirty rounds of
/// "writer blocks, reader wakes, reader drains, writer wakes". A bigger pipe lets the whole
/// answer be written while the client is still reading. Best effort: Linux only, and an
/// unprivileged process may get less than it asks for (or nothing, if stdout is no pipe).
#[cfg(target_os = "linux")]
fn grow_pipe(fd: std::os::fd::RawFd) {
    const WANT: libc::c_int = 1 << 20;
    // SAFETY: fcntl on a descriptor we own; failure leaves the pipe as it was.
    let got = unsafe { libc::fcntl(fd, libc::F_SETPIPE_SZ, WANT) };
    if got < 0 {
        tracing::debug!(error = %io::Error::last_os_error(), "stdout pipe keeps its size");
    }
}

#[cfg(all(unix, not(target_os = "linux")))]
fn grow_pipe(_: std::os::fd::RawFd) {}

#[cfg(not(unix))]
fn private_stdout() -> io::Result<io::Stdout> {
    // On Windows the Python backend redirects `sys.stdout` to stderr itself.
    Ok(io::stdout())
}
