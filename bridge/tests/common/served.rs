//! The real `office-bridge serve` process, for tests of what must hold across a restart:
//! started on a data directory and port, stopped with SIGTERM or SIGKILL, started again;
//! clients that reach it the way the panes and agents do.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::office::{Client, ClientImpl, Office};

pub const BIN: &str = env!("CARGO_BIN_EXE_office-bridge");

pub type Ws = tokio_tungstenite::WebSocketStream<tokio_rustls::client::TlsStream<TcpStream>>;

/// The real binary serving `dir` on `port` (0: any free port).
pub struct Served {
    pub child: Child,
    pub port: u16,
    /// What `serve` printed (its banner), line by line as it came.
    pub stdout: Arc<Mutex<Vec<String>>>,
}

impl Served {
    /// Waits (at most 10 s) for a line of the banner that `matches`.
    pub fn banner_line(&self, matches: impl Fn(&str) -> bool) -> Option<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(l) = self.stdout.lock().unwrap().iter().find(|l| matches(l)) {
                return Some(l.clone());
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// `dir` is the data directory: make it a folder of its own in a temporary one (the
/// allowed folder for the file tools goes beside it).
pub fn serve(dir: &Path, port: u16) -> Served {
    serve_with_env(dir, port, &[])
}

/// As `serve`, with extra environment variables (the `OFFICE_BRIDGE_TEST_*` settings).
pub fn serve_with_env(dir: &Path, port: u16, env: &[(&str, &str)]) -> Served {
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
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("office-bridge starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let printed = Arc::new(Mutex::new(Vec::new()));
        let lines = printed.clone();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                lines.lock().unwrap().push(line.clone());
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
            Ok(port) => {
                return Served {
                    child,
                    port,
                    stdout: printed,
                };
            }
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

pub fn terminate(served: &mut Served) {
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
pub struct Endpoint {
    pub port: Arc<AtomicU32>,
    pub ca_pem: String,
    pub token: String,
}

impl Endpoint {
    pub fn of(dir: &Path, port: u16) -> Self {
        Endpoint {
            port: Arc::new(AtomicU32::new(port.into())),
            ca_pem: std::fs::read_to_string(dir.join("tls/ca.pem")).unwrap(),
            token: std::fs::read_to_string(dir.join("token"))
                .unwrap()
                .trim()
                .to_string(),
        }
    }

    pub fn port(&self) -> u16 {
        self.port.load(Ordering::Relaxed) as u16
    }

    pub async fn ws(&self) -> anyhow::Result<Ws> {
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

    pub async fn mcp(&self) -> Client {
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
pub struct LivePane {
    pub registrations: Arc<AtomicU32>,
    /// Every request and notification the bridge sent this pane: (method, params).
    pub seen: Arc<Mutex<Vec<(String, Value)>>>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl LivePane {
    pub fn start(ep: Endpoint, app: &'static str, name: &'static str, office: Office) -> Self {
        let registrations = Arc::new(AtomicU32::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (regs, halt, log) = (registrations.clone(), stop.clone(), seen.clone());
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
                    if let Some(method) = v["method"].as_str() {
                        log.lock()
                            .unwrap()
                            .push((method.to_string(), v["params"].clone()));
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
            seen,
            stop,
            task,
        }
    }

    pub async fn wait_registered(&self, times: u32, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.registrations.load(Ordering::SeqCst) < times {
            assert!(
                Instant::now() < deadline,
                "{what}: the pane did not register (again) within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until the bridge sent this pane a `method` message that `matches`; its params.
    pub async fn wait_for(&self, method: &str, matches: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some((_, params)) = self
                .seen
                .lock()
                .unwrap()
                .iter()
                .find(|(m, p)| m == method && matches(p))
            {
                return params.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no {method} within 20 s; seen: {:?}",
                self.seen
                    .lock()
                    .unwrap()
                    .iter()
                    .map(|(m, _)| m.as_str())
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn end(self) {
        self.stop.store(true, Ordering::Relaxed);
        self.task.abort();
    }
}

/// A tool call that may fail (the bridge may be gone): (is_error, text, structured).
pub async fn try_call(
    client: &rmcp::Peer<rmcp::RoleClient>,
    tool: &str,
    args: Value,
) -> Result<(bool, String, Value), String> {
    call_within(client, tool, args, Duration::from_secs(30)).await
}

/// As `try_call`, giving up after `wait`.
pub async fn call_within(
    client: &rmcp::Peer<rmcp::RoleClient>,
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
pub fn reformatted_rows() -> Value {
    json!([
        ["Region", "Q1", "Q2", "Q3"],
        ["EMEA", "$1.23M", "$1.46M", "$1.61M"],
        ["Americas", "$2.35M", "$2.57M", "$2.79M"],
        ["APAC", "$0.99M", "$1.10M", "$1.21M"]
    ])
}

pub fn audit_verify(dir: &Path) -> Value {
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
