//! Simulated task panes: real WebSocket connections over TLS to the bridge's add-in
//! channel, one tokio task each. Excel panes answer `excel.readRange` with their generated
//! table; PowerPoint panes accept `powerpoint.addTable` and note the call's tag. Every
//! request id the bridge sends is counted, across all panes, so a lost or repeated request
//! shows up; a pane can also measure a bare round trip through the bridge (`ping`).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::data;

pub type Ws = WebSocketStream<TlsStream<TcpStream>>;

/// Where the bridge is and what to trust.
#[derive(Clone)]
pub struct Endpoint {
    pub port: u16,
    pub token: String,
    pub tls: Arc<rustls::ClientConfig>,
}

impl Endpoint {
    pub fn new(port: u16, ca_pem: String, token: String) -> Result<Self> {
        let tls = certs::client_config_trusting(&ca_pem).context("the bridge's CA")?;
        Ok(Endpoint {
            port,
            token,
            tls: Arc::new(tls),
        })
    }

    pub fn origin(&self) -> String {
        format!("https://localhost:{}", self.port)
    }

    /// An HTTPS client trusting only the bridge's CA (the agents' and the probe's).
    pub fn https_client(&self) -> Result<reqwest::Client> {
        reqwest::Client::builder()
            .use_preconfigured_tls((*self.tls).clone())
            .build()
            .context("building the HTTPS client")
    }

    /// Opens the add-in channel the way a pane does (Origin: the bridge's own).
    pub async fn ws(&self) -> Result<Ws> {
        let tcp = TcpStream::connect(("127.0.0.1", self.port))
            .await
            .context("connecting to the bridge")?;
        tcp.set_nodelay(true)?;
        let name = rustls::pki_types::ServerName::try_from("localhost")?;
        let tls = TlsConnector::from(self.tls.clone())
            .connect(name, tcp)
            .await
            .context("TLS handshake")?;
        let mut req = format!("wss://localhost:{}/addin/ws", self.port).into_client_request()?;
        req.headers_mut()
            .insert("origin", self.origin().parse().expect("ASCII origin"));
        let (ws, _) = tokio_tungstenite::client_async(req, tls)
            .await
            .context("WebSocket handshake")?;
        Ok(ws)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum App {
    Excel,
    Powerpoint,
}

/// What one deck's pane saw of one write, by its tag.
#[derive(Clone, Copy, Debug)]
pub struct WriteSeen {
    pub count: u32,
    pub deck: usize,
    pub arrived: Instant,
    pub answered: Instant,
}

/// Shared by every pane: the bridge's request ids (unique across the bridge) and the
/// writes' tags.
#[derive(Default)]
pub struct Seen {
    ids: Mutex<HashSet<i64>>,
    pub duplicate_ids: AtomicU64,
    pub odd_ids: AtomicU64,
    writes: Mutex<HashMap<String, WriteSeen>>,
}

impl Seen {
    fn request_id(&self, id: &Value) {
        match id.as_i64() {
            Some(n) => {
                if !self.ids.lock().unwrap().insert(n) {
                    self.duplicate_ids.fetch_add(1, Ordering::Relaxed);
                }
            }
            None => {
                self.odd_ids.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    pub fn ids_seen(&self) -> usize {
        self.ids.lock().unwrap().len()
    }

    pub fn write(&self, tag: &str) -> Option<WriteSeen> {
        self.writes.lock().unwrap().get(tag).copied()
    }

    pub fn writes_seen(&self) -> Vec<(String, WriteSeen)> {
        self.writes
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }
}

/// Per-pane counts of what the bridge sent.
#[derive(Default)]
pub struct PaneStats {
    pub read_range: AtomicU64,
    pub add_table: AtomicU64,
    pub get_properties: AtomicU64,
    pub other_requests: AtomicU64,
    pub flow_notices: AtomicU64,
    pub approval_requests: AtomicU64,
    pub other_notices: AtomicU64,
    /// The connection ended before the tool closed it.
    pub dropped: AtomicBool,
    pub drop_reason: Mutex<Option<String>>,
}

enum Cmd {
    Ping(oneshot::Sender<Duration>),
    Close(oneshot::Sender<()>),
}

pub struct Pane {
    pub index: usize,
    pub app: App,
    pub stats: Arc<PaneStats>,
    cmd: mpsc::UnboundedSender<Cmd>,
    task: tokio::task::JoinHandle<()>,
}

impl Pane {
    /// Connects, registers, and starts answering the bridge.
    pub async fn open(ep: &Endpoint, app: App, index: usize, seen: Arc<Seen>) -> Result<Pane> {
        let name = match app {
            App::Excel => data::workbook_name(index),
            App::Powerpoint => data::deck_name(index),
        };
        let mut ws = ep.ws().await?;
        let register = json!({"jsonrpc": "2.0", "id": "register", "method": "register", "params": {
            "app": if app == App::Excel { "excel" } else { "powerpoint" },
            "document": {"name": name, "url": format!("https://contoso.example/load/{name}")},
            "addin_version": "load",
            "capabilities": [],
        }});
        ws.send(Message::Text(register.to_string().into())).await?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let msg = tokio::time::timeout(left, ws.next())
                .await
                .map_err(|_| anyhow!("{name}: no answer to register within 30 s"))?
                .ok_or_else(|| anyhow!("{name}: closed during register"))??;
            let Message::Text(text) = msg else { continue };
            let v: Value = serde_json::from_str(text.as_str())?;
            if v["id"] == json!("register") {
                if let Some(e) = v.get("error") {
                    bail!("{name}: register refused: {e}");
                }
                break;
            }
        }
        let stats = Arc::new(PaneStats::default());
        let (cmd, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(ws, app, index, name, stats.clone(), seen, rx));
        Ok(Pane {
            index,
            app,
            stats,
            cmd,
            task,
        })
    }

    /// One bare round trip through the bridge (pane -> bridge `ping` -> pane), on this
    /// pane's connection, in line with the requests it is answering.
    pub async fn ping(&self) -> Option<Duration> {
        let (tx, rx) = oneshot::channel();
        self.cmd.send(Cmd::Ping(tx)).ok()?;
        tokio::time::timeout(Duration::from_secs(30), rx)
            .await
            .ok()?
            .ok()
    }

    /// Closes the connection normally (the pane "closes the document").
    pub async fn close(&self) {
        let (tx, rx) = oneshot::channel();
        if self.cmd.send(Cmd::Close(tx)).is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(5), rx).await;
        }
        self.task.abort();
    }
}

fn reply(id: &Value, result: &str) -> String {
    format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{result}}}"#)
}

async fn run(
    mut ws: Ws,
    app: App,
    index: usize,
    name: String,
    stats: Arc<PaneStats>,
    seen: Arc<Seen>,
    mut cmds: mpsc::UnboundedReceiver<Cmd>,
) {
    // The usual answer, serialised once.
    let table = data::read_answer(index, data::RANGE).to_string();
    let mut pings: HashMap<String, (Instant, oneshot::Sender<Duration>)> = HashMap::new();
    let mut next_ping = 0u64;
    let mut shapes = 0u64;
    let dropped = |why: String| {
        stats.dropped.store(true, Ordering::Relaxed);
        *stats.drop_reason.lock().unwrap() = Some(why);
    };
    loop {
        tokio::select! {
            msg = ws.next() => {
                let text = match msg {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(frame))) => {
                        dropped(format!("{name}: the bridge closed the connection ({frame:?})"));
                        return;
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => { dropped(format!("{name}: {e}")); return; }
                    None => { dropped(format!("{name}: connection ended")); return; }
                };
                let arrived = Instant::now();
                let Ok(v) = serde_json::from_str::<Value>(text.as_str()) else {
                    dropped(format!("{name}: a frame that is not JSON"));
                    return;
                };
                let Some(method) = v.get("method").and_then(Value::as_str) else {
                    // A response: to one of our pings.
                    if let Some(id) = v.get("id").and_then(Value::as_str)
                        && let Some((start, tx)) = pings.remove(id)
                    {
                        let _ = tx.send(start.elapsed());
                    }
                    continue;
                };
                let Some(id) = v.get("id") else {
                    match method {
                        "flow.notice" => &stats.flow_notices,
                        "approval.request" => &stats.approval_requests,
                        _ => &stats.other_notices,
                    }
                    .fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                seen.request_id(id);
                let params = &v["params"];
                let mut tag = None;
                let frame = match (app, method) {
                    (App::Excel, "excel.readRange") => {
                        stats.read_range.fetch_add(1, Ordering::Relaxed);
                        let address = params["address"].as_str().unwrap_or_default();
                        if address == data::RANGE {
                            reply(id, &table)
                        } else {
                            reply(id, &data::read_answer(index, address).to_string())
                        }
                    }
                    // Asked by the bridge when a pane registers: the document's label.
                    (App::Excel, "excel.getProperties")
                    | (App::Powerpoint, "powerpoint.getProperties") => {
                        stats.get_properties.fetch_add(1, Ordering::Relaxed);
                        reply(id, &json!({"name": name, "url": "", "custom": {}}).to_string())
                    }
                    (App::Powerpoint, "powerpoint.addTable") => {
                        stats.add_table.fetch_add(1, Ordering::Relaxed);
                        tag = params["rows"][0][0].as_str().map(str::to_string);
                        shapes += 1;
                        reply(id, &json!({"shape_id": shapes.to_string()}).to_string())
                    }
                    (_, other) => {
                        stats.other_requests.fetch_add(1, Ordering::Relaxed);
                        json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": format!("the load tool's pane does not do {other}")}}).to_string()
                    }
                };
                if let Err(e) = ws.send(Message::Text(frame.into())).await {
                    dropped(format!("{name}: {e}"));
                    return;
                }
                if let Some(tag) = tag {
                    let answered = Instant::now();
                    seen.writes
                        .lock()
                        .unwrap()
                        .entry(tag)
                        .and_modify(|w| w.count += 1)
                        .or_insert(WriteSeen { count: 1, deck: index, arrived, answered });
                }
            }
            cmd = cmds.recv() => match cmd {
                Some(Cmd::Ping(tx)) => {
                    next_ping += 1;
                    let id = format!("ping-{next_ping}");
                    let frame = json!({"jsonrpc": "2.0", "id": id, "method": "ping", "params": {}});
                    pings.insert(id, (Instant::now(), tx));
                    if let Err(e) = ws.send(Message::Text(frame.to_string().into())).await {
                        dropped(format!("{name}: {e}"));
                        return;
                    }
                }
                Some(Cmd::Close(done)) => {
                    let _ = ws.close(None).await;
                    let _ = done.send(());
                    return;
                }
                None => return,
            },
        }
    }
}
