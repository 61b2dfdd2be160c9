//! A tool call held for the person's approval when its response stream is cut off (the
//! bridge was stopped or crashed) was not carried out: a write held when the bridge stops
//! is closed, never carried out, when it starts again. The agent must hear that, not a
//! transport error that leaves it guessing whether the document changed.
//!
//! So the relay gives every `tools/call` a progress token, follows the bridge's progress
//! notifications that say a call is held and then released, and when a stream breaks
//! answers the calls still held itself, as a tool error saying nothing was written.

use serde_json::{Value, json};

use super::Relay;
use super::messages::is_method;

/// What the relay knows of a tool call in flight from the bridge's progress notifications
/// (`_meta["office-bridge/hold"]`: `held`, then `released`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct CallProgress {
    /// The progress token the call carries.
    token: String,
    /// The relay added the token (the client did not ask for progress): the bridge's
    /// progress notifications for it are not passed on.
    injected: bool,
    /// Held for the person's approval and not (yet) released.
    held: bool,
}

impl Relay {
    /// A `tools/call` gets a progress token when the client gave none, so the bridge tells
    /// the relay when the call is held for approval: if the bridge stops while it is held,
    /// the relay can tell the agent that nothing was written.
    pub(super) fn track_tool_call(&self, mut message: Value) -> Value {
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
    pub(super) fn note_progress(&self, message: &Value) -> bool {
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
    pub(super) fn answer_held_calls(&self, ids: &[Value]) -> Vec<Value> {
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
}

/// The answer to a tool call that was held for the person's approval when the bridge
/// stopped: a tool error the agent reads, saying nothing was written.
fn held_call_cut_off(id: Value) -> Value {
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
const HELD_CALL_CUT_OFF: &str = "Not written: office-bridge stopped (it was restarted or shut down) while this write was held for the person's approval, so nothing was written. A write held when the bridge stops is closed when it starts again, never carried out later. Tell the person; if they still want it, make the call again once office-bridge is back.";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::sse::SseReader;
    use crate::datadir::DataDir;
    use crate::relay::Out;

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
        let chunk = |text: String| Ok::<_, std::io::Error>(std::io::Cursor::new(text));
        let body = futures_util::stream::iter(vec![
            chunk(progress(&token, "held")),
            chunk(progress(&token8, "held")),
            chunk(progress(&token8, "released")),
            Err(std::io::Error::other("connection reset")),
        ]);
        let mut pending = vec![json!(7), json!(8)];
        let broke = relay
            .pump(&mut SseReader::new(body), &mut pending, false, true)
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
}
