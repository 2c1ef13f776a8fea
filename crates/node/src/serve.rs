//! Serving the HTTP API with every connection bounded in number and time.
//!
//! Why: each connection holds a file descriptor, and so do consensus's
//! journals, storage and p2p. Commonware's consensus panics when it cannot
//! open a journal blob ("Too many open files"), so clients must never be
//! able to take the descriptors the node needs. Hence:
//!
//! - the open-file limit is raised to its hard limit at start, and the API
//!   takes at most half of it, never more than [`ApiLimits::connections_max`];
//!   at the cap the node stops accepting, and new connections wait in the
//!   kernel's backlog (which holds no descriptor of ours) until one closes;
//! - a connection must send a complete request head within
//!   [`ApiLimits::idle_timeout`] of opening or of its previous answer, or it
//!   is closed (idle keep-alive and slow headers alike);
//! - a request must be read and answered within
//!   [`ApiLimits::request_timeout`] (slow bodies);
//! - a connection whose client stops reading (a write blocked for
//!   [`ApiLimits::write_stall_timeout`]) is closed;
//! - the never-ending `/api/v1/events` streams have a cap of their own
//!   ([`ApiLimits::event_streams_max`]), so they cannot take every slot.

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse as _;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::ServiceExt as _;

use crate::NodeError;
use crate::api::ApiError;
use crate::ledger::Shared;

/// The bounds on the API's connections. The defaults suit a public node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiLimits {
    /// Most connections open at once (further capped to half the open-file
    /// limit, see [`ApiLimits::fit_open_files`]).
    pub connections_max: usize,
    /// Most `/api/v1/events` streams open at once; one more is answered 503.
    pub event_streams_max: usize,
    /// How long a connection may go without sending a complete request
    /// head: after it opens, and between requests on a kept-alive one.
    pub idle_timeout: Duration,
    /// How long reading a request and answering it may take. Longer than
    /// `?wait=true`'s 30 seconds.
    pub request_timeout: Duration,
    /// How long a write may stay blocked because the client does not read.
    pub write_stall_timeout: Duration,
}

impl Default for ApiLimits {
    fn default() -> ApiLimits {
        ApiLimits {
            connections_max: 512,
            event_streams_max: 128,
            idle_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(45),
            write_stall_timeout: Duration::from_secs(60),
        }
    }
}

/// Descriptors always left to the rest of the node (consensus journals,
/// storage, p2p handshakes and peers, logs), whatever the API's share.
pub const FILES_RESERVED_MIN: u64 = 256;

impl ApiLimits {
    /// These limits with the connection cap lowered, if need be, so that the
    /// API never holds more than half of `open_files_max` descriptors, nor
    /// eats into the [`FILES_RESERVED_MIN`] kept for the rest of the node.
    pub fn fit_open_files(&self, open_files_max: u64) -> ApiLimits {
        let share = (open_files_max / 2).min(open_files_max.saturating_sub(FILES_RESERVED_MIN));
        let connections_max = self
            .connections_max
            .min(usize::try_from(share).unwrap_or(usize::MAX))
            .max(1);
        ApiLimits {
            connections_max,
            event_streams_max: self.event_streams_max.min(connections_max / 2).max(1),
            ..self.clone()
        }
    }
}

/// What the node asks of the kernel: Linux's usual ceiling per process.
const OPEN_FILES_WANTED: u64 = 1 << 20;

/// Raises the soft open-file limit to the hard one (up to 2^20) and returns
/// the limit now in force, logging the change. If the limit cannot be read,
/// assumes the common 1024.
pub fn raise_open_file_limit() -> u64 {
    let before = rlimit::Resource::NOFILE.get().map(|(soft, _)| soft);
    match (before, rlimit::increase_nofile_limit(OPEN_FILES_WANTED)) {
        (Ok(before), Ok(now)) if now > before => {
            tracing::info!(from = before, to = now, "raised the open-file limit");
            now
        }
        (_, Ok(now)) => {
            tracing::info!(limit = now, "open-file limit");
            now
        }
        (_, Err(error)) => {
            tracing::warn!(%error, "cannot read or raise the open-file limit; assuming 1024");
            1024
        }
    }
}

/// The `/api/v1/events` streams: their cap, and the keep-alive that shows a
/// stream is alive (and lets a stalled reader be noticed).
#[derive(Clone)]
pub(crate) struct EventStreams {
    pub(crate) permits: Arc<Semaphore>,
    pub(crate) max: usize,
    pub(crate) keep_alive: Duration,
}

impl EventStreams {
    pub(crate) fn new(limits: &ApiLimits) -> EventStreams {
        EventStreams {
            permits: Arc::new(Semaphore::new(limits.event_streams_max)),
            max: limits.event_streams_max,
            // Comfortably within the write-stall timeout.
            keep_alive: (limits.write_stall_timeout / 4).min(Duration::from_secs(15)),
        }
    }
}

/// Serves the HTTP API on `listener` (made by [`crate::run::listen`]) in the
/// background, within `limits`. Must be called inside a tokio runtime.
pub(crate) fn serve_api(
    listener: std::net::TcpListener,
    ledger: Shared,
    limits: ApiLimits,
) -> Result<(), NodeError> {
    let listener = TcpListener::from_std(listener).map_err(|e| NodeError::Io(e.to_string()))?;
    let router = crate::api::router_with(ledger, &limits);
    tracing::info!(
        connections_max = limits.connections_max,
        event_streams_max = limits.event_streams_max,
        "serving the API"
    );
    tokio::spawn(accept_loop(listener, router, limits));
    Ok(())
}

/// How long to pause after an accept error that is not the client's (such
/// as running out of descriptors), instead of spinning.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(250);
/// At most one warning per this long about a full API.
const FULL_WARNING_INTERVAL: Duration = Duration::from_secs(60);

async fn accept_loop(listener: TcpListener, router: Router, limits: ApiLimits) {
    let connections = Arc::new(Semaphore::new(limits.connections_max));
    let mut warned_full: Option<Instant> = None;
    loop {
        // Take a slot before accepting: at the cap, new connections wait in
        // the kernel's backlog, costing this process no descriptor.
        let permit = match connections.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                if warned_full.is_none_or(|at| at.elapsed() >= FULL_WARNING_INTERVAL) {
                    tracing::warn!(
                        connections_max = limits.connections_max,
                        "the API has all its connections open; new ones wait"
                    );
                    warned_full = Some(Instant::now());
                }
                match connections.clone().acquire_owned().await {
                    Ok(permit) => permit,
                    Err(_) => return,
                }
            }
        };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) if is_connection_error(&error) => continue,
            Err(error) => {
                tracing::warn!(%error, "cannot accept an API connection");
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve_connection(
            stream,
            router.clone(),
            limits.clone(),
            permit,
        ));
    }
}

/// Errors about one connection (it was reset before we took it), not about
/// the listener.
fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

async fn serve_connection(
    stream: TcpStream,
    router: Router,
    limits: ApiLimits,
    _slot: OwnedSemaphorePermit,
) {
    let stall = Arc::new(WriteStall::new());
    let io = TokioIo::new(Watched {
        inner: stream,
        stall: stall.clone(),
    });
    let request_timeout = limits.request_timeout;
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let router = router.clone();
        async move {
            let request = request.map(axum::body::Body::new);
            let response =
                match tokio::time::timeout(request_timeout, router.oneshot(request)).await {
                    Ok(Ok(response)) => response,
                    Ok(Err(never)) => match never {},
                    Err(_) => ApiError::new(
                        StatusCode::REQUEST_TIMEOUT,
                        format!(
                            "the request was not read and answered within {} s",
                            request_timeout.as_secs()
                        ),
                    )
                    .into_response(),
                };
            Ok::<_, Infallible>(response)
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.idle_timeout);
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    let mut check =
        tokio::time::interval((limits.write_stall_timeout / 4).max(Duration::from_millis(10)));
    loop {
        tokio::select! {
            _ = connection.as_mut() => return,
            _ = check.tick() => {
                if stall.blocked_for() >= limits.write_stall_timeout {
                    // Dropping the connection closes the socket.
                    return;
                }
            }
        }
    }
}

/// Since when a connection's writes have been blocked (the client does not
/// read), in milliseconds after `start` plus one; 0 when not blocked.
struct WriteStall {
    start: Instant,
    since_ms: AtomicU64,
}

impl WriteStall {
    fn new() -> WriteStall {
        WriteStall {
            start: Instant::now(),
            since_ms: AtomicU64::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn record<T>(&self, poll: &Poll<T>) {
        if poll.is_pending() {
            if self.since_ms.load(Ordering::Relaxed) == 0 {
                self.since_ms
                    .store(self.now_ms().saturating_add(1), Ordering::Relaxed);
            }
        } else {
            self.since_ms.store(0, Ordering::Relaxed);
        }
    }

    fn blocked_for(&self) -> Duration {
        match self.since_ms.load(Ordering::Relaxed) {
            0 => Duration::ZERO,
            since => Duration::from_millis(self.now_ms().saturating_sub(since - 1)),
        }
    }
}

/// A socket that records when its writes block.
struct Watched {
    inner: TcpStream,
    stall: Arc<WriteStall>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.stall.record(&poll);
        poll
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.stall.record(&poll);
        poll
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_flush(cx);
        self.stall.record(&poll);
        poll
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests;
