//! Reading the bridge's event streams: the response stream of one POST, relayed as it
//! arrives (a tool call may wait minutes for a person's approval) and resumed with
//! `Last-Event-ID` when it breaks before its answers came; and the server-to-client
//! stream of the session (list changes, elicitation requests), reopened while the
//! session lasts.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::Relay;
use super::messages::{is_jsonrpc, response_ids};
use super::requests::GetStream;
use crate::client::sse::{Resume, SseEvent, SseReader};

/// After the last awaited answer, how long the rest of its response stream is still read.
/// The bridge ends the stream right after the answer; reading to that end returns the
/// connection to the pool, where dropping the body first would close it.
const TAIL_WAIT: Duration = Duration::from_millis(50);

/// Attempts to resume a response stream that broke before the answer came.
const RESUME_ATTEMPTS: u32 = 5;

impl Relay {
    /// Relays an SSE response as it arrives (a tool call may wait minutes for a
    /// person's approval). If the stream breaks before the answers to `ids` came, it is
    /// resumed with `Last-Event-ID` as the transport specifies.
    ///
    /// When it cannot be resumed, calls that were held for approval are answered here (see
    /// [`Relay::answer_held_calls`]); the error names the ids still unanswered.
    pub(super) async fn relay_event_stream(
        &self,
        response: reqwest::Response,
        ids: &[Value],
        initialize: bool,
        relay_output: bool,
    ) -> Result<(), (Vec<Value>, String)> {
        let mut pending: Vec<Value> = ids.to_vec();
        let mut events = SseReader::new(response.bytes_stream());
        let mut outcome = self
            .pump(&mut events, &mut pending, initialize, relay_output)
            .await;
        let mut resume = events.into_resume();
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
            let Some(last_id) = resume.last_event_id.clone() else {
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
            tokio::time::sleep(resume.retry.unwrap_or(Duration::from_secs(1))).await;
            tracing::debug!(attempt = attempts, "resuming a response stream");
            outcome = match self.open_get(Some(&last_id)).await {
                GetStream::Open(response) => {
                    let mut events =
                        SseReader::resuming(response.bytes_stream(), std::mem::take(&mut resume));
                    let r = self
                        .pump(&mut events, &mut pending, initialize, relay_output)
                        .await;
                    resume = events.into_resume();
                    r
                }
                GetStream::NotOffered => Err("the bridge does not offer stream resumption".into()),
                GetStream::SessionGone => Err("the bridge lost the session".into()),
                GetStream::Failed(e) => Err(e),
            };
        }
        Ok(())
    }

    /// Reads one SSE body, relaying each message. Once every awaited answer came, the
    /// rest is read for at most [`TAIL_WAIT`]: the stream's end can arrive in a later read
    /// than the answer (before the bridge sent both in one write, `mcp::transport`, about
    /// one call in twenty), and dropping the body before its end closes the connection, so
    /// the next call pays for a new TCP and TLS handshake.
    pub(super) async fn pump<S>(
        &self,
        events: &mut SseReader<S>,
        pending: &mut Vec<Value>,
        initialize: bool,
        relay_output: bool,
    ) -> Result<(), String>
    where
        S: futures_util::TryStream,
        S::Ok: bytes::Buf,
        S::Error: std::error::Error + Send + Sync + 'static,
    {
        let awaiting = !pending.is_empty();
        let mut tail_until: Option<tokio::time::Instant> = None;
        loop {
            let next = match tail_until {
                None => events.next().await,
                Some(deadline) => match tokio::time::timeout_at(deadline, events.next()).await {
                    Ok(next) => next,
                    Err(_) => return Ok(()),
                },
            };
            let event = match next {
                None => return Ok(()),
                Some(Ok(event)) => event,
                // Every answer is out: a broken tail costs only the connection.
                Some(Err(_)) if tail_until.is_some() => return Ok(()),
                Some(Err(e)) => return Err(e),
            };
            if let Some(message) = self.message_of(event) {
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

    /// Starts (or restarts, for a new session) the GET stream that carries the bridge's
    /// own messages: list changes, elicitation requests.
    pub(super) fn start_listener(self: &Arc<Self>) {
        let relay = self.clone();
        let generation = self.session.lock().unwrap().generation;
        let task = tokio::spawn(async move { relay.listen(generation).await });
        if let Some(old) = self.listener.lock().unwrap().replace(task) {
            old.abort();
        }
    }

    async fn listen(&self, generation: u64) {
        let mut resume = Resume::default();
        let mut backoff = Duration::from_millis(500);
        loop {
            if self.session.lock().unwrap().generation != generation {
                return;
            }
            match self.open_get(resume.last_event_id.as_deref()).await {
                GetStream::NotOffered => {
                    tracing::debug!("office-bridge offers no server-to-client stream (405)");
                    return;
                }
                // The next POST finds out too, makes a new session and a new listener.
                GetStream::SessionGone => return,
                GetStream::Open(response) => {
                    backoff = Duration::from_millis(500);
                    let mut events =
                        SseReader::resuming(response.bytes_stream(), std::mem::take(&mut resume));
                    if let Err(e) = self.pump_forever(&mut events).await {
                        tracing::debug!("server-to-client stream broke: {e}");
                    }
                    resume = events.into_resume();
                }
                GetStream::Failed(e) => {
                    tracing::debug!("server-to-client stream not available: {e}");
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
            tokio::time::sleep(resume.retry.unwrap_or(Duration::ZERO).max(backoff)).await;
        }
    }

    /// Relays every message of the server-to-client stream until it ends or breaks.
    async fn pump_forever<S>(&self, events: &mut SseReader<S>) -> Result<(), String>
    where
        S: futures_util::TryStream,
        S::Ok: bytes::Buf,
        S::Error: std::error::Error + Send + Sync + 'static,
    {
        while let Some(event) = events.next().await {
            if let Some(message) = self.message_of(event?) {
                self.emit(&message);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datadir::DataDir;
    use crate::relay::Out;
    use serde_json::json;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// An SSE body: the answer to request 7 in one read, then, after `end_after`, the end
    /// of the stream (`None`: it never ends). `ended` is set when the end is read.
    fn answer_then_end(
        end_after: Option<Duration>,
        ended: Arc<AtomicBool>,
    ) -> impl futures_util::Stream<Item = Result<&'static [u8], std::io::Error>> {
        futures_util::stream::unfold(false, move |answered| {
            let ended = ended.clone();
            async move {
                if !answered {
                    let event = "id: 0/1\ndata: {\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}}\n\n";
                    return Some((Ok(event.as_bytes()), true));
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
            .pump(&mut SseReader::new(body), &mut pending, false, true)
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
            relay.pump(&mut SseReader::new(body), &mut pending, false, true),
        )
        .await
        .expect("not held by an endless tail")
        .unwrap();
        assert!(started.elapsed() >= TAIL_WAIT);
        assert!(matches!(out.recv().await, Some(Out::Line(_))));
    }
}
