//! The pane -> bridge methods beyond `register` and `ping`: the person's answers to
//! approvals (`approval.decide`) and their sensitivity marks (`label.set`).

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde::Deserialize;
use serde_json::{Value, json};
use tracker::{App, CellRange, Sensitivity};

use super::protocol::{RpcError, codes};
use super::registry::SessionInfo;
use super::socket::PaneHandler;
use crate::gate::{Answer, Decider, Gate, Scope};

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

impl PaneHandler for GatePaneMethods {
    fn handle(
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
                    // Only a pane of the target document may answer: the gate checks the
                    // document this session belongs to.
                    gate.answer(
                        &p.approval_id,
                        Answer {
                            allow: p.decision == DecisionWord::Allow,
                            scope: p.scope,
                            by: Decider::Pane,
                        },
                        Some(&session.document.id),
                    )
                    .map_err(|e| RpcError::new(codes::INVALID_PARAMS, e.to_string()))?;
                    Ok(json!({"accepted": true}))
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
