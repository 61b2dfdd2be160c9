//! Crash safety: the real `office-bridge serve` process is killed with SIGKILL in the middle
//! of a stream of writes, restarted on the same data directory and port, and then:
//! the audit chain verifies; every write whose tool call returned success has its `write`
//! record (the rule is one-directional: a call cut off by the kill may or may not be
//! there); data read before the crash is still recognised in a write after it; the panes
//! reconnect and register again by themselves; a new MCP session works.
#![cfg(unix)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::office::{Client, ClientImpl, Office, deck, workbook};
use futures_util::{SinkExt, StreamExt};
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const BIN: &str = env!("CARGO_BIN_EXE_office-bridge");

type Ws = tokio_tungstenite::WebSocketStream<tokio_rustls::client::TlsStream<TcpStream>>;

/// The real binary serving `dir` on `port` (0: any free port).
struct Served {
    child: Child,
    port: u16,
}

fn serve(dir: &Path, port: u16) -> Served {
    let policy_dir = dir.join("policy");
    // Beside the data directory: the file tools never use anything inside it.
    let files = dir.with_file_name("files");
    std::fs::create_dir_all(&policy_dir).unwrap();
    std::fs::create_dir_all(&files).unwrap();
    // A port just released can be briefly refused on some systems: try a few times.
    for attempt in 0..20 {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("bridge.log"))
            .unwrap();
        let mut child = Command::new(BIN)
            .arg("--data-dir")
            .arg(dir)
            .args(["serve", "--port", &port.to_string(), "--allow-dir"])
            .arg(&files)
            .env("OFFICE_BRIDGE_POLICY", policy_dir.join("policy.json"))
            .env_remove("OFFICE_BRIDGE_DATA_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("office-bridge starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(p) = line
                    .trim()
                    .strip_prefix("URL:")
                    .and_then(|r| r.trim().strip_prefix("https://localhost:"))
                    .and_then(|r| r.trim_end_matches('/').parse::<u16>().ok())
                {
                    let _ = tx.send(p);
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(port) => return Served { child, port },
            Err(_) => {
                let status = child.try_wait().unwrap();
                let _ = child.kill();
                let _ = child.wait();
                if status.is_some() && attempt < 19 {
                    std::thread::sleep(Duration::from_millis(250));
                    continue;
                }
                panic!(
                    "office-bridge did not serve on port {port}: {}",
                    std::fs::read_to_string(dir.join("bridge.log")).unwrap_or_default()
                );
            }
        }
    }
    unreachable!()
}

fn terminate(served: &mut Served) {
    let _ = Command::new("kill")
        .args(["-TERM", &served.child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if served.child.try_wait().unwrap().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = served.child.kill();
    let _ = served.child.wait();
    panic!("the bridge did not stop within 15 s of SIGTERM");
}

/// What a client needs to reach the bridge: its port, CA and token (from the data dir).
#[derive(Clone)]
struct Endpoint {
    port: Arc<AtomicU32>,
    ca_pem: String,
    token: String,
}

impl Endpoint {
    fn of(dir: &Path, port: u16) -> Self {
        Endpoint {
            port: Arc::new(AtomicU32::new(port.into())),
            ca_pem: std::fs::read_to_string(dir.join("tls/ca.pem")).unwrap(),
            token: std::fs::read_to_string(dir.join("token"))
                .unwrap()
                .trim()
                .to_string(),
        }
    }

    fn port(&self) -> u16 {
        self.port.load(Ordering::Relaxed) as u16
    }

    async fn ws(&self) -> anyhow::Result<Ws> {
        let port = self.port();
        let config = certs::client_config_trusting(&self.ca_pem)?;
        let tcp = TcpStream::connect(("127.0.0.1", port)).await?;
        let name = rustls::pki_types::ServerName::try_from("localhost")?;
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await?;
        let mut req = format!("wss://localhost:{port}/addin/ws").into_client_request()?;
        req.headers_mut()
            .insert("origin", format!("https://localhost:{port}").parse()?);
        Ok(tokio_tungstenite::client_async(req, tls).await?.0)
    }

    async fn mcp(&self) -> Client {
        let tls = certs::client_config_trusting(&self.ca_pem).unwrap();
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .build()
            .unwrap();
        let config = StreamableHttpClientTransportConfig::with_uri(format!(
            "https://localhost:{}/mcp",
            self.port()
        ))
        .auth_header(self.token.clone());
        let transport = StreamableHttpClientTransport::with_client(http, config);
        tokio::time::timeout(
            Duration::from_secs(10),
            ClientImpl::default().serve(transport),
        )
        .await
        .expect("MCP initialize within 10 s")
        .expect("MCP session")
    }
}

/// A pane that behaves like the real one: when its connection drops it reconnects (every
/// 100 ms here) and registers again with its last session id.
struct LivePane {
    registrations: Arc<AtomicU32>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl LivePane {
    fn start(ep: Endpoint, app: &'static str, name: &'static str, office: Office) -> Self {
        let registrations = Arc::new(AtomicU32::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (regs, halt) = (registrations.clone(), stop.clone());
        let task = tokio::spawn(async move {
            let mut session: Option<String> = None;
            while !halt.load(Ordering::Relaxed) {
                let Ok(mut ws) = ep.ws().await else {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                let register = json!({"jsonrpc": "2.0", "id": "reg", "method": "register", "params": {
                    "app": app,
                    "document": {"name": name, "url": format!("https://contoso.example/{name}")},
                    "addin_version": "test", "capabilities": [], "session_id": session,
                }});
                if ws
                    .send(Message::Text(register.to_string().into()))
                    .await
                    .is_err()
                {
                    continue;
                }
                // Serve until the connection ends; answer the bridge with `office`.
                while let Some(Ok(msg)) = ws.next().await {
                    let Message::Text(text) = msg else { continue };
                    let Ok(v) = serde_json::from_str::<Value>(text.as_str()) else {
                        continue;
                    };
                    if v["id"] == json!("reg") {
                        if let Some(id) = v["result"]["session_id"].as_str() {
                            session = Some(id.to_string());
                            regs.fetch_add(1, Ordering::SeqCst);
                        }
                        continue;
                    }
                    let (Some(method), Some(id)) = (v["method"].as_str(), v.get("id")) else {
                        continue;
                    };
                    let reply = match office(method, &v["params"]) {
                        Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
                        Err(error) => json!({"jsonrpc": "2.0", "id": id, "error": error}),
                    };
                    if ws
                        .send(Message::Text(reply.to_string().into()))
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
            }
        });
        LivePane {
            registrations,
            stop,
            task,
        }
    }

    async fn wait_registered(&self, times: u32, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.registrations.load(Ordering::SeqCst) < times {
            assert!(
                Instant::now() < deadline,
                "{what}: the pane did not register (again) within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn end(self) {
        self.stop.store(true, Ordering::Relaxed);
        self.task.abort();
    }
}

/// A tool call that may fail (the bridge may be gone): (is_error, text, structured).
async fn try_call(
    client: &Client,
    tool: &str,
    args: Value,
) -> Result<(bool, String, Value), String> {
    call_within(client, tool, args, Duration::from_secs(30)).await
}

/// As `try_call`, giving up after `wait`.
async fn call_within(
    client: &Client,
    tool: &str,
    args: Value,
    wait: Duration,
) -> Result<(bool, String, Value), String> {
    let params = CallToolRequestParams::new(tool.to_string())
        .with_arguments(args.as_object().cloned().unwrap());
    match tokio::time::timeout(wait, client.call_tool(params)).await {
        Err(_) => Err(format!("{tool}: no answer within {wait:?}")),
        Ok(Err(e)) => Err(format!("{tool}: {e}")),
        Ok(Ok(r)) => Ok((
            r.is_error.unwrap_or(false),
            r.content
                .first()
                .and_then(|c| c.as_text())
                .map(|t| t.text.clone())
                .unwrap_or_default(),
            r.structured_content.unwrap_or(Value::Null),
        )),
    }
}

/// The revenue figures reformatted as an agent would write them ("$1.23M").
fn reformatted_rows() -> Value {
    json!([
        ["Region", "Q1", "Q2", "Q3"],
        ["EMEA", "$1.23M", "$1.46M", "$1.61M"],
        ["Americas", "$2.35M", "$2.57M", "$2.79M"],
        ["APAC", "$0.99M", "$1.10M", "$1.21M"]
    ])
}

fn audit_verify(dir: &Path) -> Value {
    let out = Command::new(BIN)
        .arg("--data-dir")
        .arg(dir)
        .args(["audit", "verify", "--json"])
        .env_remove("OFFICE_BRIDGE_DATA_DIR")
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "audit verify printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(out.status.success(), "audit verify failed: {report}");
    assert!(report["first_broken"].is_null(), "{report}");
    report
}

/// (kind, body) of every audit record, in order.
fn audit_records(dir: &Path) -> Vec<(String, Value)> {
    let conn = rusqlite::Connection::open_with_flags(
        dir.join("office-bridge.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let mut stmt = conn
        .prepare("SELECT kind, body FROM audit ORDER BY seq")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .unwrap()
        .map(|r| {
            let (kind, body) = r.unwrap();
            (kind, serde_json::from_str(&body).unwrap())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_writes_loses_no_acknowledged_write() {
    let temp = tempfile::tempdir().unwrap();
    let dir: PathBuf = temp.path().join("data");
    let mut bridge = serve(&dir, 0);
    let port = bridge.port;
    let ep = Endpoint::of(&dir, port);

    let deck_writes = Arc::new(Mutex::new(Vec::new()));
    let excel = LivePane::start(ep.clone(), "excel", "Q3.xlsx", workbook());
    let ppt = LivePane::start(
        ep.clone(),
        "powerpoint",
        "Board.pptx",
        deck(deck_writes.clone()),
    );
    excel.wait_registered(1, "Q3.xlsx").await;
    ppt.wait_registered(1, "Board.pptx").await;

    // Read before the crash: these labels must survive it.
    let agent = Arc::new(ep.mcp().await);
    let (err, text, read) = try_call(
        &agent,
        "excel_read_range",
        json!({"sheet": "Revenue", "range": "A1:D4"}),
    )
    .await
    .unwrap();
    assert!(!err, "{text}");
    let provenance = read["provenance_id"].as_str().unwrap().to_string();

    // A stream of writes from four concurrent callers; each write lands on its own slide
    // number, so its `write` record can be found by location.
    let next_slide = Arc::new(AtomicU64::new(100));
    let acknowledged = Arc::new(Mutex::new(Vec::<u64>::new()));
    let failed = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for _ in 0..4 {
        let (agent, next_slide, acknowledged, failed, stop) = (
            agent.clone(),
            next_slide.clone(),
            acknowledged.clone(),
            failed.clone(),
            stop.clone(),
        );
        writers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let slide = next_slide.fetch_add(1, Ordering::SeqCst);
                let started = Instant::now();
                // A call cut off by the kill is not failed at once by the client (rmcp
                // retries the response stream), so give up on it after a few seconds;
                // writes before the kill take milliseconds.
                match call_within(
                    &agent,
                    "ppt_add_table",
                    json!({"document": "Board.pptx", "slide": slide, "rows": reformatted_rows()}),
                    Duration::from_secs(5),
                )
                .await
                {
                    Ok((false, _, result)) if result["written"] == json!(true) => {
                        acknowledged.lock().unwrap().push(slide);
                    }
                    Ok((_, text, _)) => panic!("a write was refused before the crash: {text}"),
                    Err(e) => {
                        // Cut off by the kill: it may or may not have landed.
                        eprintln!("cut off after {:?}: {e}", started.elapsed());
                        failed.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                }
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while acknowledged.lock().unwrap().len() < 40 {
        assert!(Instant::now() < deadline, "writes are too slow");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    // SIGKILL, mid-stream.
    bridge.child.kill().unwrap(); // SIGKILL on Unix
    bridge.child.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        tokio::time::timeout(Duration::from_secs(40), w)
            .await
            .expect("writers end after the kill")
            .expect("writer did not panic");
    }
    let acknowledged: Vec<u64> = acknowledged.lock().unwrap().clone();
    let attempted = next_slide.load(Ordering::SeqCst) - 100;
    eprintln!(
        "{} writes acknowledged before the kill, {} cut off, {attempted} attempted",
        acknowledged.len(),
        failed.load(Ordering::SeqCst)
    );

    // The chain verifies straight after the crash, before the bridge touches it again.
    audit_verify(&dir);

    // Restart on the same data directory and port.
    let mut bridge = serve(&dir, port);
    assert_eq!(bridge.port, port);
    audit_verify(&dir);

    // Every acknowledged write has its `write` record; every record names a slide that was
    // at least attempted (nothing invented).
    let records = audit_records(&dir);
    let written: Vec<String> = records
        .iter()
        .filter(|(k, b)| k == "write" && b["document"] == json!("Board.pptx"))
        .map(|(_, b)| b["location"].as_str().unwrap().to_string())
        .collect();
    for slide in &acknowledged {
        let location = format!("slide {slide}");
        assert!(
            written.contains(&location),
            "write to {location} returned success but has no write record"
        );
    }
    assert!(written.len() >= acknowledged.len());
    eprintln!(
        "{} write records: {} acknowledged, {} of the cut-off calls landed before the kill",
        written.len(),
        acknowledged.len(),
        written.len() - acknowledged.len()
    );
    assert!(
        written.len() as u64 <= attempted,
        "{} write records for {attempted} attempted writes",
        written.len()
    );
    assert!(
        records.iter().any(|(k, b)| k == "read"
            && b["provenance"] == json!(provenance)
            && b["document"] == json!("Q3.xlsx")),
        "the read before the crash has its record"
    );

    // Panes reconnect and register again by themselves.
    excel.wait_registered(2, "Q3.xlsx after the restart").await;
    ppt.wait_registered(2, "Board.pptx after the restart").await;

    // The old MCP session died with the process; a new one works.
    let agent = ep.mcp().await;

    // Data read before the crash is still recognised: no read since the restart, and the
    // write of the same figures, reformatted, reports the flow from Q3.xlsx > Revenue.
    let before = deck_writes.lock().unwrap().len();
    let (err, text, result) = try_call(
        &agent,
        "ppt_add_table",
        json!({"document": "Board.pptx", "slide": 1, "rows": reformatted_rows()}),
    )
    .await
    .unwrap();
    assert!(!err, "{text}");
    assert_eq!(result["written"], json!(true), "{result}");
    let flow = result["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["source"]["name"] == json!("Q3.xlsx"))
        .unwrap_or_else(|| panic!("no flow from Q3.xlsx after the restart: {result}"));
    assert_eq!(flow["sheet"], "Revenue");
    assert_eq!(flow["strength"], "confirmed");
    assert_eq!(flow["decision"], "notify");
    assert!(
        deck_writes.lock().unwrap().len() > before,
        "the reconnected deck got the write"
    );

    // And the reconnected workbook answers reads.
    let (err, text, _) = try_call(
        &agent,
        "excel_read_range",
        json!({"sheet": "Revenue", "range": "A1:D4"}),
    )
    .await
    .unwrap();
    assert!(!err, "{text}");

    let _ = agent.cancel().await;
    excel.end();
    ppt.end();
    terminate(&mut bridge);
    let report = audit_verify(&dir);
    let after = audit_records(&dir);
    assert_eq!(report["records"], json!(after.len()));
    assert!(
        after
            .iter()
            .any(|(k, b)| k == "write" && b["location"] == json!("slide 1"))
    );
}
