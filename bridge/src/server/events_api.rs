//! The desktop API: `GET /v1/events` (server-sent events of everything that happens) and
//! the approvals (`GET /v1/approvals` lists the pending ones, `POST /v1/approvals/{id}`
//! answers one). Reading takes either bearer token; answering only the desktop token, so
//! the agent never answers its own approvals (`server::guard`, docs/events.md).

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::json;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use super::AppState;
use crate::gate::AnswerRefused;
use tracker::approvals::{Answer, ApprovalError, Scope, Who};

/// Streams every bridge event as it happens. A subscriber too slow to keep up gets a
/// `lagged` event saying how many it missed, instead of slowing the bridge down.
pub async fn events(
    State(state): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let shutdown = state.shutdown.clone();
    let stream = BroadcastStream::new(state.events.subscribe())
        .map(|item| {
            Ok(match item {
                Ok(event) => Event::default()
                    .event(event.name())
                    .json_data(&event)
                    .unwrap_or_else(|_| Event::default().event("error").data("unencodable event")),
                Err(BroadcastStreamRecvError::Lagged(n)) => Event::default()
                    .event("lagged")
                    .data(json!({"missed": n}).to_string()),
            })
        })
        // End the stream when the bridge shuts down, so graceful shutdown need not wait.
        .take_until(shutdown.cancelled_owned());
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

#[derive(Deserialize)]
pub struct FlowsQuery {
    limit: Option<usize>,
}

/// The most recent flows with their decisions, newest first (`?limit=`, at most 500).
pub async fn flows(
    State(state): State<AppState>,
    axum::extract::Query(q): axum::extract::Query<FlowsQuery>,
) -> Response {
    let limit = q.limit.unwrap_or(100).clamp(1, 500);
    match state.gate.recent_flows(limit).await {
        Ok(flows) => {
            let flows: Vec<serde_json::Value> =
                flows.iter().map(crate::events::stored_flow_json).collect();
            Json(json!({"flows": flows})).into_response()
        }
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": e.to_string()})),
        )
            .into_response(),
    }
}

/// The administrator's policy in force, where each value came from, and why the file is
/// not used if it is not.
pub async fn policy(State(state): State<AppState>) -> Response {
    Json(json!(*state.admin.borrow())).into_response()
}

/// The approvals waiting for an answer.
pub async fn pending(State(state): State<AppState>) -> Response {
    match state.gate.pending().await {
        Ok(approvals) => Json(json!({"approvals": approvals})).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": e.to_string()})),
        )
            .into_response(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecideBody {
    decision: Decision,
    #[serde(default)]
    scope: Scope,
}

#[derive(Deserialize, PartialEq, Eq, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Decision {
    Allow,
    Deny,
}

/// Answers an approval from the desktop (monitor page, `office-bridge approvals`, a
/// script); the guard has already refused the agent's token.
pub async fn decide(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Json<DecideBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Json(body) = match body {
        Ok(b) => b,
        Err(e) => {
            // Too large is 413, so a client knows resending the same body cannot work;
            // anything else about the body is the client's mistake to fix (400).
            let status = match e.status() {
                StatusCode::PAYLOAD_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
                _ => StatusCode::BAD_REQUEST,
            };
            return (
                status,
                Json(json!({"error": format!("{}; send {{\"decision\": \"allow\"|\"deny\", \"scope\": \"once\"|\"document\"}}", e.body_text())})),
            )
                .into_response();
        }
    };
    let answer = Answer {
        allow: body.decision == Decision::Allow,
        scope: body.scope,
        by: Who::Desktop,
    };
    match state.gate.answer(&id, answer).await {
        Ok(()) => Json(json!({"accepted": true})).into_response(),
        Err(AnswerRefused::Approval(
            e @ (ApprovalError::Unknown(_) | ApprovalError::AlreadyClosed { .. }),
        )) => (StatusCode::NOT_FOUND, Json(json!({"error": e.to_string()}))).into_response(),
        Err(AnswerRefused::Approval(e)) => {
            (StatusCode::FORBIDDEN, Json(json!({"error": e.to_string()}))).into_response()
        }
        Err(AnswerRefused::Gate(e)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": e.to_string()})),
        )
            .into_response(),
    }
}
