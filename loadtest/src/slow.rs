//! Slow clients (`--slow-clients N`): N hostile connections held open for the whole load,
//! in three kinds taken in turn: TCP that never starts TLS, TLS that never sends a
//! request, and a request head trickled one byte a second that never ends. Each one the
//! bridge closes is opened again at once, so the attack keeps N connections pressing for
//! the whole run. Meanwhile a fresh connection asks `/healthz` every half second: what a
//! newly opened pane or agent would see. Reports how many the bridge closed and how long
//! each took, and what the fresh connections saw.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;

use crate::pane::Endpoint;
use crate::report::Dist;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// TCP connected, no TLS handshake started.
    SilentTcp,
    /// TLS handshake done, no request sent.
    SilentTls,
    /// TLS, then a request head one byte a second that never ends.
    Trickle,
}

pub const KINDS: [Kind; 3] = [Kind::SilentTcp, Kind::SilentTls, Kind::Trickle];

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::SilentTcp => "TCP, no TLS",
            Kind::SilentTls => "TLS, no request",
            Kind::Trickle => "head trickled 1 byte/s",
        }
    }

    fn key(self) -> &'static str {
        match self {
            Kind::SilentTcp => "silent_tcp",
            Kind::SilentTls => "silent_tls",
            Kind::Trickle => "trickle",
        }
    }

    fn index(self) -> usize {
        KINDS.iter().position(|k| *k == self).unwrap_or(0)
    }
}

/// What one kind of slow client saw.
#[derive(Default)]
pub struct KindStats {
    /// Connections opened (TCP connected).
    pub opened: u64,
    /// Closed by the bridge: microseconds from connect to close.
    pub closed_us: Vec<u32>,
    /// Still open when the load ended.
    pub open_at_end: u64,
    /// Of those, the longest open, in seconds.
    pub longest_open_at_end_s: f64,
    /// Connects or handshakes that failed (refused, reset during the handshake).
    pub failed: u64,
}

#[derive(Default)]
pub struct Stats {
    pub kinds: [KindStats; 3],
    /// `/healthz` on a fresh connection during the attack.
    pub fresh_us: Vec<u32>,
    pub fresh_errors: u64,
}

impl Stats {
    pub fn closed(&self) -> usize {
        self.kinds.iter().map(|k| k.closed_us.len()).sum()
    }

    pub fn json(&self, n: usize) -> Value {
        let mut kinds = serde_json::Map::new();
        for kind in KINDS {
            let s = &self.kinds[kind.index()];
            kinds.insert(
                kind.key().to_string(),
                json!({
                    "opened": s.opened,
                    "closed_by_bridge": s.closed_us.len(),
                    "time_to_close": dist_s(&s.closed_us),
                    "open_at_end": s.open_at_end,
                    "longest_open_at_end_s": r1(s.longest_open_at_end_s),
                    "failed": s.failed,
                }),
            );
        }
        json!({
            "connections": n,
            "kinds": kinds,
            "fresh_healthz": {"ok": Dist::of(&self.fresh_us).json(), "errors": self.fresh_errors},
        })
    }

    pub fn text(&self, n: usize) -> String {
        use std::fmt::Write as _;
        let mut t = String::new();
        let _ = writeln!(
            t,
            "\nslow clients: {n} held open throughout (each reopened when the bridge closed it)"
        );
        let _ = writeln!(
            t,
            "  {:<26} {:>7} {:>7} {:>9} {:>9} {:>9} {:>12}",
            "", "opened", "closed", "p50 s", "max s", "open@end", "failed"
        );
        for kind in KINDS {
            let s = &self.kinds[kind.index()];
            let d = Dist::of(&s.closed_us);
            let _ = writeln!(
                t,
                "  {:<26} {:>7} {:>7} {:>9.1} {:>9.1} {:>9} {:>12}",
                kind.name(),
                s.opened,
                s.closed_us.len(),
                d.p50 / 1000.0,
                d.max / 1000.0,
                format!("{} ({:.0}s)", s.open_at_end, s.longest_open_at_end_s),
                s.failed
            );
        }
        let fresh = Dist::of(&self.fresh_us);
        let _ = writeln!(
            t,
            "  (time to close: from the end of the TLS handshake; without TLS from connect, which includes any wait in the listen queue at the cap)"
        );
        let _ = writeln!(
            t,
            "  /healthz on a fresh connection during the attack: {} ok (p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms), {} failed",
            fresh.n, fresh.p50, fresh.p99, fresh.max, self.fresh_errors
        );
        t
    }
}

fn dist_s(us: &[u32]) -> Value {
    let d = Dist::of(us);
    json!({"n": d.n, "p50_s": r1(d.p50 / 1000.0), "p99_s": r1(d.p99 / 1000.0), "max_s": r1(d.max / 1000.0)})
}

fn r1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// The attack in progress.
pub struct Attack {
    n: usize,
    running: Arc<AtomicBool>,
    slots: Vec<JoinHandle<(Kind, KindStats)>>,
    fresh: JoinHandle<(Vec<u32>, u64)>,
}

/// Opens the N slow connections (their kinds in turn) and starts the fresh-connection
/// probe.
pub fn start(ep: &Endpoint, n: usize) -> Attack {
    let running = Arc::new(AtomicBool::new(true));
    let slots = (0..n)
        .map(|i| {
            let kind = KINDS[i % KINDS.len()];
            let (ep, running) = (ep.clone(), running.clone());
            tokio::spawn(async move { (kind, hold(ep, kind, running).await) })
        })
        .collect();
    let fresh = tokio::spawn(fresh_probe(ep.clone(), running.clone()));
    Attack {
        n,
        running,
        slots,
        fresh,
    }
}

impl Attack {
    pub async fn stop(self) -> (usize, Stats) {
        self.running.store(false, Ordering::Relaxed);
        let mut stats = Stats::default();
        for slot in self.slots {
            if let Ok((kind, s)) = slot.await {
                let into = &mut stats.kinds[kind.index()];
                into.opened += s.opened;
                into.closed_us.extend(s.closed_us);
                into.open_at_end += s.open_at_end;
                into.longest_open_at_end_s =
                    into.longest_open_at_end_s.max(s.longest_open_at_end_s);
                into.failed += s.failed;
            }
        }
        if let Ok((us, errors)) = self.fresh.await {
            stats.fresh_us = us;
            stats.fresh_errors = errors;
        }
        (self.n, stats)
    }
}

fn micros(d: Duration) -> u32 {
    d.as_micros().min(u32::MAX as u128) as u32
}

/// One slot of the attack: a slow connection of `kind`, opened again whenever the bridge
/// closes it, until the load ends.
async fn hold(ep: Endpoint, kind: Kind, running: Arc<AtomicBool>) -> KindStats {
    let mut stats = KindStats::default();
    while running.load(Ordering::Relaxed) {
        let Ok(tcp) = TcpStream::connect(("127.0.0.1", ep.port)).await else {
            stats.failed += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let mut opened = Instant::now();
        stats.opened += 1;
        let closed = match kind {
            Kind::SilentTcp => wait_closed(tcp, &running).await,
            Kind::SilentTls | Kind::Trickle => {
                let name =
                    rustls::pki_types::ServerName::try_from("localhost").expect("a valid name");
                match TlsConnector::from(ep.tls.clone()).connect(name, tcp).await {
                    // The handshake was cut: the bridge closed it (its handshake deadline).
                    Err(_) => Some(()),
                    Ok(tls) => {
                        // From here the bridge has accepted it: time its request deadline.
                        opened = Instant::now();
                        if kind == Kind::SilentTls {
                            wait_closed(tls, &running).await
                        } else {
                            trickle(tls, ep.port, &running).await
                        }
                    }
                }
            }
        };
        match closed {
            Some(()) => stats.closed_us.push(micros(opened.elapsed())),
            None => {
                stats.open_at_end += 1;
                stats.longest_open_at_end_s = stats
                    .longest_open_at_end_s
                    .max(opened.elapsed().as_secs_f64());
            }
        }
    }
    stats
}

/// Waits for the bridge to close the connection (Some) or the load to end (None).
async fn wait_closed<S: tokio::io::AsyncRead + Unpin>(
    mut stream: S,
    running: &AtomicBool,
) -> Option<()> {
    let mut buf = [0u8; 512];
    loop {
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                Ok(0) | Err(_) => return Some(()),
                Ok(_) => {}
            },
            () = tokio::time::sleep(Duration::from_millis(200)) => {
                if !running.load(Ordering::Relaxed) {
                    return None;
                }
            }
        }
    }
}

/// Sends a request head one byte a second, never finishing it, until the bridge closes
/// the connection (Some) or the load ends (None).
async fn trickle<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    stream: S,
    port: u16,
    running: &AtomicBool,
) -> Option<()> {
    let head = format!("GET /healthz HTTP/1.1\r\nHost: localhost:{port}\r\nX-Slow: ");
    let mut bytes = head.into_bytes().into_iter().chain(std::iter::repeat(b'a'));
    let (mut reader, mut writer) = tokio::io::split(stream);
    let mut buf = [0u8; 512];
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            read = reader.read(&mut buf) => match read {
                Ok(0) | Err(_) => return Some(()),
                Ok(_) => {}
            },
            _ = tick.tick() => {
                if !running.load(Ordering::Relaxed) {
                    return None;
                }
                let byte = bytes.next().unwrap_or(b'a');
                if writer.write_all(&[byte]).await.is_err() || writer.flush().await.is_err() {
                    return Some(());
                }
            }
        }
    }
}

/// `/healthz` on a new connection every half second (each with 30 s to answer).
async fn fresh_probe(ep: Endpoint, running: Arc<AtomicBool>) -> (Vec<u32>, u64) {
    let (mut ok, mut errors) = (Vec::new(), 0u64);
    let client = match reqwest::Client::builder()
        .use_preconfigured_tls((*ep.tls).clone())
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(30))
        .build()
    {
        Ok(c) => c,
        Err(_) => return (ok, 1),
    };
    let url = format!("https://localhost:{}/healthz", ep.port);
    while running.load(Ordering::Relaxed) {
        let start = Instant::now();
        let answered = match client.get(&url).send().await {
            Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
            Err(_) => false,
        };
        if answered {
            ok.push(micros(start.elapsed()));
        } else {
            errors += 1;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    (ok, errors)
}
