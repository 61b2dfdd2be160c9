//! One pane's WebSocket connection: registration, the read loop, the writer task,
//! heartbeats, and clean failure of everything in flight when the pane goes away.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use tracker::App;

use super::PanePolicy;
use super::pane_methods::GatePaneMethods;
use super::protocol::{self, Incoming, RpcError, RpcId, codes};
use super::registry::{Link, Outbound, Registration, Registry};
use crate::session::SessionInfo;

/// Everything a connection needs from the bridge.
#[derive(Clone)]
pub struct ChannelContext {
    pub registry: Arc<Registry>,
    /// The pane -> bridge requests beyond `register` and `ping` (approvals, labels, flows);
    /// each runs on its own task so a slow one never stalls the connection's read loop.
    pub handler: Arc<GatePaneMethods>,
    pub policy: watch::Receiver<PanePolicy>,
    /// Whether panes on the Office.js stand-in may register (`serve --playground`).
    pub playground: bool,
}

/// Close code sent to every pane when the bridge shuts down.
pub const CLOSE_GOING_AWAY: u16 = 1001;
const CLOSE_TOO_BIG: u16 = 1009;
const CLOSE_DEAD: u16 = 1011;
/// Application close code: the administrator disabled this add-in.
pub const CLOSE_DISABLED: u16 = 4003;
/// Application close code: a pane on the stand-in while the playground is off.
pub const CLOSE_PLAYGROUND_OFF: u16 = 4004;

/// Serves one pane connection until it closes.
pub async fn serve_connection(socket: WebSocket, ctx: ChannelContext) {
    let (mut sink, mut stream) = socket.split();
    let (out_tx, mut out_rx) = mpsc::channel::<Outbound>(256);
    let writer = tokio::spawn(async move {
        while let Some(frame) = out_rx.recv().await {
            let message = match frame {
                Outbound::Text(t) => Message::Text(t.into()),
                Outbound::Ping => Message::Ping(Default::default()),
                Outbound::Close { code, reason } => {
                    let _ = sink
                        .send(Message::Close(Some(CloseFrame {
                            code,
                            reason: reason.into(),
                        })))
                        .await;
                    break;
                }
            };
            if sink.send(message).await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });

    let conn_id = ctx.registry.next_conn_id();
    let link = Link::new(conn_id, out_tx.clone());
    let mut conn = Connection {
        ctx: ctx.clone(),
        link: link.clone(),
        session: None,
        out: out_tx.clone(),
    };
    let config = ctx.registry.config().clone();
    let mut policy = ctx.policy.clone();
    let mut heartbeat = tokio::time::interval(config.heartbeat_interval);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_seen = Instant::now();

    let reason = loop {
        tokio::select! {
            frame = stream.next() => match frame {
                None => break "connection closed".to_string(),
                Some(Err(e)) => {
                    let text = e.to_string();
                    // Past the hard limit (twice the soft one) tungstenite stops reading
                    // the message as a capacity error: tell the pane why and drop it. The
                    // close frame may be lost if the rest of the message is still arriving.
                    let lower = text.to_lowercase();
                    if lower.contains("space limit exceeded") || lower.contains("too long") || lower.contains("capacity") {
                        let _ = out_tx.send(Outbound::Close {
                            code: CLOSE_TOO_BIG,
                            reason: format!("message larger than {} bytes", config.max_message_bytes),
                        }).await;
                        break format!("message too big: {text}");
                    }
                    break format!("connection error: {text}");
                }
                Some(Ok(message)) => {
                    last_seen = Instant::now();
                    match message {
                        Message::Text(text) if text.len() > config.max_message_bytes => {
                            conn.reply_error(None, RpcError::new(
                                codes::INVALID_REQUEST,
                                format!("message of {} bytes is over the limit of {} bytes; it was not read", text.len(), config.max_message_bytes),
                            )).await;
                        }
                        Message::Text(text) => {
                            if let Some(close) = conn.on_text(text.as_str()).await {
                                let _ = out_tx.send(close).await;
                                break "closed by the bridge".to_string();
                            }
                        }
                        Message::Binary(_) => {
                            conn.reply_error(None, RpcError::new(codes::INVALID_REQUEST, "binary frames are not supported: send JSON-RPC as text")).await;
                        }
                        Message::Close(_) => break "closed by the pane".to_string(),
                        Message::Ping(_) | Message::Pong(_) => {}
                    }
                }
            },
            _ = heartbeat.tick() => {
                if last_seen.elapsed() > config.heartbeat_timeout {
                    let _ = out_tx.send(Outbound::Close {
                        code: CLOSE_DEAD,
                        reason: "no heartbeat from the pane".into(),
                    }).await;
                    break format!("no heartbeat for {}s", last_seen.elapsed().as_secs());
                }
                let _ = out_tx.send(Outbound::Ping).await;
            },
            changed = policy.changed() => {
                if changed.is_err() {
                    continue;
                }
                let snapshot = policy.borrow_and_update().clone();
                if let Some(close) = conn.on_policy(&snapshot).await {
                    let _ = out_tx.send(close).await;
                    break "add-in disabled by the administrator".to_string();
                }
            }
        }
    };

    link.fail_pending();
    if let Some(session) = &conn.session {
        tracing::info!(session = %session.session_id, app = %session.app, %reason, "pane disconnected");
        ctx.registry.detach(&session.session_id, conn_id, &reason);
    } else {
        tracing::debug!(%reason, "unregistered connection ended");
    }
    drop(conn);
    drop(out_tx);
    // The writer ends once every sender is gone; give a close frame a moment to leave.
    let _ = tokio::time::timeout(Duration::from_secs(2), writer).await;
}

struct Connection {
    ctx: ChannelContext,
    link: Link,
    session: Option<SessionInfo>,
    out: mpsc::Sender<Outbound>,
}

impl Connection {
    async fn send_text(&self, text: String) {
        let _ = self.out.send(Outbound::Text(text)).await;
    }

    async fn reply_error(&self, id: Option<&RpcId>, error: RpcError) {
        self.send_text(protocol::encode_error(id, &error)).await;
    }

    /// Handles one text frame; returns a close frame when the connection must end.
    async fn on_text(&mut self, text: &str) -> Option<Outbound> {
        match protocol::decode(text) {
            Err(e) => {
                self.reply_error(e.id.as_ref(), e.error).await;
                None
            }
            Ok(Incoming::Response { id, outcome }) => {
                let known = match id {
                    RpcId::Number(n) => self.link.resolve(n, outcome),
                    RpcId::Text(_) => false,
                };
                if !known {
                    tracing::debug!("response to an unknown or expired request ignored");
                }
                None
            }
            Ok(Incoming::Request { id, method, params }) => {
                self.on_request(Some(id), method, params).await
            }
            Ok(Incoming::Notification { method, params }) => {
                self.on_request(None, method, params).await
            }
        }
    }

    async fn on_request(
        &mut self,
        id: Option<RpcId>,
        method: String,
        params: Value,
    ) -> Option<Outbound> {
        if method == "register" {
            return self.on_register(id, params).await;
        }
        let Some(session) = self.session.clone() else {
            if id.is_some() {
                self.reply_error(
                    id.as_ref(),
                    RpcError::new(codes::NOT_REGISTERED, "call register first"),
                )
                .await;
            }
            return None;
        };
        if method == "ping" {
            if let Some(id) = &id {
                let now = time::OffsetDateTime::now_utc().unix_timestamp();
                self.send_text(protocol::encode_result(id, &json!({"pong": now})))
                    .await;
            }
            return None;
        }
        let handler = self.ctx.handler.clone();
        let out = self.out.clone();
        tokio::spawn(async move {
            let outcome = handler.handle(session, method, params).await;
            if let Some(id) = id {
                let frame = match outcome {
                    Ok(v) => protocol::encode_result(&id, &v),
                    Err(e) => protocol::encode_error(Some(&id), &e),
                };
                let _ = out.send(Outbound::Text(frame)).await;
            }
        });
        None
    }

    async fn on_register(&mut self, id: Option<RpcId>, params: Value) -> Option<Outbound> {
        let Some(id) = id else {
            // A register notification cannot be answered; ignore it as the spec says.
            return None;
        };
        if self.session.is_some() {
            self.reply_error(
                Some(&id),
                RpcError::new(
                    codes::ALREADY_REGISTERED,
                    "this connection is already registered; open a new connection for another document",
                ),
            )
            .await;
            return None;
        }
        let registration = match parse_registration(&params) {
            Ok(r) => r,
            Err(e) => {
                self.reply_error(Some(&id), e).await;
                return None;
            }
        };
        // Any web page can open a pane's URL with ?standin=1: simulated documents would
        // then be open documents the agent reads and writes. Only when the person started
        // the bridge for it.
        if registration.simulated && !self.ctx.playground {
            tracing::warn!(app = %registration.app, "refused a pane on the Office.js stand-in: the playground is off");
            let error = RpcError::new(
                codes::PLAYGROUND_OFF,
                "the playground is off: start office-bridge with `office-bridge serve --playground` to try the panes on simulated documents",
            );
            self.reply_error(Some(&id), error).await;
            return Some(Outbound::Close {
                code: CLOSE_PLAYGROUND_OFF,
                reason: "the playground is off".into(),
            });
        }
        let policy = self.ctx.policy.borrow().clone();
        if !policy.addin_enabled(registration.app) {
            let error = RpcError::new(
                codes::ADDIN_DISABLED,
                format!(
                    "the {} add-in is disabled by your administrator",
                    registration.app.title()
                ),
            )
            .with_data(json!({"policy": policy.for_app(registration.app)}));
            self.reply_error(Some(&id), error).await;
            return Some(Outbound::Close {
                code: CLOSE_DISABLED,
                reason: "disabled by your administrator".into(),
            });
        }
        let attached = self.ctx.registry.attach(registration, self.link.clone());
        tracing::info!(
            session = %attached.info.session_id,
            app = %attached.info.app,
            resumed = attached.resumed,
            "pane registered"
        );
        let result = json!({
            "session_id": attached.info.session_id,
            "resumed": attached.resumed,
            "document_id": attached.info.document.id,
            "policy": policy.for_app(attached.info.app),
            "heartbeat_seconds": self.ctx.registry.config().heartbeat_interval.as_secs(),
            "bridge_version": env!("CARGO_PKG_VERSION"),
        });
        let info = attached.info.clone();
        self.session = Some(attached.info);
        self.send_text(protocol::encode_result(&id, &result)).await;
        // After the answer is out: the pane may ask the bridge things right away, and a
        // question from the bridge must not wait on this read loop.
        tokio::spawn(self.ctx.handler.registered(info));
        None
    }

    /// Tells a registered pane about a policy change; closes it if its add-in was disabled.
    async fn on_policy(&mut self, policy: &PanePolicy) -> Option<Outbound> {
        let app = self.session.as_ref()?.app;
        self.send_text(protocol::encode_notification(
            "policy.changed",
            &json!({"policy": policy.for_app(app)}),
        ))
        .await;
        if policy.addin_enabled(app) {
            None
        } else {
            Some(Outbound::Close {
                code: CLOSE_DISABLED,
                reason: "disabled by your administrator".into(),
            })
        }
    }
}

const MAX_NAME: usize = 1024;
const MAX_URL: usize = 8192;
const MAX_CAPABILITIES: usize = 64;

/// Checks a pane's `register` params (docs/addin-protocol.md); public for the fuzz target
/// `addin_decode`.
pub fn parse_registration(params: &Value) -> Result<Registration, RpcError> {
    let invalid = |m: &str| RpcError::new(codes::INVALID_PARAMS, format!("register: {m}"));
    let obj = params
        .as_object()
        .ok_or_else(|| invalid("params must be an object"))?;
    let app = match obj.get("app").and_then(Value::as_str) {
        Some("excel") => App::Excel,
        Some("powerpoint") => App::Powerpoint,
        _ => return Err(invalid("app must be \"excel\" or \"powerpoint\"")),
    };
    let document = obj
        .get("document")
        .and_then(Value::as_object)
        .ok_or_else(|| invalid("document must be an object with name and url"))?;
    let name = document
        .get("name")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|n| !n.is_empty() && n.len() <= MAX_NAME)
        .ok_or_else(|| invalid("document.name must be a non-empty string of at most 1024 bytes"))?;
    let url = match document.get("url") {
        None | Some(Value::Null) => "",
        Some(Value::String(u)) if u.len() <= MAX_URL => u.as_str(),
        _ => {
            return Err(invalid(
                "document.url must be a string of at most 8192 bytes",
            ));
        }
    };
    let addin_version = obj
        .get("addin_version")
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .chars()
        .take(64)
        .collect();
    let capabilities = match obj.get("capabilities") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) if items.len() <= MAX_CAPABILITIES => items
            .iter()
            .map(|c| c.as_str().filter(|s| s.len() <= 128).map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| invalid("capabilities must be strings of at most 128 bytes"))?,
        Some(_) => {
            return Err(invalid(
                "capabilities must be an array of at most 64 strings",
            ));
        }
    };
    let session_id = match obj.get("session_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.len() <= 64 => Some(s.clone()),
        Some(_) => return Err(invalid("session_id must be a string")),
    };
    let simulated = match obj.get("simulated") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(invalid("simulated must be true or false")),
    };
    Ok(Registration {
        app,
        name: name.to_string(),
        url: url.to_string(),
        addin_version,
        capabilities,
        session_id,
        simulated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_is_validated() {
        let ok = parse_registration(&json!({
            "app": "excel",
            "document": {"name": " Q3.xlsx ", "url": "https://contoso/Q3.xlsx"},
            "capabilities": ["ExcelApi 1.7"],
        }))
        .unwrap();
        assert_eq!(ok.app, App::Excel);
        assert_eq!(ok.name, "Q3.xlsx");
        assert_eq!(ok.addin_version, "unknown");
        for bad in [
            json!([]),
            json!({"app": "word", "document": {"name": "a"}}),
            json!({"app": "excel"}),
            json!({"app": "excel", "document": {"name": ""}}),
            json!({"app": "excel", "document": {"name": "a", "url": 5}}),
            json!({"app": "excel", "document": {"name": "a"}, "capabilities": "x"}),
            json!({"app": "excel", "document": {"name": "a"}, "capabilities": [1]}),
            json!({"app": "excel", "document": {"name": "a"}, "session_id": 9}),
            json!({"app": "excel", "document": {"name": "a".repeat(2000)}}),
        ] {
            let e = parse_registration(&bad).expect_err(&bad.to_string());
            assert_eq!(e.code, codes::INVALID_PARAMS);
        }
    }
}
