//! The pane -> bridge methods beyond `register` and `ping`: the person's answers to
//! approvals (`approval.decide`), the open approvals of the pane's document
//! (`approval.list`, for reconciling cards after a reconnect), how transfers it still shows as
//! pending ended (`flow.list`), and their sensitivity marks
//! (`label.set`, `label.list`). When a pane registers, the bridge asks it for its
//! document's sensitivity label.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde::Deserialize;
use serde_json::{Value, json};
use tracker::{App, CellRange, Sensitivity};

use super::protocol::{RpcError, codes};
use crate::gate::{AnswerRefused, Gate};
use crate::session::SessionInfo;
use tracker::approvals::{Answer, Scope, Who};

pub struct GatePaneMethods {
    pub gate: Arc<Gate>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecideParams {
    approval_id: String,
    decision: DecisionWord,
    #[serde(default)]
    scope: Scope,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum DecisionWord {
    Allow,
    Deny,
}

/// A pane asks about at most this many transfers at once (it tracks fewer lines than that).
const MAX_FLOW_IDS: usize = 500;

/// A pane reloaded (or opened) asks for the most recent transfers of its document: at most
/// this many.
const MAX_RECENT: usize = 200;

/// Either the transfers a pane still shows as pending (`flow_ids`), or the most recent
/// ones from or into its document (`recent`: what a reloaded pane shows again).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FlowListParams {
    #[serde(default)]
    flow_ids: Option<Vec<i64>>,
    #[serde(default)]
    recent: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LabelParams {
    sheet: String,
    address: String,
    sensitivity: Sensitivity,
}

fn invalid(e: impl std::fmt::Display) -> RpcError {
    RpcError::new(codes::INVALID_PARAMS, format!("invalid params: {e}"))
}

impl GatePaneMethods {
    /// A pane registered (or re-registered): the bridge may ask it things in return (its
    /// document's sensitivity label). Runs on its own task.
    pub fn registered(&self, session: SessionInfo) -> BoxFuture<'static, ()> {
        let gate = self.gate.clone();
        Box::pin(async move { gate.pane_registered(&session).await })
    }

    /// Answers one pane request; unknown methods are -32601.
    pub fn handle(
        &self,
        session: SessionInfo,
        method: String,
        params: Value,
    ) -> BoxFuture<'static, Result<Value, RpcError>> {
        let gate = self.gate.clone();
        Box::pin(async move {
            match method.as_str() {
                "approval.decide" => {
                    let p: DecideParams = serde_json::from_value(params).map_err(invalid)?;
                    // Only a pane of the target document may answer: the tracker checks the
                    // document this session belongs to.
                    let answer = Answer {
                        allow: p.decision == DecisionWord::Allow,
                        scope: p.scope,
                        by: Who::Pane(session.document.id.clone()),
                    };
                    gate.answer(&p.approval_id, answer)
                        .await
                        .map_err(|e| match e {
                            AnswerRefused::Approval(e) => {
                                RpcError::new(codes::INVALID_PARAMS, e.to_string())
                            }
                            AnswerRefused::Gate(e) => {
                                RpcError::new(codes::INTERNAL_ERROR, e.to_string())
                            }
                        })?;
                    Ok(json!({"accepted": true}))
                }
                "approval.list" => {
                    let approvals = gate
                        .pending_for(session.document.id.clone())
                        .await
                        .map_err(|e| RpcError::new(codes::INTERNAL_ERROR, e.to_string()))?;
                    Ok(json!({"approvals": approvals}))
                }
                "flow.list" => {
                    let p: FlowListParams = serde_json::from_value(params).map_err(invalid)?;
                    let flows = match (p.flow_ids, p.recent) {
                        (Some(ids), None) => {
                            if ids.len() > MAX_FLOW_IDS {
                                return Err(invalid(format!(
                                    "at most {MAX_FLOW_IDS} flow ids at a time"
                                )));
                            }
                            gate.flows_of(session.document.id.clone(), ids).await
                        }
                        (None, Some(n)) if (1..=MAX_RECENT).contains(&n) => {
                            gate.recent_flows_of(session.document.id.clone(), n).await
                        }
                        (None, Some(_)) => {
                            return Err(invalid(format!("recent must be 1 to {MAX_RECENT}")));
                        }
                        _ => {
                            return Err(invalid(
                                "send either flow_ids (the transfers to ask about) or recent (how many of the latest)",
                            ));
                        }
                    }
                    .map_err(|e| RpcError::new(codes::INTERNAL_ERROR, e.to_string()))?;
                    Ok(
                        json!({"flows": flows.iter().map(crate::events::stored_flow_json).collect::<Vec<_>>()}),
                    )
                }
                "label.list" => {
                    if session.app != App::Excel {
                        return Err(RpcError::new(
                            codes::INVALID_PARAMS,
                            "label.list is for workbooks: only the Excel pane marks ranges",
                        ));
                    }
                    let marks = gate
                        .marks(session.document.id.clone())
                        .await
                        .map_err(|e| RpcError::new(codes::INTERNAL_ERROR, e.to_string()))?;
                    Ok(
                        json!({"marks": marks.iter().map(|(sheet, range)| json!({"sheet": sheet, "address": range.to_string()})).collect::<Vec<_>>()}),
                    )
                }
                "label.set" => {
                    if session.app != App::Excel {
                        return Err(RpcError::new(
                            codes::INVALID_PARAMS,
                            "label.set is for workbooks: only the Excel pane marks ranges",
                        ));
                    }
                    let p: LabelParams = serde_json::from_value(params).map_err(invalid)?;
                    if p.sheet.is_empty() || p.sheet.chars().count() > 31 {
                        return Err(invalid("sheet must be a worksheet name (1-31 characters)"));
                    }
                    let (_, address) = tracker::split_sheet(&p.address);
                    let range = CellRange::parse(address).map_err(invalid)?;
                    gate.set_label(session.document.clone(), p.sheet, range, p.sensitivity)
                        .await
                        .map_err(|e| RpcError::new(codes::INTERNAL_ERROR, e.to_string()))?;
                    Ok(json!({"applied": true}))
                }
                other => Err(RpcError::new(
                    codes::METHOD_NOT_FOUND,
                    format!("unknown method {other:?}"),
                )),
            }
        })
    }
}
