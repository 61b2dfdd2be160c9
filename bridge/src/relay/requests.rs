//! The relay's HTTP requests to the bridge's `/mcp`: `POST` a client message, `GET` the
//! stream of the bridge's own messages (or a broken response stream again, resumed), and
//! what their answers mean for the transport: which failures may be retried without a
//! tool call running twice, and which are told to the client.

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue};
use serde_json::Value;

use super::headers::{LAST_EVENT_ID_HEADER, SESSION_HEADER};
use super::messages::{as_messages, is_jsonrpc, response_ids};
use super::{Relay, Session};
use crate::client::error_chain;

/// Why a POST did not go through. Only failures that happen before the bridge acted on
/// the message are retried, so a tool call is never run twice.
pub(super) enum PostError {
    /// Connection refused or TLS failure: the bridge is down or restarting.
    Unreachable(String),
    /// 404 for the session we sent: the bridge restarted or dropped the session.
    SessionExpired,
    /// 401: the token may have been rotated between reading and sending.
    Unauthorized,
    /// Anything else: reported to the client as is.
    Failed(String),
    /// The response stream broke; the relay answered some of the requests itself (calls
    /// that were held for approval: nothing was written). The rest get this error.
    Cut { unanswered: Vec<Value>, why: String },
}

/// What `GET /mcp` gave.
pub(super) enum GetStream {
    Open(reqwest::Response),
    /// 405: the server sends nothing unprompted (or cannot resume).
    NotOffered,
    /// 404 for our session id.
    SessionGone,
    Failed(String),
}

impl Relay {
    pub(super) fn base_url(&self) -> Option<(String, reqwest::Client)> {
        let bridge = self.bridge.lock().unwrap();
        bridge
            .as_ref()
            .map(|(port, client)| (format!("https://localhost:{port}/mcp"), client.clone()))
    }

    /// POSTs one message and relays the answer to stdout. `relay_output` false is used
    /// only by the internal re-handshake, whose answers the client must not see.
    pub(super) async fn post(
        &self,
        message: &Value,
        ids: &[Value],
        initialize: bool,
        relay_output: bool,
    ) -> Result<(), PostError> {
        let Some((url, client)) = self.base_url() else {
            return Err(PostError::Unreachable("no bridge has answered yet".into()));
        };
        let session = if initialize {
            // A new handshake starts a new session: never send the old id with it.
            Session::default()
        } else {
            self.session.lock().unwrap().clone()
        };
        let mut headers = self
            .headers(Some(message), &session)
            .map_err(PostError::Failed)?;
        headers.insert(
            ACCEPT,
            HeaderValue::from_static("application/json, text/event-stream"),
        );
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let response = client
            .post(&url)
            .headers(headers)
            .body(message.to_string())
            .send()
            .await
            .map_err(|e| {
                if e.is_connect() {
                    PostError::Unreachable(error_chain(&e))
                } else {
                    PostError::Failed(format!("office-bridge did not answer: {}", error_chain(&e)))
                }
            })?;
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED {
            return Err(PostError::Unauthorized);
        }
        if status == StatusCode::NOT_FOUND && session.id.is_some() {
            return Err(PostError::SessionExpired);
        }
        if initialize && status.is_success() {
            let id = response
                .headers()
                .get(SESSION_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let mut s = self.session.lock().unwrap();
            s.id = id;
            s.protocol = None;
            s.generation += 1;
        }
        if status == StatusCode::ACCEPTED {
            return Ok(());
        }
        let content_type = content_type(response.headers());
        if status.is_success() && content_type == "text/event-stream" {
            return self
                .relay_event_stream(response, ids, initialize, relay_output)
                .await
                .map_err(|(unanswered, why)| {
                    if relay_output && unanswered.len() < ids.len() {
                        PostError::Cut { unanswered, why }
                    } else {
                        PostError::Failed(why)
                    }
                });
        }
        let body = response.bytes().await.map_err(|e| {
            PostError::Failed(format!(
                "office-bridge's answer broke off: {}",
                error_chain(&e)
            ))
        })?;
        // A JSON-RPC body is relayed whatever the status: the bridge and rmcp answer
        // protocol errors (bad header, unknown session) as JSON-RPC errors with a 4xx.
        match serde_json::from_slice::<Value>(&body) {
            Ok(v) if is_jsonrpc(&v) => {
                if status == StatusCode::NOT_FOUND
                    && !response_ids(&v).iter().any(|id| ids.contains(id))
                {
                    return Err(PostError::Failed(no_mcp_message(status, &body)));
                }
                self.observe(&v, initialize);
                if relay_output {
                    self.emit(&v);
                }
                Ok(())
            }
            _ if status.is_success() && ids.is_empty() => Ok(()),
            _ if status == StatusCode::NOT_FOUND => {
                Err(PostError::Failed(no_mcp_message(status, &body)))
            }
            _ => Err(PostError::Failed(format!(
                "office-bridge answered HTTP {status}: {}",
                snippet(&body)
            ))),
        }
    }

    /// Notes what the transport needs from the bridge's answers: the protocol version
    /// agreed in `initialize`.
    pub(super) fn observe(&self, message: &Value, initialize: bool) {
        if !initialize {
            return;
        }
        for m in as_messages(message) {
            if let Some(version) = m.pointer("/result/protocolVersion").and_then(Value::as_str) {
                self.session.lock().unwrap().protocol = Some(version.to_owned());
            }
        }
    }

    /// `GET /mcp`: the stream of server-initiated messages, or a resumed response stream.
    pub(super) async fn open_get(&self, last_event_id: Option<&str>) -> GetStream {
        let Some((url, client)) = self.base_url() else {
            return GetStream::Failed("no bridge has answered yet".into());
        };
        let session = self.session.lock().unwrap().clone();
        let mut headers = match self.headers(None, &session) {
            Ok(h) => h,
            Err(e) => return GetStream::Failed(e),
        };
        headers.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
        if let Some(id) = last_event_id
            && let Ok(v) = HeaderValue::from_str(id)
        {
            headers.insert(LAST_EVENT_ID_HEADER, v);
        }
        let response = match client.get(&url).headers(headers).send().await {
            Ok(r) => r,
            Err(e) => return GetStream::Failed(error_chain(&e)),
        };
        match response.status() {
            StatusCode::METHOD_NOT_ALLOWED => GetStream::NotOffered,
            StatusCode::NOT_FOUND if session.id.is_some() => GetStream::SessionGone,
            s if s.is_success() && content_type(response.headers()) == "text/event-stream" => {
                GetStream::Open(response)
            }
            s => GetStream::Failed(format!("HTTP {s}")),
        }
    }
}

fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

fn no_mcp_message(status: StatusCode, body: &[u8]) -> String {
    format!(
        "office-bridge has no MCP endpoint at /mcp (HTTP {status}: {}); is it an older version?",
        snippet(body)
    )
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(200) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None if text.is_empty() => "(empty body)".into(),
        None => text.to_owned(),
    }
}
