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
//!
//! This file is the stdio side and the relay's state; the rest, by what it does:
//! - `launcher`: finding the bridge, or starting one detached;
//! - `session`: one client message through to its answers, and keeping the MCP session
//!   (re-handshake when the bridge lost it, `DELETE` at the end);
//! - `requests`: the HTTP requests to `/mcp` and what their answers mean;
//! - `headers`: the headers those requests carry;
//! - `streams`: reading the bridge's event streams, resuming a broken one;
//! - `held_calls`: telling the agent that nothing was written when a call held for
//!   approval is cut off;
//! - `messages`: the JSON-RPC shapes the transport looks at.
//!
//! Finding the bridge's port, its HTTPS client and the SSE decoding are shared with the
//! other commands that talk to a running bridge ([`crate::client`]).

mod headers;
mod held_calls;
mod launcher;
mod messages;
mod requests;
mod session;
mod streams;

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::datadir::DataDir;
use held_calls::CallProgress;
use messages::{PARSE_ERROR, error_response, is_method};

/// After stdin closes, how long answers still in flight may take before we exit anyway
/// (a client that closed stdin is usually gone; a pipe user still gets quick answers).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

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

/// One relay: the client on stdio, the bridge it found or started, and the MCP session
/// between them.
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
