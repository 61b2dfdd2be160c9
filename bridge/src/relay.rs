//! `office-bridge mcp`: a stdio MCP server that relays every message to the bridge's
//! Streamable HTTP endpoint (`https://localhost:PORT/mcp`).
//!
//! Why it exists: Claude Desktop (and other clients) start local MCP servers as stdio
//! commands and do not reliably trust a custom CA. This relay trusts exactly the bridge's
//! own CA, adds the bearer token, and speaks newline-delimited JSON-RPC on stdin/stdout.
//! It does not interpret MCP beyond what the transport needs (session id, protocol
//! version header, which ids a response answers), so tools added to the bridge need no
//! change here.
//!
//! stdout carries only protocol lines, written by one task so lines never interleave;
//! logs go to stderr.

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use futures_util::StreamExt;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::datadir::DataDir;
use crate::server::DEFAULT_PORT;

const SESSION_HEADER: &str = "mcp-session-id";
const PROTOCOL_HEADER: &str = "mcp-protocol-version";
const LAST_EVENT_ID_HEADER: &str = "last-event-id";
/// Where a client on protocol 2026-07-28 or later names its version on every request
/// (there is no initialize handshake from that revision on).
const META_PROTOCOL_KEY: &str = "io.modelcontextprotocol/protocolVersion";
/// From this revision on, servers require `Mcp-Method` / `Mcp-Name` headers (SEP-2243).
const STANDARD_HEADERS_VERSION: &str = "2026-07-28";
/// How long a freshly started bridge may take to answer `/healthz`.
const START_TIMEOUT: Duration = Duration::from_secs(15);
/// After stdin closes, how long answers still in flight may take before we exit anyway
/// (a client that closed stdin is usually gone; a pipe user still gets quick answers).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// After the last awaited answer, how long the rest of its response stream is still read.
/// The bridge ends the stream right after the answer; reading to that end returns the
/// connection to the pool, where dropping the body first would close it.
const TAIL_WAIT: Duration = Duration::from_millis(50);
/// Attempts to resume a response stream that broke before the answer came.
const RESUME_ATTEMPTS: u32 = 5;
/// JSON-RPC error codes.
const PARSE_ERROR: i64 = -32700;
const INTERNAL_ERROR: i64 = -32603;

/// `<data dir>/bridge.json`, written by a running `serve`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RunFile {
    pub port: u16,
    #[serde(default)]
    pub pid: Option<u32>,
    #[serde(default)]
    pub version: Option<String>,
    /// The running bridge's folders for the file tools (absent from older bridges).
    #[serde(default)]
    pub allowed_folders: Option<Vec<PathBuf>>,
}

/// The requested folders a running bridge does not allow (a relay's `--allow-dir` only
/// reaches a bridge the relay starts itself). A folder inside an allowed one is allowed.
/// Nothing when the bridge did not say what it allows.
pub fn folders_not_in_effect(requested: &[PathBuf], run_file: Option<&RunFile>) -> Vec<PathBuf> {
    let Some(allowed) = run_file.and_then(|r| r.allowed_folders.as_ref()) else {
        return Vec::new();
    };
    requested
        .iter()
        .filter(|dir| {
            let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
            !allowed.iter().any(|root| dir.starts_with(root))
        })
        .cloned()
        .collect()
}

/// Reads the run file; a missing, half-written or foreign file is "no information"
/// (the probe decides whether a bridge is really there).
pub fn read_run_file(path: &Path) -> Option<RunFile> {
    let text = fs::read_to_string(path).ok()?;
    match serde_json::from_str::<RunFile>(&text) {
        Ok(run) if run.port != 0 => Some(run),
        Ok(_) => None,
        Err(e) => {
            tracing::warn!(path = %path.display(), "ignoring unreadable run file: {e}");
            None
        }
    }
}

/// `--port` wins, then the run file of a running (or crashed) bridge, then the default.
pub fn choose_port(explicit: Option<u16>, run_file: Option<&RunFile>) -> u16 {
    explicit
        .or(run_file.map(|r| r.port))
        .unwrap_or(DEFAULT_PORT)
}

/// Runs the relay until stdin closes; the result is the exit code.
/// `allow_dirs` are handed to a bridge the relay starts (`serve --allow-dir`), so the file
/// tools of an agent started from some arbitrary folder do not default to that folder.
pub fn run(data_dir: DataDir, port: Option<u16>, allow_dirs: Vec<PathBuf>) -> Result<i32> {
    if port == Some(0) {
        anyhow::bail!("--port 0 is not a port a bridge listens on; give the bridge's port");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let (relay, rx) = Relay::new(data_dir, port, allow_dirs);
    runtime.block_on(relay_stdio(relay, rx))
}

/// One stdout line, or the signal that no more will come.
enum Out {
    Line(String),
    Close,
}

/// The MCP session as the bridge sees it. `generation` changes whenever the session is
/// replaced, so concurrent failures re-handshake once, not once each.
#[derive(Default, Clone)]
struct Session {
    id: Option<String>,
    protocol: Option<String>,
    generation: u64,
}

/// Why a POST did not go through. Only failures that happen before the bridge acted on
/// the message are retried, so a tool call is never run twice.
enum PostError {
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
enum GetStream {
    Open(reqwest::Response),
    /// 405: the server sends nothing unprompted (or cannot resume).
    NotOffered,
    /// 404 for our session id.
    SessionGone,
    Failed(String),
}

struct Relay {
    data_dir: DataDir,
    /// Passed to a bridge this relay starts.
    allow_dirs: Vec<PathBuf>,
    /// Said once that a running bridge does not use `allow_dirs`.
    warned_folders: AtomicBool,
    explicit_port: Option<u16>,
    /// The port and client of the bridge last found; `None` until one answered.
    bridge: Mutex<Option<(u16, reqwest::Client)>>,
    session: Mutex<Session>,
    /// The client's own initialize request, replayed when the bridge lost the session.
    init_message: Mutex<Option<Value>>,
    /// Serialises starting the bridge and re-handshaking.
    recover: tokio::sync::Mutex<()>,
    /// The GET stream for server-initiated messages of the current session.
    listener: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Tool calls in flight, by request id: where each stands as the bridge's progress
    /// notifications say (see [`CallProgress`]).
    calls: Mutex<std::collections::HashMap<String, CallProgress>>,
    out: mpsc::UnboundedSender<Out>,
}

/// What the relay knows of a tool call in flight from the bridge's progress notifications
/// (`_meta["office-bridge/hold"]`: `held`, then `released`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct CallProgress {
    /// The progress token the call carries.
    token: String,
    /// The relay added the token (the client did not ask for progress): the bridge's
    /// progress notifications for it are not passed on.
    injected: bool,
    /// Held for the person's approval and not (yet) released.
    held: bool,
}

impl Relay {
    fn new(
        data_dir: DataDir,
        explicit_port: Option<u16>,
        allow_dirs: Vec<PathBuf>,
    ) -> (Arc<Self>, mpsc::UnboundedReceiver<Out>) {
        let (out, rx) = mpsc::unbounded_channel();
        let relay = Arc::new(Relay {
            data_dir,
            allow_dirs,
            warned_folders: AtomicBool::new(false),
            explicit_port,
            bridge: Mutex::new(None),
            session: Mutex::new(Session::default()),
            init_message: Mutex::new(None),
            recover: tokio::sync::Mutex::new(()),
            listener: Mutex::new(None),
            calls: Mutex::new(std::collections::HashMap::new()),
            out,
        });
        (relay, rx)
    }
}

/// Reads stdin until EOF, forwarding each message; then ends the session.
async fn relay_stdio(relay: Arc<Relay>, rx: mpsc::UnboundedReceiver<Out>) -> Result<i32> {
    let writer = tokio::spawn(write_stdout(rx));
    // Find or start the bridge now, so it is warm when `initialize` arrives; a
    // failure here is logged and retried per message, never fatal.
    match relay.ensure_bridge().await {
        Ok(port) => tracing::info!("relaying MCP between stdio and https://localhost:{port}/mcp"),
        Err(e) => tracing::error!("{e}"),
    }

    let mut stdin = BufReader::new(tokio::io::stdin());
    let mut tasks = JoinSet::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        match stdin.read_until(b'\n', &mut line).await {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                tracing::error!("reading stdin: {e}");
                break;
            }
        }
        // Reap finished tasks so a long session does not accumulate them.
        while tasks.try_join_next().is_some() {}
        let Some(message) = relay.parse_line(&line) else {
            continue;
        };
        if is_method(&message, "initialize") {
            // Inline, so that the session id is known before any later message is
            // sent (clients wait for this answer anyway).
            relay.forward(message).await;
        } else {
            let relay = relay.clone();
            tasks.spawn(async move { relay.forward(message).await });
        }
    }

    tracing::debug!("stdin closed");
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    tasks.abort_all();
    if let Some(listener) = relay.listener.lock().unwrap().take() {
        listener.abort();
    }
    relay.end_session().await;
    let _ = relay.out.send(Out::Close);
    let _ = writer.await;
    Ok(0)
}

/// The one writer of stdout: whole lines, flushed one by one so the client sees each
/// message as soon as it arrives.
async fn write_stdout(mut rx: mpsc::UnboundedReceiver<Out>) {
    let mut stdout = tokio::io::stdout();
    while let Some(Out::Line(mut line)) = rx.recv().await {
        line.push('\n');
        if let Err(e) = async {
            stdout.write_all(line.as_bytes()).await?;
            stdout.flush().await
        }
        .await
        {
            tracing::error!("writing stdout: {e}");
            return;
        }
    }
}

impl Relay {
    fn emit(&self, message: &Value) {
        // serde_json escapes control characters, so the compact form is one line.
        let _ = self.out.send(Out::Line(message.to_string()));
    }

    fn emit_error(&self, ids: &[Value], code: i64, message: &str) {
        for id in ids {
            self.emit(&error_response(id.clone(), code, message));
        }
    }

    /// A stdin line as a message, or `None` (blank line, or answered with -32700).
    fn parse_line(&self, line: &[u8]) -> Option<Value> {
        let text = match std::str::from_utf8(line) {
            Ok(t) => t.trim(),
            Err(_) => {
                self.emit(&error_response(
                    Value::Null,
                    PARSE_ERROR,
                    "Parse error: stdin line is not UTF-8",
                ));
                return None;
            }
        };
        if text.is_empty() {
            return None;
        }
        match serde_json::from_str::<Value>(text) {
            Ok(v) if v.is_object() || v.is_array() => Some(v),
            Ok(_) => {
                self.emit(&error_response(
                    Value::Null,
                    PARSE_ERROR,
                    "Parse error: a message must be a JSON object",
                ));
                None
            }
            Err(e) => {
                self.emit(&error_response(
                    Value::Null,
                    PARSE_ERROR,
                    &format!("Parse error: {e}"),
                ));
                None
            }
        }
    }

    fn base_url(&self) -> Option<(String, reqwest::Client)> {
        let bridge = self.bridge.lock().unwrap();
        bridge
            .as_ref()
            .map(|(port, client)| (format!("https://localhost:{port}/mcp"), client.clone()))
    }

    fn port_for_messages(&self) -> u16 {
        match &*self.bridge.lock().unwrap() {
            Some((port, _)) => *port,
            None => choose_port(
                self.explicit_port,
                read_run_file(&self.data_dir.run_file()).as_ref(),
            ),
        }
    }

    /// Sends one client message and relays what comes back. Never fails: errors become
    /// JSON-RPC errors for the requests among the message.
    async fn forward(self: &Arc<Self>, message: Value) {
        let message = self.track_tool_call(message);
        let ids = request_ids(&message);
        let initialize = is_method(&message, "initialize");
        if initialize {
            *self.init_message.lock().unwrap() = Some(message.clone());
        }
        let mut retried = false;
        loop {
            let seen = self.session.lock().unwrap().generation;
            let result = self.post(&message, &ids, initialize, true).await;
            let error = match result {
                Ok(()) => break,
                // One recovery per message: after it, report what is wrong now.
                Err(e) if retried => self.describe(e),
                Err(PostError::Failed(e)) => e,
                Err(PostError::Unauthorized) => {
                    // The token file is re-read on every request; once more picks up a
                    // rotation that raced with this request.
                    retried = true;
                    continue;
                }
                Err(PostError::Cut { unanswered, why }) => {
                    tracing::warn!("{why}");
                    self.emit_error(&unanswered, INTERNAL_ERROR, &why);
                    break;
                }
                Err(PostError::SessionExpired) if !initialize => {
                    retried = true;
                    match self.rehandshake(seen).await {
                        Ok(()) => continue,
                        Err(e) => e,
                    }
                }
                // (initialize is sent without a session id, so it never gets here)
                Err(e @ PostError::SessionExpired) => self.describe(e),
                Err(PostError::Unreachable(e)) => {
                    retried = true;
                    tracing::warn!("office-bridge is not answering ({e}); checking on it");
                    let had_session = self.session.lock().unwrap().id.is_some();
                    match self.ensure_bridge().await {
                        Ok(_) if had_session && !initialize => match self.rehandshake(seen).await {
                            Ok(()) => continue,
                            Err(e) => e,
                        },
                        Ok(_) => continue,
                        Err(e) => e,
                    }
                }
            };
            tracing::warn!("{error}");
            self.emit_error(&ids, INTERNAL_ERROR, &error);
            break;
        }
        {
            let mut calls = self.calls.lock().unwrap();
            for id in &ids {
                calls.remove(&id.to_string());
            }
        }
        if is_method(&message, "notifications/initialized") {
            self.start_listener();
        }
    }

    /// A `tools/call` gets a progress token when the client gave none, so the bridge tells
    /// the relay when the call is held for approval: if the bridge stops while it is held,
    /// the relay can tell the agent that nothing was written.
    fn track_tool_call(&self, mut message: Value) -> Value {
        if !is_method(&message, "tools/call") {
            return message;
        }
        let Some(id) = message.get("id").cloned() else {
            return message;
        };
        let given = message
            .pointer("/params/_meta/progressToken")
            .filter(|t| t.is_string() || t.is_number())
            .map(|t| match t {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            });
        let progress = match given {
            Some(token) => CallProgress {
                token,
                injected: false,
                held: false,
            },
            None => {
                let token = format!("office-bridge-relay-{}", uuid::Uuid::new_v4().simple());
                let Some(params) = message.get_mut("params").and_then(Value::as_object_mut) else {
                    return message;
                };
                let meta = params.entry("_meta").or_insert_with(|| json!({}));
                let Some(meta) = meta.as_object_mut() else {
                    return message;
                };
                meta.insert("progressToken".into(), json!(token));
                CallProgress {
                    token,
                    injected: true,
                    held: false,
                }
            }
        };
        self.calls.lock().unwrap().insert(id.to_string(), progress);
        message
    }

    /// Follows the bridge's progress notifications of held calls. Returns false for a
    /// notification the client must not see (for a token the relay added itself).
    fn note_progress(&self, message: &Value) -> bool {
        if !is_method(message, "notifications/progress") {
            return true;
        }
        let token = match message.pointer("/params/progressToken") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => return true,
        };
        let state = message
            .pointer(&format!(
                "/params/_meta/{}",
                crate::mcp::HOLD_META_KEY.replace('/', "~1")
            ))
            .and_then(Value::as_str);
        let mut calls = self.calls.lock().unwrap();
        let Some(call) = calls.values_mut().find(|c| c.token == token) else {
            return true;
        };
        match state {
            Some("held") => call.held = true,
            Some("released") => call.held = false,
            _ => {}
        }
        !call.injected
    }

    /// Calls among `ids` that were held for approval when their stream broke: answered
    /// here with a tool error (nothing was written: a write held when the bridge stops is
    /// closed, never carried out, when it starts again). Returns the ids still unanswered.
    fn answer_held_calls(&self, ids: &[Value]) -> Vec<Value> {
        let calls = self.calls.lock().unwrap();
        let mut unanswered = Vec::new();
        for id in ids {
            if calls.get(&id.to_string()).is_some_and(|c| c.held) {
                self.emit(&held_call_cut_off(id.clone()));
            } else {
                unanswered.push(id.clone());
            }
        }
        unanswered
    }

    fn describe(&self, error: PostError) -> String {
        match error {
            PostError::Unreachable(e) => self.unreachable_message(&e),
            PostError::SessionExpired => {
                "office-bridge lost the MCP session again right after a new one was made".into()
            }
            PostError::Unauthorized => self.unauthorized_message(),
            PostError::Failed(e) | PostError::Cut { why: e, .. } => e,
        }
    }

    fn unreachable_message(&self, detail: &str) -> String {
        format!(
            "office-bridge is not reachable at https://localhost:{}: {detail}",
            self.port_for_messages()
        )
    }

    fn unauthorized_message(&self) -> String {
        format!(
            "office-bridge refused the token in {} (HTTP 401); is the bridge using another data directory?",
            self.data_dir.token_file().display()
        )
    }

    /// Headers every request to `/mcp` carries.
    fn headers(&self, message: Option<&Value>, session: &Session) -> Result<HeaderMap, String> {
        let token_path = self.data_dir.token_file();
        // Read per request: `office-bridge token rotate` may replace it at any time.
        let token = fs::read_to_string(&token_path)
            .map_err(|e| format!("cannot read the token file {}: {e}", token_path.display()))?;
        let mut headers = HeaderMap::new();
        let bearer = HeaderValue::from_str(&format!("Bearer {}", token.trim())).map_err(|_| {
            format!(
                "the token file {} is damaged; run `office-bridge token rotate`",
                token_path.display()
            )
        })?;
        headers.insert(AUTHORIZATION, bearer);
        if let Some(id) = &session.id
            && let Ok(v) = HeaderValue::from_str(id)
        {
            headers.insert(SESSION_HEADER, v);
        }
        let version = message
            .and_then(meta_protocol_version)
            .or_else(|| session.protocol.clone());
        if let Some(version) = version {
            if let Ok(v) = HeaderValue::from_str(&version) {
                headers.insert(PROTOCOL_HEADER, v);
            }
            if version.as_str() >= STANDARD_HEADERS_VERSION
                && let Some(message) = message
            {
                for (name, value) in standard_headers(message) {
                    if let Ok(v) = HeaderValue::from_str(&value) {
                        headers.insert(name, v);
                    }
                }
            }
        }
        Ok(headers)
    }

    /// POSTs one message and relays the answer to stdout. `relay_output` false is used
    /// only by the internal re-handshake, whose answers the client must not see.
    async fn post(
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
    fn observe(&self, message: &Value, initialize: bool) {
        if !initialize {
            return;
        }
        for m in as_messages(message) {
            if let Some(version) = m.pointer("/result/protocolVersion").and_then(Value::as_str) {
                self.session.lock().unwrap().protocol = Some(version.to_owned());
            }
        }
    }

    /// Relays an SSE response as it arrives (a tool call may wait minutes for a
    /// person's approval). If the stream breaks before the answers to `ids` came, it is
    /// resumed with `Last-Event-ID` as the transport specifies.
    ///
    /// When it cannot be resumed, calls that were held for approval are answered here (see
    /// [`Relay::answer_held_calls`]); the error names the ids still unanswered.
    async fn relay_event_stream(
        &self,
        response: reqwest::Response,
        ids: &[Value],
        initialize: bool,
        relay_output: bool,
    ) -> Result<(), (Vec<Value>, String)> {
        let mut pending: Vec<Value> = ids.to_vec();
        let mut parser = SseParser::default();
        let mut outcome = self
            .pump(
                response,
                &mut parser,
                &mut pending,
                initialize,
                relay_output,
            )
            .await;
        let mut attempts = 0;
        while !pending.is_empty() {
            let give_up = |why: String| {
                let unanswered = if relay_output {
                    self.answer_held_calls(&pending)
                } else {
                    pending.clone()
                };
                Err((unanswered, why))
            };
            let Some(last_id) = parser.last_event_id.clone() else {
                let why = outcome.err().unwrap_or_else(|| "the stream ended".into());
                return give_up(format!(
                    "office-bridge closed the response stream before answering ({why}); the request may or may not have been carried out"
                ));
            };
            attempts += 1;
            if attempts > RESUME_ATTEMPTS {
                return give_up(format!(
                    "office-bridge's response stream broke and could not be resumed: {}",
                    outcome.err().unwrap_or_else(|| "the stream ended".into())
                ));
            }
            tokio::time::sleep(parser.retry.unwrap_or(Duration::from_secs(1))).await;
            tracing::debug!(attempt = attempts, "resuming a response stream");
            outcome = match self.open_get(Some(&last_id)).await {
                GetStream::Open(response) => {
                    let mut next = SseParser {
                        last_event_id: parser.last_event_id.clone(),
                        retry: parser.retry,
                        ..SseParser::default()
                    };
                    let r = self
                        .pump(response, &mut next, &mut pending, initialize, relay_output)
                        .await;
                    parser.last_event_id = next.last_event_id;
                    parser.retry = next.retry;
                    r
                }
                GetStream::NotOffered => Err("the bridge does not offer stream resumption".into()),
                GetStream::SessionGone => Err("the bridge lost the session".into()),
                GetStream::Failed(e) => Err(e),
            };
        }
        Ok(())
    }

    /// Reads one SSE body, relaying each message.
    async fn pump(
        &self,
        response: reqwest::Response,
        parser: &mut SseParser,
        pending: &mut Vec<Value>,
        initialize: bool,
        relay_output: bool,
    ) -> Result<(), String> {
        self.pump_body(
            response.bytes_stream(),
            parser,
            pending,
            initialize,
            relay_output,
        )
        .await
    }

    /// Reads one SSE body, relaying each message. Once every awaited answer came, the
    /// rest is read for at most [`TAIL_WAIT`]: the stream's end can arrive in a later read
    /// than the answer (before the bridge sent both in one write, `mcp::transport`, about
    /// one call in twenty), and dropping the body before its end closes the connection, so
    /// the next call pays for a new TCP and TLS handshake.
    async fn pump_body<B, E>(
        &self,
        body: impl futures_util::Stream<Item = Result<B, E>>,
        parser: &mut SseParser,
        pending: &mut Vec<Value>,
        initialize: bool,
        relay_output: bool,
    ) -> Result<(), String>
    where
        B: AsRef<[u8]>,
        E: std::error::Error,
    {
        let awaiting = !pending.is_empty();
        let mut body = std::pin::pin!(body);
        let mut tail_until: Option<tokio::time::Instant> = None;
        loop {
            let next = match tail_until {
                None => body.next().await,
                Some(deadline) => match tokio::time::timeout_at(deadline, body.next()).await {
                    Ok(next) => next,
                    Err(_) => return Ok(()),
                },
            };
            let chunk = match next {
                None => return Ok(()),
                Some(Ok(chunk)) => chunk,
                // Every answer is out: a broken tail costs only the connection.
                Some(Err(_)) if tail_until.is_some() => return Ok(()),
                Some(Err(e)) => return Err(error_chain(&e)),
            };
            for event in parser.push(chunk.as_ref()) {
                let Some(message) = self.message_of(event) else {
                    continue;
                };
                self.observe(&message, initialize);
                pending.retain(|id| !response_ids(&message).contains(id));
                if self.note_progress(&message) && relay_output {
                    self.emit(&message);
                }
            }
            if awaiting && pending.is_empty() && tail_until.is_none() {
                tail_until = Some(tokio::time::Instant::now() + TAIL_WAIT);
            }
        }
    }

    /// The JSON-RPC message an SSE event carries, if any (priming events have empty
    /// data; named events other than `message` are not MCP messages).
    fn message_of(&self, event: SseEvent) -> Option<Value> {
        if event.data.trim().is_empty() {
            return None;
        }
        if event.event.as_deref().is_some_and(|e| e != "message") {
            tracing::debug!(event = ?event.event, "skipping a non-message SSE event");
            return None;
        }
        match serde_json::from_str::<Value>(&event.data) {
            Ok(v) if is_jsonrpc(&v) => Some(v),
            _ => {
                tracing::warn!("skipping an SSE event that is not a JSON-RPC message");
                None
            }
        }
    }

    /// `GET /mcp`: the stream of server-initiated messages, or a resumed response stream.
    async fn open_get(&self, last_event_id: Option<&str>) -> GetStream {
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

    /// Starts (or restarts, for a new session) the GET stream that carries the bridge's
    /// own messages: list changes, elicitation requests.
    fn start_listener(self: &Arc<Self>) {
        let relay = self.clone();
        let generation = self.session.lock().unwrap().generation;
        let task = tokio::spawn(async move { relay.listen(generation).await });
        if let Some(old) = self.listener.lock().unwrap().replace(task) {
            old.abort();
        }
    }

    async fn listen(&self, generation: u64) {
        let mut parser = SseParser::default();
        let mut backoff = Duration::from_millis(500);
        loop {
            if self.session.lock().unwrap().generation != generation {
                return;
            }
            let last = parser.last_event_id.clone();
            match self.open_get(last.as_deref()).await {
                GetStream::NotOffered => {
                    tracing::debug!("office-bridge offers no server-to-client stream (405)");
                    return;
                }
                // The next POST finds out too, makes a new session and a new listener.
                GetStream::SessionGone => return,
                GetStream::Open(response) => {
                    backoff = Duration::from_millis(500);
                    let mut next = SseParser {
                        last_event_id: parser.last_event_id.clone(),
                        retry: parser.retry,
                        ..SseParser::default()
                    };
                    if let Err(e) = self.pump_forever(response, &mut next).await {
                        tracing::debug!("server-to-client stream broke: {e}");
                    }
                    parser = next;
                }
                GetStream::Failed(e) => {
                    tracing::debug!("server-to-client stream not available: {e}");
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
            tokio::time::sleep(parser.retry.unwrap_or(Duration::ZERO).max(backoff)).await;
        }
    }

    async fn pump_forever(
        &self,
        response: reqwest::Response,
        parser: &mut SseParser,
    ) -> Result<(), String> {
        let mut body = response.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| error_chain(&e))?;
            for event in parser.push(&chunk) {
                if let Some(message) = self.message_of(event) {
                    self.emit(&message);
                }
            }
        }
        Ok(())
    }

    /// Replaces a session the bridge no longer knows (it restarted, or dropped it) by
    /// replaying the client's own `initialize`, invisibly to the client.
    async fn rehandshake(self: &Arc<Self>, seen_generation: u64) -> Result<(), String> {
        let _guard = self.recover.lock().await;
        if self.session.lock().unwrap().generation != seen_generation {
            return Ok(()); // another task already made a new session
        }
        let Some(mut init) = self.init_message.lock().unwrap().clone() else {
            return Err(
                "office-bridge has no MCP session for this client and it never sent initialize"
                    .into(),
            );
        };
        tracing::info!("office-bridge lost the MCP session (restarted?); opening a new one");
        init["id"] = json!("office-bridge-relay-reinitialize");
        let ids = request_ids(&init);
        let fail = |e: PostError| match e {
            PostError::Unreachable(e) | PostError::Failed(e) | PostError::Cut { why: e, .. } => {
                format!("could not open a new MCP session: {e}")
            }
            PostError::SessionExpired => "could not open a new MCP session (HTTP 404)".into(),
            PostError::Unauthorized => self.unauthorized_message(),
        };
        self.post(&init, &ids, true, false).await.map_err(fail)?;
        let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        self.post(&initialized, &[], false, false)
            .await
            .map_err(fail)?;
        self.start_listener();
        Ok(())
    }

    /// Best effort `DELETE /mcp` so the bridge frees the session at once.
    async fn end_session(&self) {
        let session = self.session.lock().unwrap().clone();
        let (Some(_), Some((url, client))) = (&session.id, self.base_url()) else {
            return;
        };
        let Ok(headers) = self.headers(None, &session) else {
            return;
        };
        let sent = client
            .delete(&url)
            .headers(headers)
            .timeout(Duration::from_secs(3))
            .send()
            .await;
        if let Err(e) = sent {
            tracing::debug!("ending the MCP session: {}", error_chain(&e));
        }
    }

    /// Finds a bridge that answers `/healthz` over TLS trusting only its own CA, or
    /// starts one in the background; returns its port.
    async fn ensure_bridge(&self) -> Result<u16, String> {
        let _guard = self.recover.lock().await;
        let run_file = read_run_file(&self.data_dir.run_file());
        let port = choose_port(self.explicit_port, run_file.as_ref());
        if let Some(client) = self.probe(port).await {
            *self.bridge.lock().unwrap() = Some((port, client));
            let ignored = folders_not_in_effect(&self.allow_dirs, run_file.as_ref());
            if !ignored.is_empty() && !self.warned_folders.swap(true, Ordering::Relaxed) {
                let shown: Vec<String> = ignored.iter().map(|p| p.display().to_string()).collect();
                tracing::warn!(
                    "a bridge was already running on port {port}; --allow-dir {} is not in effect for it (stop that bridge and this relay starts one with these folders)",
                    shown.join(", ")
                );
            }
            return Ok(port);
        }
        let log_path = self.data_dir.root().join("bridge.log");
        tracing::info!(port, log = %log_path.display(), "no bridge answers; starting `office-bridge serve` in the background");
        let child = self.spawn_bridge(port, &log_path).map_err(|e| {
            format!("office-bridge is not reachable at https://localhost:{port} and could not be started: {e:#}")
        })?;
        let started = tokio::time::Instant::now();
        while started.elapsed() < START_TIMEOUT {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if let Some(client) = self.probe(port).await {
                *self.bridge.lock().unwrap() = Some((port, client));
                tracing::info!(port, "office-bridge is up");
                return Ok(port);
            }
            if let Some(status) = *child.lock().unwrap() {
                return Err(format!(
                    "office-bridge is not reachable at https://localhost:{port}: the bridge started for it exited ({status}); see {}",
                    log_path.display()
                ));
            }
        }
        Err(format!(
            "office-bridge is not reachable at https://localhost:{port}: a bridge was started but did not answer within {} s; see {}",
            START_TIMEOUT.as_secs(),
            log_path.display()
        ))
    }

    /// A client for the bridge on `port` if it answers `/healthz`. Trusts only the
    /// bridge's CA: anything else on that port (or a proxy) fails the handshake.
    async fn probe(&self, port: u16) -> Option<reqwest::Client> {
        let ca = fs::read_to_string(self.data_dir.certs().ca_cert()).ok()?;
        let client = match bridge_client(&ca) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("cannot use the bridge's CA: {e:#}");
                return None;
            }
        };
        let answer = client
            .get(format!("https://localhost:{port}/healthz"))
            .timeout(Duration::from_secs(3))
            .send()
            .await;
        match answer {
            Ok(r) if r.status().is_success() => Some(client),
            Ok(r) => {
                tracing::debug!(port, status = %r.status(), "healthz refused");
                None
            }
            Err(e) => {
                tracing::debug!(port, "healthz: {}", error_chain(&e));
                None
            }
        }
    }

    /// Starts `office-bridge serve` detached: its own process group (closing the relay
    /// must not take the bridge down with it, other clients may use it), stdin null,
    /// output appended to `<data dir>/bridge.log`. A thread reaps it so an early exit is
    /// reported at once instead of after the whole wait.
    fn spawn_bridge(
        &self,
        port: u16,
        log_path: &Path,
    ) -> Result<Arc<Mutex<Option<std::process::ExitStatus>>>> {
        self.data_dir.ensure()?;
        let exe = std::env::current_exe().context("finding this executable")?;
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_path)
            .with_context(|| format!("opening {}", log_path.display()))?;
        let mut command = std::process::Command::new(exe);
        command
            .arg("--data-dir")
            .arg(self.data_dir.root())
            .arg("serve")
            .arg("--port")
            .arg(port.to_string());
        for dir in &self.allow_dirs {
            command.arg("--allow-dir").arg(dir);
        }
        command
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone().context("duplicating the log handle")?)
            .stderr(log);
        detach(&mut command);
        let mut child = command.spawn().context("starting `office-bridge serve`")?;
        let status = Arc::new(Mutex::new(None));
        let reaped = status.clone();
        std::thread::spawn(move || {
            if let Ok(s) = child.wait() {
                *reaped.lock().unwrap() = Some(s);
            }
        });
        Ok(status)
    }
}

#[cfg(unix)]
fn detach(command: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    command.process_group(0);
}

#[cfg(windows)]
fn detach(command: &mut std::process::Command) {
    use std::os::windows::process::CommandExt;
    const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
    const CREATE_NO_WINDOW: u32 = 0x0800_0000;
    command.creation_flags(CREATE_NEW_PROCESS_GROUP | CREATE_NO_WINDOW);
}

#[cfg(not(any(unix, windows)))]
fn detach(_command: &mut std::process::Command) {}

/// An HTTPS client that trusts only the bridge's CA, never the system roots, and no
/// proxy (a proxy would see the token). No overall timeout: answers may wait minutes
/// for a person's approval.
fn bridge_client(ca_pem: &str) -> Result<reqwest::Client> {
    let tls = certs::client_config_trusting(ca_pem)?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .no_proxy()
        .connect_timeout(Duration::from_secs(5))
        .build()
        .context("building the HTTPS client")
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

/// reqwest's top-level errors say little ("error sending request"); the causes say why.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

fn as_messages(message: &Value) -> Vec<&Value> {
    match message {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}

fn is_method(message: &Value, method: &str) -> bool {
    message.get("method").and_then(Value::as_str) == Some(method)
}

fn is_jsonrpc(message: &Value) -> bool {
    as_messages(message)
        .iter()
        .all(|m| m.get("jsonrpc").and_then(Value::as_str) == Some("2.0"))
        && !matches!(message, Value::Array(a) if a.is_empty())
}

/// Ids of the requests in a message (or batch): the answers the client waits for, and
/// the ids an error must name if the bridge cannot be reached.
pub fn request_ids(message: &Value) -> Vec<Value> {
    as_messages(message)
        .into_iter()
        .filter(|m| m.get("method").is_some())
        .filter_map(|m| m.get("id").filter(|id| !id.is_null()).cloned())
        .collect()
}

/// Ids a message (or batch) answers: responses and errors carry `id` and no `method`.
pub fn response_ids(message: &Value) -> Vec<Value> {
    as_messages(message)
        .into_iter()
        .filter(|m| m.get("method").is_none())
        .filter(|m| m.get("result").is_some() || m.get("error").is_some())
        .filter_map(|m| m.get("id").cloned())
        .collect()
}

/// The answer to a tool call that was held for the person's approval when the bridge
/// stopped: a tool error the agent reads, saying nothing was written.
pub fn held_call_cut_off(id: Value) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "result": {
            "content": [{"type": "text", "text": HELD_CALL_CUT_OFF}],
            "isError": true,
        },
    })
}

/// What an agent is told when the bridge stopped while its write was held.
pub const HELD_CALL_CUT_OFF: &str = "Not written: office-bridge stopped (it was restarted or shut down) while this write was held for the person's approval, so nothing was written. A write held when the bridge stops is closed when it starts again, never carried out later. Tell the person; if they still want it, make the call again once office-bridge is back.";

pub fn error_response(id: Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

/// The protocol version a 2026-07-28+ client names in the request's `_meta`.
fn meta_protocol_version(message: &Value) -> Option<String> {
    message
        .pointer("/params/_meta")
        .and_then(|m| m.get(META_PROTOCOL_KEY))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// SEP-2243 `Mcp-Method` and `Mcp-Name` for a request or notification. (Tool arguments
/// promoted to `Mcp-Param-*` headers need the tool's schema; the bridge's tools
/// annotate none.)
fn standard_headers(message: &Value) -> Vec<(&'static str, String)> {
    let Some(method) = message.get("method").and_then(Value::as_str) else {
        return Vec::new();
    };
    let mut out = vec![("mcp-method", method.to_owned())];
    let key = match method {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" | "resources/subscribe" | "resources/unsubscribe" => Some("uri"),
        "tasks/get" | "tasks/update" | "tasks/cancel" => Some("taskId"),
        _ => None,
    };
    if let Some(name) = key
        .and_then(|k| message.pointer(&format!("/params/{k}")))
        .and_then(Value::as_str)
    {
        out.push(("mcp-name", header_safe(name)));
    }
    out
}

/// Header values must be visible ASCII; anything else travels Base64-wrapped
/// (`=?base64?...?=`), as SEP-2243 specifies.
fn header_safe(value: &str) -> String {
    use base64::Engine;
    let plain = !value.is_empty()
        && value.bytes().all(|b| (0x20..0x7f).contains(&b))
        && !value.starts_with([' ', '\t'])
        && !value.ends_with([' ', '\t'])
        && !value.starts_with("=?base64?");
    if plain {
        value.to_owned()
    } else {
        format!(
            "=?base64?{}?=",
            base64::engine::general_purpose::STANDARD.encode(value)
        )
    }
}

/// One server-sent event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// `event:` field; `None` means the default type, `message`.
    pub event: Option<String>,
    pub data: String,
    pub id: Option<String>,
}

/// An incremental `text/event-stream` parser (the WHATWG rules): chunks may split lines
/// anywhere, lines end in LF, CRLF or CR, `:` starts a comment (keep-alives), several
/// `data:` lines join with LF, and an event without any `data` field is not dispatched
/// but its `id` still counts for resumption. MCP servers send priming events (an id and
/// an empty `data:`) so a client can resume; those arrive with empty data.
#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    /// The previous chunk ended in CR: a LF at the start of this one belongs to it.
    after_cr: bool,
    started: bool,
    data: String,
    has_data: bool,
    event: String,
    /// The id to send as `Last-Event-ID` when reconnecting.
    pub last_event_id: Option<String>,
    /// The server's `retry:` advice for reconnecting.
    pub retry: Option<Duration>,
}

impl SseParser {
    pub fn push(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        let mut events = Vec::new();
        for &byte in chunk {
            if std::mem::take(&mut self.after_cr) && byte == b'\n' {
                continue;
            }
            match byte {
                b'\n' => self.end_line(&mut events),
                b'\r' => {
                    self.end_line(&mut events);
                    self.after_cr = true;
                }
                _ => self.line.push(byte),
            }
        }
        events
    }

    fn end_line(&mut self, events: &mut Vec<SseEvent>) {
        let raw = std::mem::take(&mut self.line);
        let mut line = String::from_utf8_lossy(&raw).into_owned();
        if !self.started {
            self.started = true;
            if let Some(rest) = line.strip_prefix('\u{feff}') {
                line = rest.to_owned();
            }
        }
        if line.is_empty() {
            self.dispatch(events);
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line.as_str(), ""),
        };
        match field {
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "event" => self.event = value.to_owned(),
            "id" if !value.contains('\0') => self.last_event_id = Some(value.to_owned()),
            "retry" => {
                if let Ok(ms) = value.parse::<u64>() {
                    self.retry = Some(Duration::from_millis(ms));
                }
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, events: &mut Vec<SseEvent>) {
        let event = std::mem::take(&mut self.event);
        if !std::mem::take(&mut self.has_data) {
            return;
        }
        events.push(SseEvent {
            event: (!event.is_empty()).then_some(event),
            data: std::mem::take(&mut self.data),
            id: self.last_event_id.clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(chunks: &[&[u8]]) -> (Vec<SseEvent>, SseParser) {
        let mut p = SseParser::default();
        let mut all = Vec::new();
        for c in chunks {
            all.extend(p.push(c));
        }
        (all, p)
    }

    #[test]
    fn sse_events_with_multi_line_data_comments_and_ids() {
        let (events, p) = parse_all(&[
            b": keep-alive\n\nid: 7\nevent: message\ndata: {\"a\":\ndata: 1}\n\ndata:x\n\n",
        ]);
        assert_eq!(
            events,
            vec![
                SseEvent {
                    event: Some("message".into()),
                    data: "{\"a\":\n1}".into(),
                    id: Some("7".into())
                },
                SseEvent {
                    event: None,
                    data: "x".into(),
                    id: Some("7".into())
                },
            ]
        );
        assert_eq!(p.last_event_id.as_deref(), Some("7"));
    }

    #[test]
    fn sse_line_endings_crlf_and_cr_split_across_chunks() {
        // CRLF split between chunks must not count as two line ends (that would end the
        // event early); a lone CR is a line end too.
        let (events, _) = parse_all(&[
            b"data: a\r",
            b"\ndata: b\r\n\r",
            b"\ndata: c\r\rdata: d\n\n",
        ]);
        assert_eq!(
            events.iter().map(|e| e.data.as_str()).collect::<Vec<_>>(),
            ["a\nb", "c", "d"]
        );
    }

    #[test]
    fn sse_byte_by_byte_equals_whole() {
        let text = b"\xEF\xBB\xBFretry: 250\nid: s1\ndata: \n\nid: s2\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"t\":\"\xC3\xA9\"}}\n\n";
        let whole = parse_all(&[text]);
        let mut p = SseParser::default();
        let mut bytewise = Vec::new();
        for b in text.iter() {
            bytewise.extend(p.push(std::slice::from_ref(b)));
        }
        assert_eq!(whole.0, bytewise);
        assert_eq!(bytewise.len(), 2);
        assert_eq!(
            bytewise[0].data, "",
            "a priming event: empty data, skipped later"
        );
        assert!(bytewise[1].data.contains('é'));
        assert_eq!(p.last_event_id.as_deref(), Some("s2"));
        assert_eq!(p.retry, Some(Duration::from_millis(250)));
    }

    #[test]
    fn sse_priming_event_sets_the_resume_id() {
        let (events, p) = parse_all(&[b"id: 0\nretry: 3000\ndata:\n\n: ping\n\nid: 1\n\n"]);
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].data, "");
        assert_eq!(events[0].id.as_deref(), Some("0"));
        assert_eq!(
            p.last_event_id.as_deref(),
            Some("1"),
            "an id alone still counts"
        );
        assert_eq!(p.retry, Some(Duration::from_secs(3)));
    }

    #[test]
    fn sse_fields_without_colon_bad_retry_and_unknown_fields() {
        let (events, p) = parse_all(&[b"data\nretry: soon\nfoo: bar\nid: a\0b\n\n"]);
        assert_eq!(
            events,
            vec![SseEvent {
                event: None,
                data: String::new(),
                id: None
            }]
        );
        assert_eq!(p.retry, None);
        assert_eq!(p.last_event_id, None, "an id with NUL is ignored");
    }

    #[test]
    fn ids_of_requests_and_responses() {
        let req = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {}});
        let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let resp = json!({"jsonrpc": "2.0", "id": "e1", "result": {"action": "accept"}});
        let err = json!({"jsonrpc": "2.0", "id": 4, "error": {"code": -1, "message": "x"}});
        assert_eq!(request_ids(&req), vec![json!(3)]);
        assert!(request_ids(&note).is_empty());
        assert!(
            request_ids(&resp).is_empty(),
            "a client's answer to the server is no request"
        );
        assert_eq!(response_ids(&resp), vec![json!("e1")]);
        assert_eq!(response_ids(&err), vec![json!(4)]);
        assert!(response_ids(&req).is_empty());
        let batch = json!([req, note, {"jsonrpc": "2.0", "id": "b", "method": "ping"}]);
        assert_eq!(request_ids(&batch), vec![json!(3), json!("b")]);
        assert!(is_jsonrpc(&batch));
        assert!(!is_jsonrpc(&json!([])));
        assert!(!is_jsonrpc(&json!({"id": 1})));
    }

    #[test]
    fn error_responses_are_one_line_json_rpc() {
        let e = error_response(
            json!(9),
            INTERNAL_ERROR,
            "office-bridge is not reachable at https://localhost:29443: refused\nline two",
        );
        let line = e.to_string();
        assert!(!line.contains('\n'));
        let back: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(back["id"], 9);
        assert_eq!(back["error"]["code"], -32603);
        assert_eq!(
            error_response(Value::Null, PARSE_ERROR, "x")["id"],
            Value::Null
        );
    }

    #[test]
    fn folders_a_running_bridge_does_not_allow_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let (inside, outside) = (root.join("reports"), root.join("elsewhere"));
        fs::create_dir_all(&inside).unwrap();
        fs::create_dir_all(&outside).unwrap();
        let run = RunFile {
            port: 1,
            pid: None,
            version: None,
            allowed_folders: Some(vec![inside.clone()]),
        };
        let asked = vec![inside.join("."), outside.clone()];
        assert_eq!(folders_not_in_effect(&asked, Some(&run)), vec![outside]);
        assert!(folders_not_in_effect(std::slice::from_ref(&inside), Some(&run)).is_empty());
        // An older bridge that does not say, or no run file: nothing to warn about.
        let silent = RunFile {
            allowed_folders: None,
            ..run
        };
        assert!(folders_not_in_effect(&asked, Some(&silent)).is_empty());
        assert!(folders_not_in_effect(&asked, None).is_empty());
        // The run file written by `serve` carries the folders.
        let path = dir.path().join("bridge.json");
        fs::write(
            &path,
            serde_json::json!({"port": 2, "allowed_folders": [inside]}).to_string(),
        )
        .unwrap();
        assert_eq!(
            read_run_file(&path).unwrap().allowed_folders,
            Some(vec![root.join("reports")])
        );
    }

    #[test]
    fn run_file_and_port_choice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bridge.json");
        assert_eq!(read_run_file(&path), None);
        fs::write(&path, r#"{"port": 40123, "pid": 77, "version": "0.1.0"}"#).unwrap();
        let run = read_run_file(&path).unwrap();
        assert_eq!(
            run,
            RunFile {
                port: 40123,
                pid: Some(77),
                version: Some("0.1.0".into()),
                allowed_folders: None,
            }
        );
        assert_eq!(choose_port(None, Some(&run)), 40123);
        assert_eq!(choose_port(Some(5000), Some(&run)), 5000);
        assert_eq!(choose_port(None, None), DEFAULT_PORT);
        fs::write(&path, r#"{"port": 41000}"#).unwrap();
        assert_eq!(read_run_file(&path).unwrap().port, 41000);
        for bad in [
            "",
            "{",
            r#"{"port": "x"}"#,
            r#"{"port": 0}"#,
            r#"{"port": 70000}"#,
        ] {
            fs::write(&path, bad).unwrap();
            assert_eq!(read_run_file(&path), None, "{bad}");
        }
    }

    #[test]
    fn standard_headers_and_meta_version() {
        let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "xlsx_read", "_meta": {META_PROTOCOL_KEY: "2026-07-28"}}});
        assert_eq!(meta_protocol_version(&call).as_deref(), Some("2026-07-28"));
        assert_eq!(
            standard_headers(&call),
            vec![
                ("mcp-method", "tools/call".to_owned()),
                ("mcp-name", "xlsx_read".to_owned())
            ]
        );
        assert_eq!(
            standard_headers(&json!({"jsonrpc": "2.0", "id": 1, "method": "ping"})).len(),
            1
        );
        assert_eq!(header_safe("ok name"), "ok name");
        assert_eq!(header_safe("Umsatz Q3 é"), "=?base64?VW1zYXR6IFEzIMOp?=");
        assert!(header_safe(" lead").starts_with("=?base64?"));
    }

    /// The relay against the real bridge, in process: handshake, session id, a request
    /// after the bridge forgot the session (re-handshake, invisible to the client).
    #[tokio::test]
    async fn relays_to_the_real_bridge_and_replaces_a_lost_session() {
        let dir = tempfile::tempdir().unwrap();
        let mut options = crate::server::ServeOptions::new(DataDir::at(dir.path()));
        options.port = 0;
        options.policy_path = dir.path().join("policy.json");
        let files = tempfile::tempdir().unwrap();
        options.allow_dirs = vec![files.path().to_path_buf()];
        let bridge = crate::server::Bridge::bind(options).await.unwrap();
        let port = bridge.local_addr().port();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = tokio::spawn(bridge.serve(async move {
            let _ = stopped.await;
        }));

        let (relay, mut out) = Relay::new(DataDir::at(dir.path()), Some(port), Vec::new());
        assert_eq!(relay.ensure_bridge().await.unwrap(), port);
        let mut next =
            async || match tokio::time::timeout(Duration::from_secs(10), out.recv()).await {
                Ok(Some(Out::Line(line))) => serde_json::from_str::<Value>(&line).unwrap(),
                _ => panic!("no line from the relay"),
            };

        relay
            .forward(
                json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25", "capabilities": {},
                "clientInfo": {"name": "relay-test", "version": "1"}}}),
            )
            .await;
        let init = next().await;
        assert_eq!(init["id"], 1);
        assert_eq!(init["result"]["serverInfo"]["name"], "office-bridge");
        let session = relay.session.lock().unwrap().clone();
        assert!(session.id.is_some(), "the bridge gave a session id");
        assert_eq!(session.protocol.as_deref(), Some("2025-11-25"));
        relay
            .forward(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        relay
            .forward(json!({"jsonrpc": "2.0", "id": "a", "method": "tools/list"}))
            .await;
        let tools = next().await;
        assert_eq!(tools["id"], "a");
        assert!(tools["result"]["tools"].as_array().unwrap().len() >= 17);

        // The bridge no longer knows our session (as after a restart): 404, then a new
        // handshake from the saved initialize, then the request goes through.
        relay.session.lock().unwrap().id = Some("gone".into());
        relay
            .forward(json!({"jsonrpc": "2.0", "id": 2, "method": "ping"}))
            .await;
        assert_eq!(
            next().await,
            json!({"jsonrpc": "2.0", "id": 2, "result": {}})
        );
        let renewed = relay.session.lock().unwrap().clone();
        assert!(renewed.id.is_some() && renewed.id.as_deref() != Some("gone"));
        assert!(renewed.generation > session.generation);

        relay.end_session().await;
        let _ = stop.send(());
        served.await.unwrap().unwrap();
    }

    /// No bridge and none can be started: requests get a JSON-RPC error naming the
    /// address, notifications get nothing, and nothing panics.
    #[tokio::test]
    async fn unreachable_bridge_is_a_json_rpc_error() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        fs::write(&blocker, "").unwrap();
        // A data directory under a file: the relay cannot start a bridge there.
        let (relay, mut out) = Relay::new(DataDir::at(blocker.join("data")), Some(1), Vec::new());
        relay
            .forward(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        relay
            .forward(json!({"jsonrpc": "2.0", "id": 5, "method": "tools/list"}))
            .await;
        let Some(Out::Line(line)) = out.recv().await else {
            panic!("no error line")
        };
        let error: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(error["id"], 5);
        assert_eq!(error["error"]["code"], INTERNAL_ERROR);
        let message = error["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with("office-bridge is not reachable at https://localhost:1"),
            "{message}"
        );
        assert!(out.try_recv().is_err(), "one line, for the request only");
    }

    /// An SSE body: the answer to request 7 in one read, then, after `end_after`, the end
    /// of the stream (`None`: it never ends). `ended` is set when the end is read.
    fn answer_then_end(
        end_after: Option<Duration>,
        ended: Arc<AtomicBool>,
    ) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
        futures_util::stream::unfold(false, move |answered| {
            let ended = ended.clone();
            async move {
                if !answered {
                    let event = "id: 0/1\ndata: {\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}}\n\n";
                    return Some((Ok(event.as_bytes().to_vec()), true));
                }
                match end_after {
                    Some(after) => tokio::time::sleep(after).await,
                    None => std::future::pending::<()>().await,
                }
                ended.store(true, Ordering::SeqCst);
                None
            }
        })
    }

    #[tokio::test]
    async fn the_answer_is_relayed_and_its_stream_read_to_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let (relay, mut out) = Relay::new(DataDir::at(dir.path()), Some(1), Vec::new());
        let ended = Arc::new(AtomicBool::new(false));
        let mut pending = vec![json!(7)];
        let body = answer_then_end(Some(Duration::from_millis(5)), ended.clone());
        relay
            .pump_body(body, &mut SseParser::default(), &mut pending, false, true)
            .await
            .unwrap();
        assert!(pending.is_empty());
        assert!(
            ended.load(Ordering::SeqCst),
            "the end of the stream was read, so the connection can be reused"
        );
        let Some(Out::Line(line)) = out.recv().await else {
            panic!("no answer relayed")
        };
        assert_eq!(serde_json::from_str::<Value>(&line).unwrap()["id"], 7);
    }

    #[tokio::test]
    async fn a_stream_that_does_not_end_after_the_answer_is_let_go() {
        let dir = tempfile::tempdir().unwrap();
        let (relay, mut out) = Relay::new(DataDir::at(dir.path()), Some(1), Vec::new());
        let mut pending = vec![json!(7)];
        let body = answer_then_end(None, Arc::new(AtomicBool::new(false)));
        let started = std::time::Instant::now();
        tokio::time::timeout(
            Duration::from_secs(10),
            relay.pump_body(body, &mut SseParser::default(), &mut pending, false, true),
        )
        .await
        .expect("not held by an endless tail")
        .unwrap();
        assert!(started.elapsed() >= TAIL_WAIT);
        assert!(matches!(out.recv().await, Some(Out::Line(_))));
    }

    /// A tool call whose stream breaks after the bridge said it is held for approval is
    /// answered by the relay with a tool error saying nothing was written; the relay's own
    /// progress token and its notifications never reach the client; a call that was
    /// released (allowed, being written) when its stream broke is left to the usual error.
    #[tokio::test]
    async fn a_held_call_cut_off_is_answered_with_nothing_written() {
        let dir = tempfile::tempdir().unwrap();
        let (relay, mut out) = Relay::new(DataDir::at(dir.path()), Some(1), Vec::new());
        let call = |id: i64| json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "ppt_add_table", "arguments": {}}});
        let tracked = relay.track_tool_call(call(7));
        let token = tracked["params"]["_meta"]["progressToken"]
            .as_str()
            .expect("the relay adds a progress token")
            .to_string();
        relay.track_tool_call(call(8));
        let token8 = relay.calls.lock().unwrap()["8"].token.clone();
        let progress = |token: &str, state: &str| {
            format!(
                "data: {}\n\n",
                json!({"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": token, "progress": 1, "_meta": {"office-bridge/hold": state}}})
            )
        };
        let body = futures_util::stream::iter(vec![
            Ok::<_, std::io::Error>(progress(&token, "held").into_bytes()),
            Ok(progress(&token8, "held").into_bytes()),
            Ok(progress(&token8, "released").into_bytes()),
            Err(std::io::Error::other("connection reset")),
        ]);
        let mut pending = vec![json!(7), json!(8)];
        let broke = relay
            .pump_body(body, &mut SseParser::default(), &mut pending, false, true)
            .await;
        assert!(broke.is_err());
        assert!(
            out.try_recv().is_err(),
            "the relay's own progress is not relayed"
        );
        let unanswered = relay.answer_held_calls(&pending);
        assert_eq!(
            unanswered,
            vec![json!(8)],
            "released: may have been written"
        );
        let Ok(Out::Line(line)) = out.try_recv() else {
            panic!("no answer for the held call")
        };
        let answer: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(answer["id"], 7);
        assert_eq!(answer["result"]["isError"], true);
        let text = answer["result"]["content"][0]["text"].as_str().unwrap();
        assert!(text.contains("nothing was written"), "{text}");
        // A client's own progress token is kept, and its notifications are passed on.
        let mut own = call(9);
        own["params"]["_meta"] = json!({"progressToken": "mine"});
        assert_eq!(
            relay.track_tool_call(own)["params"]["_meta"]["progressToken"],
            "mine"
        );
        let note: Value =
            serde_json::from_str(progress("mine", "held").trim_start_matches("data: ").trim())
                .unwrap();
        assert!(relay.note_progress(&note));
        assert!(relay.calls.lock().unwrap()["9"].held);
    }

    #[test]
    fn stdin_lines_that_are_not_messages_get_a_parse_error() {
        let (relay, mut out) = Relay::new(DataDir::at("/nonexistent"), Some(1), Vec::new());
        for line in [&b"{oops\n"[..], b"42\n", b"\xff\n"] {
            assert!(relay.parse_line(line).is_none());
            let Ok(Out::Line(l)) = out.try_recv() else {
                panic!("no error for {line:?}")
            };
            let e: Value = serde_json::from_str(&l).unwrap();
            assert_eq!(e["id"], Value::Null);
            assert_eq!(e["error"]["code"], PARSE_ERROR);
        }
        assert!(relay.parse_line(b"  \r\n").is_none());
        assert!(out.try_recv().is_err(), "blank lines are skipped silently");
        assert!(
            relay
                .parse_line(b"{\"jsonrpc\":\"2.0\",\"method\":\"x\"}\r\n")
                .is_some()
        );
    }
}
