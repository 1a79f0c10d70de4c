//! The stdio transport's sending half: one writer thread owns the JSON-RPC descriptor.
//!
//! rmcp's own line transport serialises a message completely, drops it, and only then starts
//! writing. For a 1.7 MB answer (5,000 bars) that puts the drop of ~75,000 small allocations
//! and the whole pipe transfer after the serialisation, one after the other. Here a message
//! is serialised in 64 KiB chunks that a dedicated thread writes while the next chunk is
//! being produced, and the message is dropped only after its last byte is written, when the
//! client already has it.
//!
//! A tool answer that arrives pre-rendered ([`super::splice`]) is queued as its pieces,
//! without another copy.
//!
//! Lines never interleave: a message's chunks are queued under one lock, and the writer
//! thread writes the queue in order. A send completes when its bytes are written (so a
//! client that stops reading stalls senders instead of growing memory without end), and a
//! failed write (the client went away) fails every later send.

use std::io::{self, Write};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio::sync::oneshot;

/// Bytes queued per chunk: big enough that per-chunk costs vanish, small enough that the
/// writer starts while most of a large message is still being serialised.
const CHUNK: usize = 64 * 1024;

/// Most messages are a few hundred bytes: the first buffer starts small and grows.
const FIRST: usize = 4096;

enum Job {
    Bytes(Vec<u8>),
    /// Answers once everything queued before it is written (or has failed).
    Done(oneshot::Sender<io::Result<()>>),
}

/// A cheap handle on the writer thread; clones share it.
#[derive(Clone)]
pub struct Output {
    queue: Arc<Mutex<Sender<Job>>>,
}

impl Output {
    /// Starts the thread that owns `sink`. It ends when every handle is gone.
    pub fn spawn<W: Write + Send + 'static>(sink: W) -> io::Result<Self> {
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("mcp-stdout".into())
            .spawn(move || write_loop(sink, rx))?;
        Ok(Self {
            queue: Arc::new(Mutex::new(tx)),
        })
    }

    /// Serialises `message` as one JSON line and writes it. The message itself is dropped
    /// only after its bytes are out.
    pub async fn send<T: Serialize>(&self, message: T) -> io::Result<()> {
        let done = {
            // Serialised under the lock: its chunks are queued while it is produced.
            let queue = self.lock();
            let mut chunks = Chunks {
                queue: &queue,
                buf: Vec::with_capacity(FIRST),
            };
            serde_json::to_writer(&mut chunks, &message)?;
            chunks.buf.push(b'\n');
            chunks.ship()?;
            done_after(&queue)?
        };
        finish(done, message).await
    }

    /// Writes the line whose JSON is `pieces`, in order and without copying them again;
    /// `message`, which they were serialised from, is dropped after they are out.
    pub async fn send_serialised<T>(&self, message: T, pieces: Vec<Vec<u8>>) -> io::Result<()> {
        let done = {
            let queue = self.lock();
            for piece in pieces.into_iter().chain([b"\n".to_vec()]) {
                queue.send(Job::Bytes(piece)).map_err(|_| closed())?;
            }
            done_after(&queue)?
        };
        finish(done, message).await
    }

    /// Queues bytes that already form whole lines.
    pub fn send_bytes(&self, bytes: Vec<u8>) -> io::Result<()> {
        self.lock().send(Job::Bytes(bytes)).map_err(|_| closed())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Sender<Job>> {
        // The guarded value is a channel sender: a panic elsewhere cannot leave it broken.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Queues the marker that answers once everything queued so far is written.
fn done_after(queue: &Sender<Job>) -> io::Result<oneshot::Receiver<io::Result<()>>> {
    let (tx, rx) = oneshot::channel();
    queue.send(Job::Done(tx)).map_err(|_| closed())?;
    Ok(rx)
}

/// Waits for the write, then drops the message: its memory is freed off the critical path.
async fn finish<T>(done: oneshot::Receiver<io::Result<()>>, message: T) -> io::Result<()> {
    let written = done.await.unwrap_or_else(|_| Err(closed()));
    drop(message);
    written
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the MCP output is closed")
}

/// The serialiser's writer: fills a chunk, queues it, starts the next.
struct Chunks<'a> {
    queue: &'a Sender<Job>,
    buf: Vec<u8>,
}

impl Chunks<'_> {
    fn ship(&mut self) -> io::Result<()> {
        let full = std::mem::take(&mut self.buf);
        self.queue.send(Job::Bytes(full)).map_err(|_| closed())
    }
}

impl Write for Chunks<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.write_all(data)?;
        Ok(data.len())
    }
    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        if self.buf.capacity() == 0 {
            self.buf.reserve(CHUNK + data.len());
        }
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.ship()?;
        }
        Ok(())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn write_loop<W: Write>(mut sink: W, jobs: Receiver<Job>) {
    let mut failed: Option<(io::ErrorKind, String)> = None;
    while let Ok(job) = jobs.recv() {
        match job {
            Job::Bytes(bytes) => {
                if failed.is_none()
                    && let Err(e) = sink.write_all(&bytes)
                {
                    tracing::debug!(error = %e, "writing to the MCP client failed");
                    failed = Some((e.kind(), e.to_string()));
                }
            }
            Job::Done(reply) => {
                if failed.is_none()
                    && let Err(e) = sink.flush()
                {
                    failed = Some((e.kind(), e.to_string()));
                }
                let _ = reply.send(match &failed {
                    None => Ok(()),
                    Some((kind, why)) => Err(io::Error::new(*kind, why.clone())),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink that records what it got, or fails after `fail_after` bytes.
    #[derive(Clone, Default)]
    struct Sink {
        got: Arc<Mutex<Vec<u8>>>,
        fail_after: Option<usize>,
    }

    impl Write for Sink {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            let mut got = self.got.lock().unwrap();
            if self.fail_after.is_some_and(|n| got.len() + data.len() > n) {
                return Err(io::Error::new(io::ErrorKind::BrokenPipe, "gone"));
            }
            got.extend_from_slice(data);
            Ok(data.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn large_messages_arrive_whole_and_in_order() {
        let sink = Sink::default();
        let out = Output::spawn(sink.clone()).unwrap();
        let big: Vec<String> = (0..20_000).map(|i| format!("item \"{i}\"")).collect();
        out.send(&big).await.unwrap();
        out.send_bytes(b"{\"raw\":1}\n".to_vec()).unwrap();
        let pieces = vec![b"{\"pie".to_vec(), Vec::new(), b"ces\":2}".to_vec()];
        out.send_serialised("the source", pieces).await.unwrap();
        out.send(serde_json::json!({"small": true})).await.unwrap();
        let got = sink.got.lock().unwrap().clone();
        let lines: Vec<&[u8]> = got.split(|b| *b == b'\n').collect();
        assert_eq!(lines.len(), 5, "four lines and the empty tail");
        let first: Vec<String> = serde_json::from_slice(lines[0]).unwrap();
        assert_eq!(first, big);
        assert_eq!(lines[1], b"{\"raw\":1}");
        assert_eq!(lines[2], b"{\"pieces\":2}");
        assert_eq!(lines[3], b"{\"small\":true}");
        assert!(lines[4].is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_senders_never_interleave_lines() {
        let sink = Sink::default();
        let out = Output::spawn(sink.clone()).unwrap();
        let mut tasks = Vec::new();
        for t in 0..8 {
            let out = out.clone();
            tasks.push(tokio::spawn(async move {
                for n in 0..20 {
                    // Several chunks each, so interleaving would show.
                    let body = vec![format!("{t}-{n}"); 20_000];
                    out.send(&body).await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let got = sink.got.lock().unwrap().clone();
        let mut seen = 0;
        for line in got.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let body: Vec<String> = serde_json::from_slice(line).expect("a whole line");
            assert_eq!(body.len(), 20_000);
            assert!(body.iter().all(|s| s == &body[0]), "mixed line");
            seen += 1;
        }
        assert_eq!(seen, 8 * 20);
    }

    #[tokio::test]
    async fn a_failed_write_fails_this_and_every_later_send() {
        let sink = Sink {
            fail_after: Some(100_000),
            ..Sink::default()
        };
        let out = Output::spawn(sink).unwrap();
        out.send(vec!["x"; 10]).await.unwrap();
        let err = out.send(vec!["y"; 100_000]).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        let err = out.send("small").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }
}
