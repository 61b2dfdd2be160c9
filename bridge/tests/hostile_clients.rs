//! Hostile and broken clients against the real `office-bridge serve` process: connections
//! that never speak, or trickle their request a byte at a time, are closed after their
//! deadlines; kept-alive connections left idle are closed, while event streams, MCP
//! sessions and panes are not; at the connection cap new clients wait (and a warning is
//! logged once) while those already connected keep working; SIGTERM ends the bridge
//! within 5 s even while a long file read runs (docs/security.md, "Hostile clients:
//! connection limits").
//!
//! The deadlines are shortened for most tests with the `OFFICE_BRIDGE_TEST_*` variables;
//! the first test runs the real defaults (10 s).
#![cfg(unix)]

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::served::*;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::tungstenite::Message;

/// The message the bridge logs when a connection has to wait for the cap.
const CAP_LOG: &str = "connection limit reached";

/// The bridge process, killed if a test fails before stopping it.
struct Running(Served);

impl Running {
    fn start(dir: &Path, env: &[(&str, &str)]) -> Self {
        Running(serve_with_env(dir, 0, env))
    }

    fn endpoint(&self, dir: &Path) -> Endpoint {
        Endpoint::of(dir, self.0.port)
    }

    fn terminate(mut self) {
        terminate(&mut self.0);
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.0.child.try_wait() {
            let _ = self.0.child.kill();
            let _ = self.0.child.wait();
        }
    }
}

fn data_dir(temp: &tempfile::TempDir) -> std::path::PathBuf {
    temp.path().join("data")
}

fn log_of(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("bridge.log")).unwrap_or_default()
}

async fn tls(ep: &Endpoint) -> TlsStream<TcpStream> {
    let config = certs::client_config_trusting(&ep.ca_pem).unwrap();
    let tcp = TcpStream::connect(("127.0.0.1", ep.port())).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .expect("TLS handshake")
}

/// Reads until the peer closes (end of stream or an error); how long that took, or None
/// when it was still open after `wait`. Bytes the bridge sends are ignored.
async fn closed_within<S: tokio::io::AsyncRead + Unpin>(
    stream: &mut S,
    wait: Duration,
) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 1024];
    let read_to_end = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(wait, read_to_end)
        .await
        .ok()
        .map(|()| start.elapsed())
}

/// A kept-alive HTTP/1.1 connection: the request sender (the client closes the
/// connection when it is dropped) and the connection's task, which ends when the
/// connection is closed.
struct KeepAlive {
    _sender: hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
    conn: tokio::task::JoinHandle<Result<(), hyper::Error>>,
}

/// `GET path` on a fresh HTTP/1.1 connection: the status, the body, the connection.
async fn get_keep_alive(
    ep: &Endpoint,
    path: &str,
    token: Option<&str>,
) -> (u16, hyper::body::Incoming, KeepAlive) {
    let stream = tls(ep).await;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("HTTP handshake");
    let conn = tokio::spawn(conn);
    let mut req = hyper::Request::get(path).header("host", format!("localhost:{}", ep.port()));
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let res = sender
        .send_request(req.body(Empty::<Bytes>::new()).unwrap())
        .await
        .expect("response");
    let status = res.status().as_u16();
    let kept = KeepAlive {
        _sender: sender,
        conn,
    };
    (status, res.into_body(), kept)
}

/// `GET /healthz` on a fresh connection, waiting at most `wait` for the whole exchange.
async fn healthz(ep: &Endpoint, wait: Duration) -> Result<u16, String> {
    tokio::time::timeout(wait, async {
        let (status, body, _conn) = get_keep_alive(ep, "/healthz", None).await;
        let _ = body.collect().await;
        status
    })
    .await
    .map_err(|_| format!("no answer to /healthz within {wait:?}"))
}

/// A pane channel that has registered a document.
async fn registered_pane(ep: &Endpoint, name: &str) -> Ws {
    let mut ws = ep.ws().await.expect("pane connects");
    let register = json!({"jsonrpc": "2.0", "id": "reg", "method": "register", "params": {
        "app": "excel", "document": {"name": name, "url": format!("https://contoso.example/{name}")},
        "addin_version": "test", "capabilities": [],
    }});
    ws.send(Message::Text(register.to_string().into()))
        .await
        .unwrap();
    let answer = pane_answer(&mut ws, "reg").await;
    assert!(answer["result"]["session_id"].is_string(), "{answer}");
    ws
}

/// The bridge's answer to the pane's request `id` (its own requests and notifications are
/// skipped).
async fn pane_answer(ws: &mut Ws, id: &str) -> Value {
    let wait = Duration::from_secs(10);
    tokio::time::timeout(wait, async {
        while let Some(msg) = ws.next().await {
            let Ok(Message::Text(text)) = msg else {
                continue;
            };
            let v: Value = serde_json::from_str(text.as_str()).unwrap();
            if v["id"] == json!(id) {
                return v;
            }
        }
        panic!("the pane channel closed before answering {id}");
    })
    .await
    .unwrap_or_else(|_| panic!("no answer to {id} within {wait:?}"))
}

/// The pane's `ping` is answered: the channel works.
async fn assert_pane_works(ws: &mut Ws, id: &str) {
    let ping = json!({"jsonrpc": "2.0", "id": id, "method": "ping"});
    ws.send(Message::Text(ping.to_string().into()))
        .await
        .expect("the pane channel is still open");
    let answer = pane_answer(ws, id).await;
    assert!(answer["result"]["pong"].is_number(), "{answer}");
}

/// The real defaults (no test settings): a client that opens TCP and never starts TLS, and
/// one that completes TLS and never sends a request, are both closed 10 s later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_never_speak_are_closed_after_the_10_s_deadlines() {
    let temp = tempfile::tempdir().unwrap();
    let dir = data_dir(&temp);
    let bridge = Running::start(&dir, &[]);
    let ep = bridge.endpoint(&dir);

    let mut silent_tcp = TcpStream::connect(("127.0.0.1", ep.port())).await.unwrap();
    let mut silent_tls = tls(&ep).await;
    let (tcp, tls) = tokio::join!(
        closed_within(&mut silent_tcp, Duration::from_secs(25)),
        closed_within(&mut silent_tls, Duration::from_secs(25)),
    );
    let tcp = tcp.expect("a TCP client that never starts TLS is closed");
    let tls = tls.expect("a TLS client that never sends a request is closed");
    // The deadline, not a refusal: neither was closed at once.
    assert!(tcp >= Duration::from_secs(5), "closed after {tcp:?}");
    assert!(tls >= Duration::from_secs(5), "closed after {tls:?}");
    assert_eq!(healthz(&ep, Duration::from_secs(10)).await, Ok(200));
    bridge.terminate();
}

/// A client sending its request head a byte at a time never completes it: it is closed
/// once the header deadline (2 s here) passes, and a normal client is served meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_trickling_its_headers_is_closed_after_the_header_deadline() {
    let temp = tempfile::tempdir().unwrap();
    let dir = data_dir(&temp);
    let bridge = Running::start(&dir, &[("OFFICE_BRIDGE_TEST_HEADER_TIMEOUT_MS", "2000")]);
    let ep = bridge.endpoint(&dir);

    let head = format!(
        "GET /healthz HTTP/1.1\r\nHost: localhost:{}\r\nUser-Agent: {}\r\n\r\n",
        ep.port(),
        "slow".repeat(20)
    );
    let (mut reader, mut writer) = tokio::io::split(tls(&ep).await);
    let trickle = tokio::spawn(async move {
        let mut sent = 0;
        for byte in head.as_bytes() {
            if writer.write_all(&[*byte]).await.is_err() || writer.flush().await.is_err() {
                break;
            }
            sent += 1;
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        (sent, head.len())
    });
    let mut answer = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(20), reader.read_to_end(&mut answer))
        .await
        .is_ok();
    assert!(closed, "the trickling client is still connected after 20 s");
    assert!(
        !String::from_utf8_lossy(&answer).contains("200 OK"),
        "the trickled request was served: {}",
        String::from_utf8_lossy(&answer)
    );
    // Meanwhile, and after, a normal client is served.
    assert_eq!(healthz(&ep, Duration::from_secs(10)).await, Ok(200));
    let (sent, len) = trickle.await.unwrap();
    assert!(sent < len, "the whole head ({len} bytes) went through");
    bridge.terminate();
}

/// A kept-alive HTTP/1.1 connection left idle is closed after the idle timeout (2 s here);
/// the event stream, an MCP session and a pane, idle for longer, are not cut.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_but_streams_sessions_and_panes_stay() {
    let temp = tempfile::tempdir().unwrap();
    let dir = data_dir(&temp);
    let idle = Duration::from_secs(2);
    let bridge = Running::start(
        &dir,
        &[
            ("OFFICE_BRIDGE_TEST_IDLE_TIMEOUT_MS", "2000"),
            ("OFFICE_BRIDGE_TEST_HEADER_TIMEOUT_MS", "2000"),
        ],
    );
    let ep = bridge.endpoint(&dir);

    let (status, body, kept_alive) = get_keep_alive(&ep, "/healthz", None).await;
    assert_eq!(status, 200);
    body.collect().await.unwrap();
    let (status, mut events, events_conn) =
        get_keep_alive(&ep, "/v1/events", Some(&ep.token)).await;
    assert_eq!(status, 200);
    let mut pane = registered_pane(&ep, "Idle.xlsx").await;
    let agent = ep.mcp().await;

    // The idle keep-alive connection goes; the others stay through three idle timeouts.
    tokio::time::timeout(Duration::from_secs(15), kept_alive.conn)
        .await
        .expect("an idle kept-alive connection is closed")
        .unwrap()
        .ok();
    tokio::time::sleep(3 * idle).await;
    assert!(!events_conn.conn.is_finished(), "the event stream was cut");
    assert_pane_works(&mut pane, "after-idle").await;
    let (err, text, _) = try_call(&agent, "office_status", json!({})).await.unwrap();
    assert!(!err, "{text}");
    // The stream still delivers: the next pane's arrival is on it.
    let _second = registered_pane(&ep, "Later.xlsx").await;
    let seen = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(frame) = events.frame().await {
            let Ok(data) = frame.unwrap().into_data() else {
                continue;
            };
            if String::from_utf8_lossy(&data).contains("Later.xlsx") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(seen, Ok(true), "the event stream stopped delivering");
    bridge.terminate();
}

/// At the connection cap (6 here), silent clients hold every slot: new connections wait
/// (the bridge says so in its log, once), a pane and an agent already connected keep
/// working, and `/healthz` on a fresh connection is answered once the silent ones are
/// closed at their deadlines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_connection_cap_new_clients_wait_and_connected_ones_keep_working() {
    let temp = tempfile::tempdir().unwrap();
    let dir = data_dir(&temp);
    let cap = 6;
    let bridge = Running::start(
        &dir,
        &[
            ("OFFICE_BRIDGE_TEST_MAX_CONNECTIONS", "6"),
            ("OFFICE_BRIDGE_TEST_HANDSHAKE_TIMEOUT_MS", "2000"),
            ("OFFICE_BRIDGE_TEST_HEADER_TIMEOUT_MS", "2000"),
        ],
    );
    let ep = bridge.endpoint(&dir);
    let mut pane = registered_pane(&ep, "Q3.xlsx").await;
    // A kept-alive connection that already made a request (the agent's, in effect).
    let stream = tls(&ep).await;
    let (mut agent, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let status = |agent: &mut hyper::client::conn::http1::SendRequest<Empty<Bytes>>| {
        let req = hyper::Request::get("/v1/status")
            .header("host", format!("localhost:{}", ep.port()))
            .header("authorization", format!("Bearer {}", ep.token))
            .body(Empty::<Bytes>::new())
            .unwrap();
        let sent = agent.send_request(req);
        async move {
            let res = sent.await.expect("the agent's connection still works");
            let status = res.status().as_u16();
            let body = res.into_body().collect().await.unwrap().to_bytes();
            (status, serde_json::from_slice::<Value>(&body).unwrap())
        }
    };
    assert_eq!(status(&mut agent).await.0, 200);

    // Silent TLS clients fill the remaining slots; more silent TCP clients queue behind.
    let mut silent = Vec::new();
    for _ in 0..cap - 2 {
        silent.push(tls(&ep).await);
    }
    let mut queued = Vec::new();
    for _ in 0..3 {
        queued.push(TcpStream::connect(("127.0.0.1", ep.port())).await.unwrap());
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while !log_of(&dir).contains(CAP_LOG) {
        assert!(
            Instant::now() < deadline,
            "no cap warning: {}",
            log_of(&dir)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // At the cap: the pane and the agent are served.
    assert_pane_works(&mut pane, "at-cap").await;
    let (code, at_cap) = status(&mut agent).await;
    assert_eq!(code, 200);
    assert!(
        at_cap["connections"]["waited_at_limit"].as_u64().unwrap() >= 1,
        "{at_cap}"
    );
    // A fresh client is answered once the silent ones are closed.
    let fresh = tokio::spawn({
        let ep = ep.clone();
        async move { healthz(&ep, Duration::from_secs(30)).await }
    });
    for (i, s) in silent.iter_mut().enumerate() {
        assert!(
            closed_within(s, Duration::from_secs(20)).await.is_some(),
            "silent TLS client {i} is still connected"
        );
    }
    for (i, s) in queued.iter_mut().enumerate() {
        assert!(
            closed_within(s, Duration::from_secs(20)).await.is_some(),
            "queued TCP client {i} is still connected"
        );
    }
    assert_eq!(fresh.await.unwrap(), Ok(200));
    assert_pane_works(&mut pane, "after").await;
    let (code, after) = status(&mut agent).await;
    assert_eq!(code, 200);
    assert!(
        after["connections"]["timed_out"].as_u64().unwrap() >= (cap - 2 + 3) as u64,
        "{after}"
    );
    // Said once, not once per waiting connection.
    assert_eq!(log_of(&dir).matches(CAP_LOG).count(), 1, "{}", log_of(&dir));
    bridge.terminate();
}

/// Sends SIGTERM to the bridge and waits (at most 30 s) for it to exit: how long that took
/// and whether it exited 0.
async fn stop_with_sigterm(bridge: Running) -> (Duration, Option<bool>) {
    let signalled = Instant::now();
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &bridge.0.child.id().to_string()])
        .status();
    tokio::task::spawn_blocking(move || {
        let mut bridge = bridge;
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(status) = bridge.0.child.try_wait().unwrap() {
                return (signalled.elapsed(), Some(status.success()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        (signalled.elapsed(), None)
    })
    .await
    .unwrap()
}

/// SIGTERM while a file tool's blocking work runs (here made to last a minute with the
/// test setting that slows file tools): the bridge still exits, cleanly, within 5 s
/// (checked with a few seconds of slack).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_the_bridge_within_5_s_while_blocking_file_work_runs() {
    let temp = tempfile::tempdir().unwrap();
    let dir = data_dir(&temp);
    let files = dir.with_file_name("files");
    std::fs::create_dir_all(&files).unwrap();
    std::fs::write(files.join("q3.csv"), "Region,Q1\nEMEA,1234567.89\n").unwrap();
    let bridge = Running::start(&dir, &[("OFFICE_BRIDGE_TEST_SLOW_FILE_TOOLS_MS", "60000")]);
    let ep = bridge.endpoint(&dir);
    let agent = ep.mcp().await;
    let read = tokio::spawn(async move {
        call_within(
            &agent,
            "xlsx_read",
            json!({"path": "q3.csv"}),
            Duration::from_secs(90),
        )
        .await
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!read.is_finished(), "the read ended: {:?}", read.await);
    let (took, exited) = stop_with_sigterm(bridge).await;
    eprintln!("exited {took:?} after SIGTERM");
    let log = log_of(&dir);
    assert_eq!(
        exited,
        Some(true),
        "no clean exit within 30 s of SIGTERM: {log}"
    );
    assert!(took < Duration::from_secs(8), "exit took {took:?}: {log}");
    read.abort();
}

/// A cancelled MCP request stops its file read: the blocking thread is free again at
/// once, not when the (here minute-long) read would have ended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_xlsx_read_stops_its_read() {
    use rmcp::model::{CallToolRequest, CallToolRequestParams, ClientRequest};
    let temp = tempfile::tempdir().unwrap();
    let dir = data_dir(&temp);
    let files = dir.with_file_name("files");
    std::fs::create_dir_all(&files).unwrap();
    std::fs::write(files.join("q3.csv"), "Region,Q1\nEMEA,1234567.89\n").unwrap();
    let bridge = Running::start(&dir, &[("OFFICE_BRIDGE_TEST_SLOW_FILE_TOOLS_MS", "60000")]);
    let ep = bridge.endpoint(&dir);
    let agent = ep.mcp().await;
    let params = CallToolRequestParams::new("xlsx_read".to_string())
        .with_arguments(json!({"path": "q3.csv"}).as_object().cloned().unwrap());
    let handle = agent
        .send_cancellable_request(
            ClientRequest::CallToolRequest(CallToolRequest::new(params)),
            rmcp::service::PeerRequestOptions::no_options(),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        !log_of(&dir).contains("a file read stopped early"),
        "{}",
        log_of(&dir)
    );
    handle
        .cancel(Some("the person changed their mind".into()))
        .await
        .unwrap();
    let t0 = Instant::now();
    while !log_of(&dir).contains("a file read stopped early") {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "the read went on after the cancel: {}",
            log_of(&dir)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The bridge goes on serving the same agent.
    let (is_error, text, _) =
        call_within(&agent, "office_status", json!({}), Duration::from_secs(10))
            .await
            .unwrap();
    assert!(!is_error, "{text}");
    bridge.terminate();
}
