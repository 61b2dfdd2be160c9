//! Connection hygiene: deadlines for clients that connect and then say nothing (or say it a
//! byte at a time), an idle timeout for kept-alive connections, and a cap on how many
//! connections are open at once. Without them a few hundred silent sockets exhausted the
//! process's file descriptors and the bridge stopped answering anyone (issue #14).
//!
//! What counts as idle is decided from what the connection is doing, not from bytes on
//! the wire: a connection with a request in flight (its response, or the response's body,
//! not finished) is never idle, so an event stream (`/v1/events`), an MCP session's stream
//! or a tool call held for the person's approval are never cut, however long they stay
//! quiet. A pane's WebSocket leaves this watch when it is upgraded (its own heartbeats
//! look after it) but keeps its place under the cap until it closes.

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{Request, Response};
use http_body::{Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::OwnedSemaphorePermit;

use super::ConnectionCounts;

/// A client must finish the TLS handshake within this long of being accepted.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// A request's head (request line and headers) must arrive within this long: measured
/// from the end of the handshake for a connection's first request, from the request's
/// first byte for later ones.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// A kept-alive connection with nothing in flight is closed after this long.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// The most connections the default cap allows, whatever the descriptor limit: one
/// person's panes, agents and desktop tools need tens.
pub const MAX_CONNECTIONS_CEILING: usize = 1024;
/// The fewest the default cap allows, with a very low descriptor limit.
pub const MAX_CONNECTIONS_FLOOR: usize = 16;
/// The cap warning is logged at most this often.
pub const CAP_WARNING_EVERY: Duration = Duration::from_secs(60);

/// Test settings (milliseconds, or a count): shorter deadlines and a small cap, so tests
/// need not wait the real 10 s and 60 s. Not meant for use otherwise.
pub const TEST_HANDSHAKE_ENV: &str = "OFFICE_BRIDGE_TEST_HANDSHAKE_TIMEOUT_MS";
pub const TEST_HEADER_ENV: &str = "OFFICE_BRIDGE_TEST_HEADER_TIMEOUT_MS";
pub const TEST_IDLE_ENV: &str = "OFFICE_BRIDGE_TEST_IDLE_TIMEOUT_MS";
pub const TEST_MAX_CONNECTIONS_ENV: &str = "OFFICE_BRIDGE_TEST_MAX_CONNECTIONS";

/// The deadlines and the cap in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    pub handshake_timeout: Duration,
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    /// Connections open at once (accepted and not yet closed, a pane's WebSocket
    /// included); more wait in the listen queue until one closes.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            handshake_timeout: HANDSHAKE_TIMEOUT,
            header_timeout: HEADER_TIMEOUT,
            idle_timeout: IDLE_TIMEOUT,
            max_connections: default_max_connections(),
        }
    }
}

impl ConnectionLimits {
    /// The defaults, with the `OFFICE_BRIDGE_TEST_*` settings applied.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let number = |name: &str| -> Result<Option<u64>> {
            lookup(name)
                .map(|v| {
                    v.trim()
                        .parse::<u64>()
                        .ok()
                        .filter(|n| *n > 0)
                        .with_context(|| {
                            format!("{name} must be a positive whole number, not {v:?}")
                        })
                })
                .transpose()
        };
        let mut limits = ConnectionLimits::default();
        if let Some(ms) = number(TEST_HANDSHAKE_ENV)? {
            limits.handshake_timeout = Duration::from_millis(ms);
        }
        if let Some(ms) = number(TEST_HEADER_ENV)? {
            limits.header_timeout = Duration::from_millis(ms);
        }
        if let Some(ms) = number(TEST_IDLE_ENV)? {
            limits.idle_timeout = Duration::from_millis(ms);
        }
        if let Some(n) = number(TEST_MAX_CONNECTIONS_ENV)? {
            limits.max_connections = usize::try_from(n).unwrap_or(usize::MAX);
        }
        Ok(limits)
    }

    /// How often a connection's deadlines are looked at: a fraction of the shortest, so a
    /// deadline is kept to within a quarter of its length (at most a second late).
    fn check_every(&self) -> Duration {
        (self.header_timeout.min(self.idle_timeout) / 4)
            .clamp(Duration::from_millis(20), Duration::from_secs(1))
    }
}

/// Half the process's open-file limit (the other half is headroom for the store, files
/// being read, the blocking pool and the listen socket), between
/// [`MAX_CONNECTIONS_FLOOR`] and [`MAX_CONNECTIONS_CEILING`]. Each connection holds one
/// descriptor, so the cap keeps the bridge from running out of them: with `ulimit -n 512`
/// it is 256, with the common 1024 it is 512.
pub fn default_max_connections() -> usize {
    match open_files_limit() {
        Some(n) => (n / 2).clamp(MAX_CONNECTIONS_FLOOR, MAX_CONNECTIONS_CEILING),
        None => MAX_CONNECTIONS_CEILING,
    }
}

#[cfg(unix)]
fn open_files_limit() -> Option<usize> {
    // `None` is RLIM_INFINITY: no limit to keep under.
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile).current?;
    usize::try_from(limit).ok()
}

/// Windows has no per-process descriptor limit of this kind (handles run to millions).
#[cfg(not(unix))]
fn open_files_limit() -> Option<usize> {
    None
}

/// Logs the cap being reached at most once per [`CAP_WARNING_EVERY`], with how many
/// connections had to wait since the last line: an attack opens thousands.
#[derive(Debug, Default)]
pub struct CapWarning {
    last: Option<Instant>,
    waited_since: u64,
}

impl CapWarning {
    pub fn reached(&mut self, limit: usize) {
        self.waited_since += 1;
        let now = Instant::now();
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < CAP_WARNING_EVERY)
        {
            return;
        }
        tracing::warn!(
            limit,
            waited = self.waited_since,
            "connection limit reached: new connections wait until one closes (clients that \
             send nothing are closed after their deadlines); said at most once a minute"
        );
        self.last = Some(now);
        self.waited_since = 0;
    }
}

/// A connection's place under the cap, from accept to close (a pane's WebSocket keeps it
/// after the upgrade, inside its stream).
pub struct Slot {
    _permit: OwnedSemaphorePermit,
    counts: Arc<ConnectionCounts>,
}

impl Slot {
    pub fn new(permit: OwnedSemaphorePermit, counts: Arc<ConnectionCounts>) -> Self {
        counts.open.fetch_add(1, Ordering::Relaxed);
        Slot {
            _permit: permit,
            counts,
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.counts.open.fetch_sub(1, Ordering::Relaxed);
    }
}

const NONE: u64 = u64::MAX;

/// What one connection is doing, as far as its deadlines are concerned.
#[derive(Debug)]
pub struct Activity {
    start: Instant,
    /// Requests whose response (body included) is not finished.
    in_flight: AtomicUsize,
    /// Milliseconds since `start` when the connection last had nothing in flight.
    idle_since: AtomicU64,
    /// Milliseconds since `start` of the first byte read while idle ([`NONE`]: none yet).
    first_byte: AtomicU64,
    /// A request has been received: the connection is a kept-alive one between requests.
    served: AtomicBool,
    /// HTTP/2: bytes while idle are frames (pings, settings), not the start of a request
    /// head, so only the idle timeout applies between requests.
    multiplexed: bool,
}

/// Why a connection was closed by its deadlines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expired {
    /// No complete request head in time.
    Header,
    /// Nothing in flight and nothing asked for in time.
    Idle,
}

impl std::fmt::Display for Expired {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Expired::Header => "no complete request head within the header deadline",
            Expired::Idle => "idle for longer than the idle timeout",
        })
    }
}

impl Activity {
    pub fn new(multiplexed: bool) -> Arc<Self> {
        Arc::new(Activity {
            start: Instant::now(),
            in_flight: AtomicUsize::new(0),
            idle_since: AtomicU64::new(0),
            first_byte: AtomicU64::new(NONE),
            served: AtomicBool::new(false),
            multiplexed,
        })
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(NONE - 1)
    }

    fn at(&self, ms: u64) -> Instant {
        self.start + Duration::from_millis(ms)
    }

    fn bytes_read(&self) {
        if self.in_flight.load(Ordering::Acquire) == 0 {
            let now = self.now_ms();
            let _ =
                self.first_byte
                    .compare_exchange(NONE, now, Ordering::AcqRel, Ordering::Relaxed);
        }
    }

    fn request_started(&self) {
        self.served.store(true, Ordering::Release);
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.first_byte.store(NONE, Ordering::Release);
    }

    fn request_finished(&self) {
        if self.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.first_byte.store(NONE, Ordering::Release);
            self.idle_since.store(self.now_ms(), Ordering::Release);
        }
    }

    /// When the connection is to be closed if nothing changes, and why; None while a
    /// request is in flight.
    fn deadline(&self, limits: &ConnectionLimits) -> Option<(Instant, Expired)> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let idle = self.at(self.idle_since.load(Ordering::Acquire));
        if !self.served.load(Ordering::Acquire) {
            // The first request: its head is due a header deadline after the handshake,
            // whether the client trickles it or sends nothing at all.
            return Some((idle + limits.header_timeout, Expired::Header));
        }
        let idle_deadline = (idle + limits.idle_timeout, Expired::Idle);
        let first = self.first_byte.load(Ordering::Acquire);
        if first == NONE || self.multiplexed {
            return Some(idle_deadline);
        }
        let head_deadline = (self.at(first) + limits.header_timeout, Expired::Header);
        Some(if head_deadline.0 < idle_deadline.0 {
            head_deadline
        } else {
            idle_deadline
        })
    }

    /// Completes when the connection is past one of its deadlines. Dropped (with the
    /// connection) when the connection ends first.
    pub async fn expired(&self, limits: ConnectionLimits) -> Expired {
        let every = limits.check_every();
        loop {
            let now = Instant::now();
            match self.deadline(&limits) {
                Some((at, why)) if at <= now => return why,
                // A byte may arrive meanwhile and bring a head deadline forward, so look
                // again after `every` at the latest.
                Some((at, _)) => tokio::time::sleep((at - now).min(every)).await,
                None => tokio::time::sleep(every).await,
            }
        }
    }
}

/// Marks one request in flight until its response body is finished or dropped.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: &Arc<Activity>) -> Self {
        activity.request_started();
        InFlight(activity.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

/// A response body that keeps its request in flight while it streams.
pub struct TrackedBody {
    inner: Body,
    _in_flight: InFlight,
}

impl http_body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The router as hyper's service for one connection, each request marked in flight until
/// its response is done.
pub fn tracked_service<B>(
    router: Router,
    activity: Arc<Activity>,
) -> impl hyper::service::Service<
    Request<B>,
    Response = Response<TrackedBody>,
    Error = Infallible,
    Future = impl Future<Output = Result<Response<TrackedBody>, Infallible>> + Send,
> + Clone
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    hyper::service::service_fn(move |req: Request<B>| {
        let in_flight = InFlight::start(&activity);
        let response = tower::ServiceExt::oneshot(router.clone(), req);
        async move {
            let response = response.await?;
            Ok(response.map(|inner| TrackedBody {
                inner,
                _in_flight: in_flight,
            }))
        }
    })
}

/// The connection's stream: notes bytes read for the deadlines, and holds the
/// connection's place under the cap until it is dropped (after a WebSocket upgrade, when
/// the socket closes).
pub struct TrackedIo<T> {
    inner: T,
    activity: Arc<Activity>,
    _slot: Slot,
}

impl<T> TrackedIo<T> {
    pub fn new(inner: T, activity: Arc<Activity>, slot: Slot) -> Self {
        TrackedIo {
            inner,
            activity,
            _slot: slot,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for TrackedIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.bytes_read();
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for TrackedIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ConnectionLimits {
        ConnectionLimits {
            handshake_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 8,
        }
    }

    fn after(a: &Activity, d: Option<(Instant, Expired)>) -> Option<(u64, Expired)> {
        d.map(|(at, why)| ((at - a.start).as_secs(), why))
    }

    #[test]
    fn the_first_request_is_due_a_header_deadline_after_the_handshake() {
        let a = Activity::new(false);
        assert_eq!(
            after(&a, a.deadline(&limits())),
            Some((10, Expired::Header))
        );
        // A byte changes nothing: the first head is due by then anyway.
        a.bytes_read();
        assert_eq!(
            after(&a, a.deadline(&limits())),
            Some((10, Expired::Header))
        );
    }

    #[test]
    fn nothing_is_due_while_a_request_is_in_flight() {
        let a = Activity::new(false);
        let first = InFlight::start(&a);
        let second = InFlight::start(&a);
        assert_eq!(a.deadline(&limits()), None);
        drop(first);
        assert_eq!(a.deadline(&limits()), None, "one is still in flight");
        drop(second);
        assert_eq!(after(&a, a.deadline(&limits())), Some((60, Expired::Idle)));
    }

    #[test]
    fn between_requests_a_started_head_is_due_sooner_than_the_idle_timeout() {
        let a = Activity::new(false);
        drop(InFlight::start(&a));
        a.bytes_read();
        assert_eq!(
            after(&a, a.deadline(&limits())),
            Some((10, Expired::Header))
        );
        // Over HTTP/2 bytes between requests are frames, not a head.
        let h2 = Activity::new(true);
        drop(InFlight::start(&h2));
        h2.bytes_read();
        assert_eq!(
            after(&h2, h2.deadline(&limits())),
            Some((60, Expired::Idle))
        );
    }

    #[test]
    fn test_settings_override_the_defaults_and_bad_values_are_refused() {
        let set = |pairs: &'static [(&'static str, &'static str)]| {
            ConnectionLimits::from_lookup(move |name| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            })
        };
        assert_eq!(set(&[]).unwrap(), ConnectionLimits::default());
        let l = set(&[(TEST_HEADER_ENV, "1500"), (TEST_MAX_CONNECTIONS_ENV, "6")]).unwrap();
        assert_eq!(l.header_timeout, Duration::from_millis(1500));
        assert_eq!(l.max_connections, 6);
        assert_eq!(l.idle_timeout, IDLE_TIMEOUT);
        for bad in ["", "0", "-1", "ten"] {
            let pairs: &'static [(&'static str, &'static str)] =
                Box::leak(Box::new([(TEST_IDLE_ENV, bad)]));
            let e = set(pairs).unwrap_err().to_string();
            assert!(e.contains(TEST_IDLE_ENV), "{e}");
        }
    }

    #[test]
    fn the_default_cap_is_half_the_descriptor_limit_within_bounds() {
        let cap = default_max_connections();
        assert!((MAX_CONNECTIONS_FLOOR..=MAX_CONNECTIONS_CEILING).contains(&cap));
        if let Some(n) = open_files_limit() {
            assert!(cap <= n.max(2 * MAX_CONNECTIONS_FLOOR) / 2, "{cap} of {n}");
        }
    }

    #[test]
    fn the_cap_warning_is_rate_limited() {
        let mut w = CapWarning::default();
        w.reached(4);
        let first = w.last;
        assert!(first.is_some());
        w.reached(4);
        w.reached(4);
        assert_eq!(w.last, first, "said again within a minute");
        assert_eq!(w.waited_since, 2);
    }
}
