//! Reading the bridge's `text/event-stream` bodies: the MCP answer streams and the
//! server-to-client stream the relay reads, and `/v1/events`, which `notify` follows.
//!
//! The `sse-stream` crate decodes the blocks by the WHATWG rules: chunks may split lines
//! anywhere, lines end in LF, CRLF or CR, `:` starts a comment (keep-alives), several
//! `data:` lines join with LF, a field without a colon has an empty value, unknown fields
//! are ignored, and an `id` with NUL is ignored. What it leaves to the caller, by design,
//! is the state of the connection: the last event id, which carries over from block to
//! block and is sent as `Last-Event-ID` to resume, and the server's `retry:` advice.
//! [`SseReader`] keeps that state ([`Resume`]), across reconnects too, and hands on only
//! the events that carry data: a block of an id alone still counts for resumption. MCP
//! servers send priming events (an id and an empty `data:`) so a client can resume; those
//! arrive with empty data.
//!
//! A decoding error (invalid UTF-8 in a field) ends the stream like a broken connection:
//! the bridge writes its events with serde_json, so only something else would send one.

use std::pin::Pin;
use std::time::Duration;

use futures_util::{Stream, StreamExt, TryStream};
use sse_stream::SseByteStream;

use super::error_chain;

/// One server-sent event that carries data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// `event:` field; `None` means the default type, `message`.
    pub event: Option<String>,
    pub data: String,
    /// The last event id when this event arrived (it need not carry one itself).
    pub id: Option<String>,
}

/// What a reconnect needs from the stream read so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resume {
    /// The id to send as `Last-Event-ID` when reconnecting.
    pub last_event_id: Option<String>,
    /// The server's `retry:` advice for reconnecting.
    pub retry: Option<Duration>,
}

/// The events of one SSE body, read one by one as they arrive.
pub struct SseReader<S: TryStream> {
    // Boxed so that any body, `Unpin` or not, can be polled through `&mut self`.
    blocks: Pin<Box<SseByteStream<S>>>,
    resume: Resume,
}

impl<S> SseReader<S>
where
    S: TryStream,
    S::Ok: bytes::Buf,
    S::Error: std::error::Error + Send + Sync + 'static,
{
    /// A fresh stream: no id seen, no retry advice.
    pub fn new(body: S) -> Self {
        Self::resuming(body, Resume::default())
    }

    /// A stream that continues an earlier one (its id and advice hold until this one
    /// sends its own).
    pub fn resuming(body: S, resume: Resume) -> Self {
        SseReader {
            blocks: Box::pin(SseByteStream::new(body)),
            resume,
        }
    }

    /// The next event that carries data; `None` at the end of the body, an error (in
    /// words) if the body broke. The end of the body may come without a final event:
    /// a block not closed by an empty line is not an event.
    ///
    /// Cancel-safe: dropped while waiting, it loses nothing.
    pub async fn next(&mut self) -> Option<Result<SseEvent, String>> {
        while let Some(block) = self.blocks.next().await {
            let block = match block {
                Ok(block) => block,
                Err(sse_stream::Error::Body(e)) => return Some(Err(error_chain(&*e))),
                Err(e) => return Some(Err(error_chain(&e))),
            };
            if let Some(id) = block.id {
                self.resume.last_event_id = Some(id);
            }
            if let Some(ms) = block.retry {
                self.resume.retry = Some(Duration::from_millis(ms));
            }
            if let Some(data) = block.data {
                return Some(Ok(SseEvent {
                    event: block.event.filter(|e| !e.is_empty()),
                    data,
                    id: self.resume.last_event_id.clone(),
                }));
            }
        }
        None
    }

    /// Where a reconnect picks up.
    pub fn resume(&self) -> &Resume {
        &self.resume
    }

    pub fn into_resume(self) -> Resume {
        self.resume
    }
}

/// Why a body given an idle limit ended early.
#[derive(Debug, thiserror::Error)]
pub enum BodyError<E> {
    #[error(transparent)]
    Read(E),
    #[error("nothing for {} s", .0.as_secs())]
    Idle(Duration),
}

/// `body`, ending in [`BodyError::Idle`] when no bytes come for `limit`. The silence is
/// measured below the events, so a keep-alive comment, which is no event, still counts
/// as a sign of life.
pub fn idle_limited<S, T, E>(
    body: S,
    limit: Duration,
) -> impl Stream<Item = Result<T, BodyError<E>>>
where
    S: Stream<Item = Result<T, E>>,
{
    futures_util::stream::unfold(Some(Box::pin(body)), move |body| async move {
        let mut body = body?;
        match tokio::time::timeout(limit, body.next()).await {
            Err(_) => Some((Err(BodyError::Idle(limit)), None)),
            Ok(None) => None,
            Ok(Some(Ok(chunk))) => Some((Ok(chunk), Some(body))),
            Ok(Some(Err(e))) => Some((Err(BodyError::Read(e)), Some(body))),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every event of a body sent in these chunks, and where a reconnect would pick up.
    async fn parse_all(chunks: Vec<&'static [u8]>) -> (Vec<SseEvent>, Resume) {
        let body = futures_util::stream::iter(chunks.into_iter().map(Ok::<_, std::io::Error>));
        let mut reader = SseReader::new(body);
        let mut all = Vec::new();
        while let Some(event) = reader.next().await {
            all.push(event.unwrap());
        }
        (all, reader.into_resume())
    }

    #[tokio::test]
    async fn sse_events_with_multi_line_data_comments_and_ids() {
        let (events, p) = parse_all(vec![
            b": keep-alive\n\nid: 7\nevent: message\ndata: {\"a\":\ndata: 1}\n\ndata:x\n\n",
        ])
        .await;
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

    #[tokio::test]
    async fn sse_line_endings_crlf_and_cr_split_across_chunks() {
        // CRLF split between chunks must not count as two line ends (that would end the
        // event early); a lone CR is a line end too.
        let (events, _) = parse_all(vec![
            b"data: a\r",
            b"\ndata: b\r\n\r",
            b"\ndata: c\r\rdata: d\n\n",
        ])
        .await;
        assert_eq!(
            events.iter().map(|e| e.data.as_str()).collect::<Vec<_>>(),
            ["a\nb", "c", "d"]
        );
    }

    #[tokio::test]
    async fn sse_byte_by_byte_equals_whole() {
        let text: &'static [u8] = b"\xEF\xBB\xBFretry: 250\nid: s1\ndata: \n\nid: s2\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"t\":\"\xC3\xA9\"}}\n\n";
        let whole = parse_all(vec![text]).await;
        let (bytewise, p) = parse_all(text.chunks(1).collect()).await;
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

    #[tokio::test]
    async fn sse_priming_event_sets_the_resume_id() {
        let (events, p) =
            parse_all(vec![b"id: 0\nretry: 3000\ndata:\n\n: ping\n\nid: 1\n\n"]).await;
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

    #[tokio::test]
    async fn sse_fields_without_colon_bad_retry_and_unknown_fields() {
        let (events, p) = parse_all(vec![b"data\nretry: soon\nfoo: bar\nid: a\0b\n\n"]).await;
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

    /// A stream that breaks inside an event is resumed from the event before it, so the
    /// event that was cut off is sent again rather than skipped.
    #[tokio::test]
    async fn an_id_counts_only_once_its_event_is_complete() {
        let (events, p) = parse_all(vec![b"id: 1\ndata: a\n\nid: 2\ndata: {\"half"]).await;
        assert_eq!(events.len(), 1);
        assert_eq!(p.last_event_id.as_deref(), Some("1"));
    }

    #[tokio::test]
    async fn a_resumed_stream_keeps_the_id_and_advice_until_it_sends_its_own() {
        let earlier = Resume {
            last_event_id: Some("4".into()),
            retry: Some(Duration::from_secs(2)),
        };
        let body = futures_util::stream::iter([Ok::<_, std::io::Error>(&b"data: a\n\n"[..])]);
        let mut reader = SseReader::resuming(body, earlier.clone());
        assert_eq!(
            reader.next().await.unwrap().unwrap().id.as_deref(),
            Some("4")
        );
        assert!(reader.next().await.is_none());
        assert_eq!(reader.resume(), &earlier);
    }

    /// A body that says nothing for longer than the limit is over; keep-alive comments,
    /// which are no events, keep it going.
    #[tokio::test]
    async fn an_idle_limit_counts_keep_alives_and_ends_a_silent_body() {
        // Six keep-alives 50 ms apart outlast a 200 ms limit only if each one counts.
        let tick = Duration::from_millis(50);
        let body = futures_util::stream::unfold(0, move |sent| async move {
            match sent {
                0..6 => {
                    tokio::time::sleep(tick).await;
                    Some((Ok::<_, std::io::Error>(&b": ping\n\n"[..]), sent + 1))
                }
                6 => Some((Ok(&b"data: x\n\n"[..]), sent + 1)),
                _ => std::future::pending().await,
            }
        });
        let mut reader = SseReader::new(idle_limited(body, tick * 4));
        assert_eq!(reader.next().await.unwrap().unwrap().data, "x");
        assert_eq!(
            reader.next().await.unwrap(),
            Err("nothing for 0 s".to_string())
        );
        assert!(reader.next().await.is_none(), "a broken body is over");
    }
}
