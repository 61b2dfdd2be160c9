//! Test harness: the real bridge on an ephemeral loopback port, real TLS trusting only the
//! CA the bridge generated, real WebSocket panes.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use office_bridge::addin::registry::ChannelConfig;
use office_bridge::datadir::DataDir;
use office_bridge::server::{AppState, Bridge, ServeOptions};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message};

pub mod office;
#[cfg(unix)]
pub mod served;

pub struct TestBridge {
    pub addr: SocketAddr,
    pub ca_pem: String,
    /// The agent's token (`/mcp`, the desktop API's reads).
    pub token: String,
    /// The desktop credential (the desktop API, answering approvals).
    pub desktop_token: String,
    pub state: AppState,
    pub data_dir: tempfile::TempDir,
    /// The one folder the file tools may use: outside the data directory, which they never
    /// touch.
    pub files: std::path::PathBuf,
    _files_dir: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

pub fn quick_channel() -> ChannelConfig {
    ChannelConfig {
        request_timeout: Duration::from_secs(5),
        heartbeat_interval: Duration::from_millis(200),
        heartbeat_timeout: Duration::from_secs(3),
        session_grace: Duration::from_secs(60),
        max_message_bytes: 1024 * 1024,
    }
}

impl TestBridge {
    pub async fn start() -> Self {
        Self::start_with(quick_channel()).await
    }

    pub async fn start_with(channel: ChannelConfig) -> Self {
        let dir = tempfile::tempdir().unwrap();
        Self::start_in(dir, channel).await
    }

    pub async fn start_in(dir: tempfile::TempDir, channel: ChannelConfig) -> Self {
        Self::start_configured(dir, |o| o.channel = channel).await
    }

    /// Starts with test defaults (free port, no OS-wide policy file, a folder of its own
    /// beside the data dir as the one allowed folder), then `configure`.
    pub async fn start_configured(
        dir: tempfile::TempDir,
        configure: impl FnOnce(&mut ServeOptions),
    ) -> Self {
        let mut options = ServeOptions::new(DataDir::at(dir.path()));
        options.port = 0;
        options.channel = quick_channel();
        options.policy_path = dir.path().join("policy.json");
        let files_dir = tempfile::tempdir().unwrap();
        let files = files_dir.path().to_path_buf();
        options.allow_dirs = vec![files.clone()];
        configure(&mut options);
        let bridge = Bridge::bind(options).await.expect("bridge binds");
        let addr = bridge.local_addr();
        let ca_pem = bridge.certificates().ca_pem.clone();
        let state = bridge.state().clone();
        let token = state.token.current().expose().to_string();
        let desktop_token = state.desktop_token.current().expose().to_string();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(bridge.serve(async move {
            let _ = rx.await;
        }));
        TestBridge {
            addr,
            ca_pem,
            token,
            desktop_token,
            state,
            data_dir: dir,
            files,
            _files_dir: files_dir,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn origin(&self) -> String {
        format!("https://localhost:{}", self.port())
    }

    /// Stops the bridge and waits for `serve` to return; hands back the data dir.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("serve returns after shutdown")
                .expect("serve task did not panic")
                .expect("serve returned Ok");
        }
        let dir = tempfile::tempdir().unwrap();
        std::mem::replace(&mut self.data_dir, dir)
    }

    pub async fn tls(&self, ca_pem: &str) -> std::io::Result<TlsStream<TcpStream>> {
        let config = certs::client_config_trusting(ca_pem).expect("client config");
        let connector = TlsConnector::from(Arc::new(config));
        let tcp = TcpStream::connect(self.addr).await?;
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        connector.connect(name, tcp).await
    }

    /// One HTTPS GET over a fresh TLS connection (HTTP/1.1), with extra headers.
    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        let tls = self.tls(&self.ca_pem).await.expect("TLS handshake");
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .expect("HTTP handshake");
        tokio::spawn(conn);
        let mut req = hyper::Request::get(path);
        let mut has_host = false;
        for (k, v) in headers {
            has_host |= k.eq_ignore_ascii_case("host");
            req = req.header(*k, *v);
        }
        if !has_host {
            req = req.header("host", format!("localhost:{}", self.port()));
        }
        let res = sender
            .send_request(req.body(Empty::<Bytes>::new()).unwrap())
            .await
            .expect("response");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        Response {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    /// The agent's token as an Authorization header value.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.token)
    }

    /// The desktop credential as an Authorization header value.
    pub fn desktop_bearer(&self) -> String {
        format!("Bearer {}", self.desktop_token)
    }

    /// Opens the add-in channel with the given Origin header (None: no Origin at all).
    pub async fn ws(
        &self,
        origin: Option<&str>,
    ) -> Result<WebSocketStream<TlsStream<TcpStream>>, tungstenite::Error> {
        let tls = self.tls(&self.ca_pem).await.expect("TLS handshake");
        let mut req = format!("wss://localhost:{}/addin/ws", self.port())
            .into_client_request()
            .unwrap();
        if let Some(o) = origin {
            req.headers_mut().insert("origin", o.parse().unwrap());
        }
        tokio_tungstenite::client_async(req, tls)
            .await
            .map(|(ws, _)| ws)
    }

    /// The bridge still routes a request to the pane registered as `name`, and its answer
    /// back: what the abuse tests check after each probe.
    pub async fn assert_pane_serves(&self, pane: &mut Pane, name: &str) {
        let sid = self
            .state
            .registry
            .list()
            .into_iter()
            .find(|s| s.document.name == name)
            .unwrap_or_else(|| panic!("{name} is registered"))
            .session_id;
        let registry = self.state.registry.clone();
        let asked = tokio::spawn(async move {
            registry
                .request(&sid, "excel.listSheets", json!({}), None)
                .await
        });
        let (id, _, _) = pane.next_request().await;
        pane.respond(&id, json!({"sheets": []})).await;
        assert!(asked.await.unwrap().is_ok());
    }

    pub async fn pane(&self, app: &str, name: &str) -> Pane {
        self.pane_with(app, name, None).await
    }

    pub async fn pane_with(&self, app: &str, name: &str, session_id: Option<&str>) -> Pane {
        let ws = self.ws(Some(&self.origin())).await.expect("pane connects");
        let mut pane = Pane::new(ws);
        let result = pane
            .call(
                "register",
                json!({
                    "app": app,
                    "document": {"name": name, "url": format!("https://contoso.example/{name}")},
                    "addin_version": "test",
                    "capabilities": [],
                    "session_id": session_id,
                }),
            )
            .await
            .expect("register succeeds");
        assert!(result["session_id"].as_str().is_some(), "{result}");
        pane
    }
}

pub struct Response {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: String,
}

/// A simulated task pane speaking JSON-RPC over a real WebSocket.
pub struct Pane {
    pub ws: WebSocketStream<TlsStream<TcpStream>>,
    next_id: i64,
}

pub const WAIT: Duration = Duration::from_secs(10);

impl Pane {
    pub fn new(ws: WebSocketStream<TlsStream<TcpStream>>) -> Self {
        Pane { ws, next_id: 1 }
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws
            .send(Message::Text(text.into()))
            .await
            .expect("send");
    }

    /// Next JSON message (skipping pings); None when the connection closed. The bridge's
    /// question for the document's properties, asked after every `register`, is answered
    /// here as a current Office host without a sensitivity label would answer it.
    pub async fn next_json(&mut self) -> Option<Value> {
        loop {
            let msg = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("a message within the wait")?;
            match msg {
                Ok(Message::Text(t)) => {
                    let v: Value = serde_json::from_str(t.as_str()).expect("JSON");
                    if v["method"]
                        .as_str()
                        .is_some_and(|m| m.ends_with(".getProperties"))
                        && v.get("id").is_some()
                    {
                        let id = v["id"].clone();
                        self.respond(&id, json!({"custom": {}})).await;
                        continue;
                    }
                    return Some(v);
                }
                Ok(Message::Ping(_) | Message::Pong(_)) => continue,
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(other) => panic!("unexpected frame {other:?}"),
            }
        }
    }

    /// Waits for the close frame and returns its code.
    pub async fn close_code(&mut self) -> Option<u16> {
        loop {
            let msg = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("close within the wait");
            match msg {
                Some(Ok(Message::Close(Some(CloseFrame { code, .. })))) => {
                    return Some(code.into());
                }
                Some(Ok(Message::Close(None))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Calls a bridge method and returns its result (or the JSON-RPC error object).
    pub async fn call(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        let id = self.next_id;
        self.next_id += 1;
        self.send_text(
            &json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string(),
        )
        .await;
        loop {
            let msg = self.next_json().await.expect("connection open");
            if msg["id"] == json!(id) {
                return match msg.get("error") {
                    Some(e) => Err(e.clone()),
                    None => Ok(msg["result"].clone()),
                };
            }
        }
    }

    /// Waits for the next request from the bridge, returns (id, method, params).
    pub async fn next_request(&mut self) -> (Value, String, Value) {
        loop {
            let msg = self.next_json().await.expect("connection open");
            if msg.get("method").is_some() && msg.get("id").is_some() {
                return (
                    msg["id"].clone(),
                    msg["method"].as_str().unwrap().to_string(),
                    msg["params"].clone(),
                );
            }
        }
    }

    pub async fn respond(&mut self, id: &Value, result: Value) {
        self.send_text(&json!({"jsonrpc": "2.0", "id": id, "result": result}).to_string())
            .await;
    }
}

/// (kind, body) of every audit record in the store of the data directory `dir`, in order.
pub fn audit_records(dir: &std::path::Path) -> Vec<(String, Value)> {
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
