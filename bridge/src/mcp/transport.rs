//! What the bridge adjusts around rmcp's Streamable HTTP transport at `/mcp`: the status
//! of a session's end, and the end of each answer's event stream.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};
use axum::http::{Method, StatusCode, header};
use axum::middleware;
use axum::response::Response;
use http_body::{Frame, SizeHint};

/// rmcp answers a session's `DELETE /mcp` with 202 Accepted; the session is in fact gone,
/// and clients (the Python SDK among them) read only 200 or 204 as "terminated" and log
/// anything else as a failure. 204 says what happened.
pub async fn session_end_is_no_content(
    request: axum::extract::Request,
    next: middleware::Next,
) -> Response {
    let delete = request.method() == Method::DELETE;
    let mut response = next.run(request).await;
    if delete && response.status() == StatusCode::ACCEPTED {
        *response.status_mut() = StatusCode::NO_CONTENT;
    }
    response
}

/// A `POST /mcp` answered with an event stream ends with the frame that carries the
/// answer, as the transport says it should. rmcp ends the stream a moment after sending
/// the answer, and that end often went out in a write of its own; a client that stops
/// reading at the answer (rmcp's own client does, about one call in five) then finds
/// unread bytes and must drop the connection, so its next call pays for a new TCP and TLS
/// handshake. Ended here, the answer and the end of the stream leave in one write.
pub async fn answer_ends_the_stream(
    request: axum::extract::Request,
    next: middleware::Next,
) -> Response {
    let post = request.method() == Method::POST;
    let response = next.run(request).await;
    let streamed = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if !post || !streamed {
        return response;
    }
    response.map(|body| {
        Body::new(EndsWithTheAnswer {
            inner: body,
            answered: false,
        })
    })
}

/// The body of an answer's event stream, cut after the frame with the answer.
struct EndsWithTheAnswer {
    inner: Body,
    answered: bool,
}

impl HttpBody for EndsWithTheAnswer {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.answered {
            return Poll::Ready(None);
        }
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && frame.data_ref().is_some_and(|d| carries_an_answer(d))
        {
            this.answered = true;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.answered || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        if self.answered {
            SizeHint::with_exact(0)
        } else {
            self.inner.size_hint()
        }
    }
}

/// Whether an SSE frame holds a JSON-RPC answer (a response or an error to a request)
/// rather than a request or notification from the server, a priming event or a
/// keep-alive comment. Only the start of each message is read, in the order rmcp writes
/// it (`{"jsonrpc":"2.0","id":…,"result"` or `…,"error"`): a large result is not parsed a
/// second time, and anything else (another order, a split event) is left alone, so the
/// stream then simply ends when rmcp ends it.
fn carries_an_answer(frame: &[u8]) -> bool {
    frame
        .split(|&b| b == b'\n')
        .filter_map(|line| line.strip_prefix(b"data:"))
        .any(|data| is_answer(data.trim_ascii_start()))
}

fn is_answer(message: &[u8]) -> bool {
    let Some(rest) = message.strip_prefix(br#"{"jsonrpc":"2.0","id":"#) else {
        return false;
    };
    let Some(after_id) = skip_id(rest) else {
        return false;
    };
    after_id.starts_with(br#","result":"#) || after_id.starts_with(br#","error":"#)
}

/// The bytes after a JSON-RPC id: a string (escapes skipped) or a number.
fn skip_id(s: &[u8]) -> Option<&[u8]> {
    if let Some(body) = s.strip_prefix(b"\"") {
        let mut i = 0;
        while i < body.len() {
            match body[i] {
                b'\\' => i += 2,
                b'"' => return Some(&body[i + 1..]),
                _ => i += 1,
            }
        }
        None
    } else {
        let end = s
            .iter()
            .position(|b| !(b.is_ascii_digit() || *b == b'-'))
            .unwrap_or(s.len());
        (end > 0).then(|| &s[end..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[test]
    fn answers_and_everything_else() {
        let yes: &[&[u8]] = &[
            b"data: {\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}}\nid: 0/1\n\n",
            b"id: 3/0\ndata: {\"jsonrpc\":\"2.0\",\"id\":\"a\\\"b\",\"error\":{\"code\":-1}}\n\n",
            b"data:{\"jsonrpc\":\"2.0\",\"id\":-2,\"result\":{\"content\":[]}}\n\n",
        ];
        for frame in yes {
            assert!(
                carries_an_answer(frame),
                "{}",
                String::from_utf8_lossy(frame)
            );
        }
        let no: &[&[u8]] = &[
            // The priming event, a keep-alive, a server request, a notification.
            b"data: \nid: 0/0\nretry: 3000\n\n",
            b": keep-alive\n\n",
            b"data: {\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"elicitation/create\",\"params\":{}}\n\n",
            b"data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\n\n",
            // A "result" that is only a string inside the id, an unterminated id, no id.
            b"data: {\"jsonrpc\":\"2.0\",\"id\":\",\\\"result\\\":\",\"method\":\"x\"}\n\n",
            b"data: {\"jsonrpc\":\"2.0\",\"id\":\"abc",
            b"data: {\"jsonrpc\":\"2.0\",\"id\":,\"result\":{}}\n\n",
            b"",
        ];
        for frame in no {
            assert!(
                !carries_an_answer(frame),
                "{}",
                String::from_utf8_lossy(frame)
            );
        }
    }

    fn stream_of(frames: Vec<&'static str>, then_pending: bool) -> Body {
        let chunks = futures_util::stream::iter(
            frames
                .into_iter()
                .map(|f| Ok::<_, std::io::Error>(Bytes::from(f))),
        );
        let tail = futures_util::stream::once(async move {
            if then_pending {
                std::future::pending::<()>().await;
            }
            Ok::<_, std::io::Error>(Bytes::from_static(b": after\n\n"))
        });
        use futures_util::StreamExt;
        Body::from_stream(chunks.chain(tail))
    }

    #[tokio::test]
    async fn the_body_ends_with_the_answer_frame() {
        // rmcp's stream stays open (pending) after the answer: the wrapper ends it.
        let body = EndsWithTheAnswer {
            inner: stream_of(
                vec![
                    "data: \nid: 0/0\nretry: 3000\n\n",
                    "data: {\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"elicitation/create\"}\n\n",
                    "data: {\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}}\nid: 0/1\n\n",
                ],
                true,
            ),
            answered: false,
        };
        let collected = tokio::time::timeout(std::time::Duration::from_secs(5), body.collect())
            .await
            .expect("the body ends after the answer")
            .unwrap()
            .to_bytes();
        let text = String::from_utf8(collected.to_vec()).unwrap();
        assert!(
            text.ends_with("\"id\":7,\"result\":{}}\nid: 0/1\n\n"),
            "{text}"
        );
        assert!(text.contains("elicitation/create"), "{text}");
    }

    #[tokio::test]
    async fn a_stream_without_an_answer_is_passed_through_whole() {
        let body = EndsWithTheAnswer {
            inner: stream_of(
                vec!["data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\"}\n\n"],
                false,
            ),
            answered: false,
        };
        let text = body.collect().await.unwrap().to_bytes();
        assert!(text.ends_with(b": after\n\n"));
    }
}
