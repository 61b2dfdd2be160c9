//! The registry of connected documents: one session per open document, the live link to
//! its pane, and the requests in flight to it.
//!
//! A session outlives its connection for a grace period, so a pane that reconnects (after
//! a network blip or a reload) with its session id gets the same session back. Requests
//! to a pane are failed the moment its connection drops, never left to time out.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tracker::{App, DocumentRef};

use super::protocol::{RpcError, encode_notification, encode_request};
use crate::events::{BridgeEvent, EventBus};
use crate::session::SessionInfo;

/// Why a request to a pane did not produce a result.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("no such session: {0}")]
    UnknownSession(String),
    #[error(
        "the {app} pane of {document} is not connected right now (it may be reconnecting); open the add-in in that document and try again"
    )]
    NotConnected { app: App, document: String },
    #[error("the pane of {document} did not answer {method} within {}s", after.as_secs_f32())]
    Timeout {
        document: String,
        method: String,
        after: Duration,
    },
    #[error("the pane of {document} disconnected before answering {method}")]
    Disconnected { document: String, method: String },
    #[error("the pane of {document} could not run {method}: {error}")]
    Pane {
        document: String,
        method: String,
        error: RpcError,
    },
}

/// A frame for a connection's writer task.
#[derive(Debug)]
pub enum Outbound {
    Text(String),
    Ping,
    Close { code: u16, reason: String },
}

enum Reply {
    Result(Value),
    Error(RpcError),
    Disconnected,
}

#[derive(Default)]
struct Pending {
    closed: bool,
    waiting: HashMap<i64, oneshot::Sender<Reply>>,
}

/// One live WebSocket connection of a pane.
#[derive(Clone)]
pub struct Link {
    pub conn_id: u64,
    outbound: mpsc::Sender<Outbound>,
    pending: Arc<Mutex<Pending>>,
}

impl Link {
    pub fn new(conn_id: u64, outbound: mpsc::Sender<Outbound>) -> Self {
        Link {
            conn_id,
            outbound,
            pending: Arc::default(),
        }
    }

    /// Delivers a pane's response to the request waiting for it. Returns false for an
    /// unknown id (a late answer after a timeout, or a confused pane).
    pub fn resolve(&self, id: i64, outcome: Result<Value, RpcError>) -> bool {
        let sender = lock(&self.pending).waiting.remove(&id);
        match sender {
            Some(tx) => {
                let _ = tx.send(match outcome {
                    Ok(v) => Reply::Result(v),
                    Err(e) => Reply::Error(e),
                });
                true
            }
            None => false,
        }
    }

    /// Marks the link closed and fails every request in flight at once. The flag is set
    /// under the same lock that `request` inserts under, so no request can slip in after.
    pub fn fail_pending(&self) {
        let drained: Vec<_> = {
            let mut p = lock(&self.pending);
            p.closed = true;
            p.waiting.drain().map(|(_, tx)| tx).collect()
        };
        for tx in drained {
            let _ = tx.send(Reply::Disconnected);
        }
    }

    pub async fn send(&self, frame: Outbound) -> bool {
        self.outbound.send(frame).await.is_ok()
    }
}

struct Entry {
    info: SessionInfo,
    link: Option<Link>,
    disconnected_at: Option<Instant>,
}

/// Tunables of the channel; the defaults suit people, tests shorten them.
#[derive(Clone, Debug)]
pub struct ChannelConfig {
    /// Default time a pane gets to answer a request.
    pub request_timeout: Duration,
    /// How often the bridge pings a pane.
    pub heartbeat_interval: Duration,
    /// Silence after which a pane is considered dead and its connection closed.
    pub heartbeat_timeout: Duration,
    /// How long a disconnected session is kept for its pane to come back.
    pub session_grace: Duration,
    /// Largest WebSocket message accepted from a pane, checked before parsing: a larger
    /// one gets a JSON-RPC error and the connection stays up. Past twice this size the
    /// WebSocket layer stops reading and the connection is closed (1009).
    pub max_message_bytes: usize,
}

impl Default for ChannelConfig {
    fn default() -> Self {
        ChannelConfig {
            request_timeout: Duration::from_secs(30),
            heartbeat_interval: Duration::from_secs(15),
            heartbeat_timeout: Duration::from_secs(45),
            session_grace: Duration::from_secs(600),
            // Chart pictures travel base64-encoded; 16 MiB leaves room for a large one.
            max_message_bytes: 16 * 1024 * 1024,
        }
    }
}

/// What a pane sends in `register`, validated.
#[derive(Clone, Debug)]
pub struct Registration {
    pub app: App,
    pub name: String,
    pub url: String,
    pub addin_version: String,
    pub capabilities: Vec<String>,
    pub session_id: Option<String>,
    /// The pane runs on the Office.js stand-in (the playground), not in Office: its
    /// documents are simulated.
    pub simulated: bool,
}

/// The outcome of attaching a connection to a session.
#[derive(Debug)]
pub struct Attached {
    pub info: SessionInfo,
    pub resumed: bool,
}

pub struct Registry {
    config: ChannelConfig,
    sessions: Mutex<HashMap<String, Entry>>,
    next_request_id: AtomicI64,
    next_conn_id: AtomicU64,
    events: EventBus,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave these maps half-updated in a way that
    // matters more than stopping the bridge would, so poisoning is ignored.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Registry {
    pub fn new(config: ChannelConfig, events: EventBus) -> Self {
        Registry {
            config,
            sessions: Mutex::new(HashMap::new()),
            next_request_id: AtomicI64::new(1),
            next_conn_id: AtomicU64::new(1),
            events,
        }
    }

    pub fn config(&self) -> &ChannelConfig {
        &self.config
    }

    pub fn next_conn_id(&self) -> u64 {
        self.next_conn_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Binds a registered connection to its session: the one named by `session_id` when
    /// it is still known and of the same app, else the session already open for the same
    /// document, else a new one. A connection the session had before is superseded: it
    /// is told why and closed, and its requests in flight fail.
    pub fn attach(&self, reg: Registration, link: Link) -> Attached {
        let now = tracker::unix_millis_now();
        let document = DocumentRef::new(reg.app, reg.name.clone(), reg.url.clone());
        let (attached, superseded) = {
            let mut sessions = lock(&self.sessions);
            self.purge_expired(&mut sessions);
            let by_id = reg
                .session_id
                .as_ref()
                .filter(|id| sessions.get(*id).is_some_and(|e| e.info.app == reg.app))
                .cloned();
            let by_document = || {
                sessions
                    .iter()
                    .find(|(_, e)| e.info.document.id == document.id)
                    .map(|(id, _)| id.clone())
            };
            let existing = by_id.or_else(by_document);
            let resumed = existing.is_some();
            let session_id =
                existing.unwrap_or_else(|| format!("ses_{}", uuid::Uuid::new_v4().simple()));
            let info = SessionInfo {
                session_id: session_id.clone(),
                app: reg.app,
                document,
                addin_version: reg.addin_version,
                capabilities: reg.capabilities,
                connected_since: now,
                connected: true,
                simulated: reg.simulated,
            };
            let old = sessions.insert(
                session_id,
                Entry {
                    info: info.clone(),
                    link: Some(link),
                    disconnected_at: None,
                },
            );
            (Attached { info, resumed }, old.and_then(|e| e.link))
        };
        if let Some(old) = superseded {
            old.fail_pending();
            let reason = "superseded by a newer connection of the same document".to_string();
            tokio::spawn(async move {
                let _ = old.send(Outbound::Close { code: 4001, reason }).await;
            });
        }
        self.events.publish(BridgeEvent::AddinConnected {
            session: attached.info.clone(),
            resumed: attached.resumed,
        });
        attached
    }

    /// Called when a connection ends. Only the session's current connection detaches it,
    /// so a superseded connection closing late does not mark a live session down.
    pub fn detach(&self, session_id: &str, conn_id: u64, reason: &str) {
        let info = {
            let mut sessions = lock(&self.sessions);
            match sessions.get_mut(session_id) {
                Some(e) if e.link.as_ref().is_some_and(|l| l.conn_id == conn_id) => {
                    e.link = None;
                    e.disconnected_at = Some(Instant::now());
                    e.info.connected = false;
                    Some(e.info.clone())
                }
                _ => None,
            }
        };
        if let Some(session) = info {
            self.events.publish(BridgeEvent::AddinDisconnected {
                session,
                reason: reason.to_string(),
            });
        }
    }

    fn purge_expired(&self, sessions: &mut HashMap<String, Entry>) {
        let grace = self.config.session_grace;
        sessions.retain(|_, e| e.disconnected_at.is_none_or(|t| t.elapsed() < grace));
    }

    /// Every known session, connected first, then by app and document name.
    pub fn list(&self) -> Vec<SessionInfo> {
        let mut sessions = lock(&self.sessions);
        self.purge_expired(&mut sessions);
        let mut out: Vec<SessionInfo> = sessions.values().map(|e| e.info.clone()).collect();
        out.sort_by(|a, b| {
            (!a.connected, a.app, &a.document.name).cmp(&(!b.connected, b.app, &b.document.name))
        });
        out
    }

    /// The sessions `keep` accepts, cloning only those: tool calls look up one document
    /// among many on every call.
    pub fn matching(&self, keep: impl Fn(&SessionInfo) -> bool) -> Vec<SessionInfo> {
        let mut sessions = lock(&self.sessions);
        self.purge_expired(&mut sessions);
        sessions
            .values()
            .filter(|e| keep(&e.info))
            .map(|e| e.info.clone())
            .collect()
    }

    pub fn get(&self, session_id: &str) -> Option<SessionInfo> {
        lock(&self.sessions).get(session_id).map(|e| e.info.clone())
    }

    /// Sends a request to a session's pane and waits for its answer, at most `timeout`
    /// (the configured default when None).
    pub async fn request(
        &self,
        session_id: &str,
        method: &str,
        params: Value,
        timeout: Option<Duration>,
    ) -> Result<Value, ChannelError> {
        let (link, document) = {
            let sessions = lock(&self.sessions);
            let entry = sessions
                .get(session_id)
                .ok_or_else(|| ChannelError::UnknownSession(session_id.to_string()))?;
            let document = entry.info.document.name.clone();
            match &entry.link {
                Some(link) => (link.clone(), document),
                None => {
                    return Err(ChannelError::NotConnected {
                        app: entry.info.app,
                        document,
                    });
                }
            }
        };
        let id = self.next_request_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        {
            let mut pending = lock(&link.pending);
            if pending.closed {
                return Err(ChannelError::Disconnected {
                    document,
                    method: method.to_string(),
                });
            }
            pending.waiting.insert(id, tx);
        }
        let after = timeout.unwrap_or(self.config.request_timeout);
        let frame = Outbound::Text(encode_request(id, method, &params));
        let exchange = async {
            if !link.send(frame).await {
                return Reply::Disconnected;
            }
            rx.await.unwrap_or(Reply::Disconnected)
        };
        let reply = match tokio::time::timeout(after, exchange).await {
            Ok(reply) => reply,
            Err(_) => {
                lock(&link.pending).waiting.remove(&id);
                return Err(ChannelError::Timeout {
                    document,
                    method: method.to_string(),
                    after,
                });
            }
        };
        match reply {
            Reply::Result(v) => Ok(v),
            Reply::Error(error) => Err(ChannelError::Pane {
                document,
                method: method.to_string(),
                error,
            }),
            Reply::Disconnected => Err(ChannelError::Disconnected {
                document,
                method: method.to_string(),
            }),
        }
    }

    /// Sends a notification to one session's pane. Returns false when the pane is not
    /// connected (a notification is not queued for a pane that is away).
    pub async fn notify(&self, session_id: &str, method: &str, params: &Value) -> bool {
        let link = lock(&self.sessions)
            .get(session_id)
            .and_then(|e| e.link.clone());
        match link {
            Some(link) => {
                link.send(Outbound::Text(encode_notification(method, params)))
                    .await
            }
            None => false,
        }
    }

    /// Sends a notification to every connected pane of an app (or of all apps).
    pub async fn notify_all(&self, app: Option<App>, method: &str, params: &Value) -> usize {
        let links: Vec<Link> = lock(&self.sessions)
            .values()
            .filter(|e| app.is_none_or(|a| e.info.app == a))
            .filter_map(|e| e.link.clone())
            .collect();
        let frame = encode_notification(method, params);
        let mut sent = 0;
        for link in links {
            if link.send(Outbound::Text(frame.clone())).await {
                sent += 1;
            }
        }
        sent
    }

    /// Closes every pane connection (bridge shutdown): panes are told to reconnect later.
    pub async fn close_all(&self, code: u16, reason: &str) {
        let links: Vec<Link> = lock(&self.sessions)
            .values()
            .filter_map(|e| e.link.clone())
            .collect();
        for link in links {
            link.fail_pending();
            let _ = link
                .send(Outbound::Close {
                    code,
                    reason: reason.to_string(),
                })
                .await;
        }
    }
}
