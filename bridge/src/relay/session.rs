//! One client message through to its answers, and the MCP session it travels in.
//!
//! The bridge may restart, rotate its token or forget the session under a client that
//! knows nothing of it; [`Relay::forward`] recovers once per message (find or start the
//! bridge again, re-read the token, replay the client's own `initialize`) and only then
//! answers the client with an error. Only failures from before the bridge acted on a
//! message are retried, so a tool call never runs twice.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::Relay;
use super::messages::{INTERNAL_ERROR, is_method, request_ids};
use super::requests::PostError;
use crate::client::{choose_port, error_chain, read_run_file};

impl Relay {
    /// Sends one client message and relays what comes back. Never fails: errors become
    /// JSON-RPC errors for the requests among the message.
    pub(super) async fn forward(self: &Arc<Self>, message: Value) {
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

    fn port_for_messages(&self) -> u16 {
        match &*self.bridge.lock().unwrap() {
            Some((port, _)) => *port,
            None => choose_port(
                self.explicit_port,
                read_run_file(&self.data_dir.run_file()).as_ref(),
            ),
        }
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
    pub(super) async fn end_session(&self) {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datadir::DataDir;
    use crate::relay::Out;
    use std::fs;

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
}
