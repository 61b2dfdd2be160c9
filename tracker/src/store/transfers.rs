//! The store's side of a write's lifecycle: the checked write with its flows, decisions and
//! approvals; answers and closings; the final outcome of each transfer; and, at start, the
//! writes a previous run left open. Each step is one transaction together with its audit
//! records, so the chain and the tables never disagree.

use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;
use serde_json::{Value, json};

use super::audit_log::append_in;
use super::{Result, Store, StoreError, cells_summary, exec, sql_err, upsert_document};
use crate::approvals::{
    ApprovalState, Closer, Effects, FlowOutcome, Outcome, ResolvedApproval, Scope, SettledWrite,
    Settlement, WriteId,
};
use crate::audit::{AuditRecord, kinds};
use crate::model::{
    Action, Decision, DocumentId, DocumentRef, Flow, FlowStrength, Sensitivity, UnixMillis,
    WritePart,
};
use crate::policy::UserChoices;
use crate::trail::{TrailWrite, WINDOW_MS};

/// An approval to open together with an `ask` decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewApproval {
    /// The new approval's id.
    pub id: String,
    /// When it expires unanswered.
    pub expires_at: UnixMillis,
}

/// Where a checked write stands once its decisions are recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// Allowed or notified: it may be written; its outcome comes with `record_finish`.
    Passing,
    /// Waiting for the approvals opened with it.
    Held,
    /// Blocked by policy: settled now, nothing written.
    Blocked {
        /// Why, in words.
        reason: String,
    },
}

/// An approval as stored: its state, who closed it, when and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApprovalRow {
    /// The approval id.
    pub id: String,
    /// The write it holds; `None` for approvals recorded before writes had ids.
    pub write_id: Option<String>,
    /// The id of its `ask` decision row; `None` for a deletion.
    pub decision: Option<i64>,
    /// How it stands: pending until closed.
    pub state: ApprovalState,
    /// When it was opened.
    pub created_at: UnixMillis,
    /// When it expires unanswered.
    pub expires_at: UnixMillis,
    /// Who closed it, once closed.
    pub decided_by: Option<String>,
    /// When it closed.
    pub decided_at: Option<UnixMillis>,
    /// How far the answer reached (`once`, `document`), once answered.
    pub scope: Option<String>,
    /// Why the bridge closed it, when it did.
    pub reason: Option<String>,
}

/// A flow as stored, with its decision and outcome, for `flows_recent` and `/v1/flows`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StoredFlow {
    /// The flow's row id: its flow id everywhere else.
    pub id: i64,
    /// When the write was checked.
    pub at: UnixMillis,
    /// The write it was part of; `None` for flows recorded before writes had ids.
    pub write_id: Option<String>,
    /// The transfer itself.
    pub flow: Flow,
    /// The policy's decision for it.
    pub decision: Option<Decision>,
    /// Its outcome so far (`pending` until the write settles).
    pub outcome: Outcome,
    /// Whether the write landed; `None` while pending, or when it cannot be known.
    pub written: Option<bool>,
    /// Who decided its outcome, once settled.
    pub decided_by: Option<String>,
}

fn level_str(flow: &Flow) -> &'static str {
    match flow.sensitivity.level {
        Sensitivity::Normal => "normal",
        Sensitivity::Confidential => "confidential",
    }
}

fn strength_str(flow: &Flow) -> &'static str {
    match flow.strength {
        FlowStrength::Possible => "possible",
        FlowStrength::Confirmed => "confirmed",
    }
}

/// Sets a flow's final outcome (only once: a settled flow keeps its outcome).
fn settle_flow(tx: &Transaction<'_>, o: &FlowOutcome) -> rusqlite::Result<usize> {
    exec(
        tx,
        "UPDATE flows SET outcome = ?1, written = ?2, decided_by = ?3, settled_at = ?4
         WHERE id = ?5 AND outcome = 'pending'",
        params![o.outcome.as_str(), o.written, o.decided_by, o.at, o.flow_id],
    )
}

/// The one record that closes a write in the audit chain: its outcome, whether it landed,
/// and each transfer's outcome.
#[allow(clippy::too_many_arguments)]
fn append_write_record(
    tx: &Transaction<'_>,
    path: &str,
    write_id: &WriteId,
    target: &DocumentRef,
    outcome: &str,
    written: Option<bool>,
    flows: &[FlowOutcome],
    extra: Value,
    at: UnixMillis,
) -> Result<AuditRecord> {
    let mut body = json!({
        "write_id": write_id,
        "document": target.name,
        "document_id": target.id.0,
        "outcome": outcome,
        "written": written,
        "flow_ids": flows.iter().map(|f| f.flow_id).collect::<Vec<_>>(),
        "flows": flows.iter().map(|f| json!({"flow_id": f.flow_id, "outcome": f.outcome.as_str()})).collect::<Vec<_>>(),
    });
    if let (Some(m), Value::Object(extra)) = (body.as_object_mut(), extra) {
        m.extend(extra);
    }
    append_in(tx, path, at, kinds::WRITE, &body)
}

impl Store {
    /// Records a checked write in one transaction: each transfer with its decision (and,
    /// for `ask`, its approval), the write itself, and for a write blocked outright its
    /// final record. Returns the flow ids, in order, and for a blocked write each
    /// transfer's outcome. Durable on return (or once the
    /// commit ticket is waited on, in grouped mode): act on the decisions after.
    pub fn record_check(
        &mut self,
        write_id: &WriteId,
        target: &DocumentRef,
        transfers: &[(&Flow, &Decision, Option<&NewApproval>)],
        after_instructions: Option<(&Decision, Option<&NewApproval>)>,
        disposition: &Disposition,
        at: UnixMillis,
    ) -> Result<(Vec<i64>, Vec<FlowOutcome>)> {
        // A write that carries nothing from elsewhere, and comes after no flagged read, has
        // nothing to record until it ends.
        if transfers.is_empty() && after_instructions.is_none() {
            return Ok((Vec::new(), Vec::new()));
        }
        let path = self.path.display().to_string();
        let e = |what: &str| sql_err(&path, what);
        let tx = self.begin("record check")?;
        let state = match disposition {
            Disposition::Passing => "passing",
            Disposition::Held => "held",
            Disposition::Blocked { .. } => "done",
        };
        upsert_document(&tx, target, at).map_err(e("cannot record the target document"))?;
        exec(
            &tx,
            "INSERT INTO writes (id, target, state, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![write_id.as_str(), target.id.0, state, at],
        )
        .map_err(e("cannot record the write"))?;
        let mut ids = Vec::with_capacity(transfers.len());
        for (flow, decision, approval) in transfers {
            let flow_text = serde_json::to_string(flow).map_err(|err| StoreError::Corrupt {
                path: path.clone(),
                what: format!("cannot encode flow: {err}"),
            })?;
            upsert_document(&tx, &flow.source, at)
                .map_err(e("cannot record the source document"))?;
            exec(
                &tx,
                "INSERT INTO flows (at, source, sheet, target, location, strength, sensitivity, body, write_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    at,
                    flow.source.id.0,
                    flow.sheet,
                    flow.target.id.0,
                    flow.location,
                    strength_str(flow),
                    level_str(flow),
                    flow_text,
                    write_id.as_str()
                ],
            )
            .map_err(e("cannot record the flow"))?;
            let flow_id = tx.last_insert_rowid();
            exec(
                &tx,
                "INSERT INTO decisions (flow, at, action, reason, approval, why) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![flow_id, at, decision.action.as_str(), decision.reason, approval.map(|a| a.id.as_str()), why_json(decision)],
            )
            .map_err(e("cannot record the decision"))?;
            let decision_id = tx.last_insert_rowid();
            if let Some(a) = approval {
                exec(
                    &tx,
                    "INSERT INTO approvals (id, decision, state, created_at, expires_at, write_id) VALUES (?1, ?2, 'pending', ?3, ?4, ?5)",
                    params![a.id, decision_id, at, a.expires_at, write_id.as_str()],
                )
                .map_err(e("cannot open the approval"))?;
            }
            let flow_body = json!({
                "flow_id": flow_id,
                "write_id": write_id,
                "document": flow.source.name,
                "document_id": flow.source.id.0,
                "sheet": flow.sheet,
                "cells": cells_summary(&flow.cells),
                "target": flow.target.name,
                "target_id": flow.target.id.0,
                "location": flow.location,
                "matched": flow.matched,
                "confidence": flow.confidence,
                "strength": strength_str(flow),
                "sensitivity": level_str(flow),
                "explicit": flow.explicit,
            });
            append_in(&tx, &path, at, kinds::FLOW, &flow_body)?;
            let mut decision_body = json!({
                "flow_id": flow_id,
                "write_id": write_id,
                "decision_id": decision_id,
                "document": flow.source.name,
                "target": flow.target.name,
                "action": decision.action.as_str(),
                "why": decision.why,
                "reason": decision.reason,
            });
            if let (Some(a), Some(m)) = (approval, decision_body.as_object_mut()) {
                m.insert("approval_id".into(), json!(a.id));
                m.insert("expires_at".into(), json!(a.expires_at));
            }
            append_in(&tx, &path, at, kinds::DECISION, &decision_body)?;
            ids.push(flow_id);
        }
        if let Some((decision, approval)) = after_instructions {
            // Like a deletion's, this decision is the write's own: its approval stands alone.
            if let Some(a) = approval {
                exec(
                    &tx,
                    "INSERT INTO approvals (id, decision, state, created_at, expires_at, write_id) VALUES (?1, NULL, 'pending', ?2, ?3, ?4)",
                    params![a.id, at, a.expires_at, write_id.as_str()],
                )
                .map_err(e("cannot open the approval"))?;
            }
            let mut body = json!({
                "write_id": write_id,
                "target": target.name,
                "target_id": target.id.0,
                "action": decision.action.as_str(),
                "why": decision.why,
                "reason": decision.reason,
            });
            if let (Some(a), Some(m)) = (approval, body.as_object_mut()) {
                m.insert("approval_id".into(), json!(a.id));
                m.insert("expires_at".into(), json!(a.expires_at));
            }
            append_in(&tx, &path, at, kinds::AFTER_INSTRUCTIONS, &body)?;
        }
        let mut outcomes = Vec::new();
        if let Disposition::Blocked { reason } = disposition {
            outcomes = transfers
                .iter()
                .zip(&ids)
                .map(|((flow, _, _), &flow_id)| FlowOutcome {
                    flow_id,
                    write_id: write_id.clone(),
                    source: flow.source.id.clone(),
                    target: flow.target.id.clone(),
                    outcome: Outcome::Blocked,
                    written: Some(false),
                    decided_by: Some("policy".into()),
                    reason: reason.clone(),
                    at,
                })
                .collect();
            for o in &outcomes {
                settle_flow(&tx, o).map_err(e("cannot record the outcome"))?;
            }
            exec(
                &tx,
                "UPDATE writes SET outcome = 'blocked', written = 0, settled_at = ?1 WHERE id = ?2",
                params![at, write_id.as_str()],
            )
            .map_err(e("cannot settle the write"))?;
            append_write_record(
                &tx,
                &path,
                write_id,
                target,
                "blocked",
                Some(false),
                &outcomes,
                json!({"reason": reason}),
                at,
            )?;
        }
        tx.commit().map_err(e("cannot commit the check"))?;
        self.group.committed();
        Ok((ids, outcomes))
    }

    /// Records a deletion and its decision (and, for `ask`, a pending approval and the
    /// held write) in one transaction.
    pub fn record_deletion(
        &mut self,
        write_id: &WriteId,
        target: &DocumentRef,
        what: &str,
        decision: &Decision,
        at: UnixMillis,
        approval: Option<&NewApproval>,
    ) -> Result<AuditRecord> {
        let path = self.path.display().to_string();
        let e = |what: &str| sql_err(&path, what);
        let mut body = json!({
            "write_id": write_id,
            "document": target.name,
            "document_id": target.id.0,
            "what": what,
            "action": decision.action.as_str(),
            "why": decision.why,
            "reason": decision.reason,
        });
        let tx = self.begin("record deletion")?;
        if let Some(a) = approval {
            upsert_document(&tx, target, at).map_err(e("cannot record the document"))?;
            exec(
                &tx,
                "INSERT INTO writes (id, target, state, created_at) VALUES (?1, ?2, 'held', ?3)",
                params![write_id.as_str(), target.id.0, at],
            )
            .map_err(e("cannot record the write"))?;
            // A deletion has no flow or decision row: its approval stands alone.
            exec(
                &tx,
                "INSERT INTO approvals (id, decision, state, created_at, expires_at, write_id) VALUES (?1, NULL, 'pending', ?2, ?3, ?4)",
                params![a.id, at, a.expires_at, write_id.as_str()],
            )
            .map_err(e("cannot open the approval"))?;
            if let Some(m) = body.as_object_mut() {
                m.insert("approval_id".into(), json!(a.id));
                m.insert("expires_at".into(), json!(a.expires_at));
            }
        }
        let rec = append_in(&tx, &path, at, kinds::DELETION, &body)?;
        tx.commit().map_err(e("cannot commit the deletion"))?;
        self.group.committed();
        Ok(rec)
    }

    /// Records what one step of the approvals did, in one transaction: each approval closed
    /// (with its audit record), each transfer settled, each write settled (a refused one
    /// gets its final record), and the person's standing choices when the step changed
    /// them.
    pub fn record_effects(
        &mut self,
        effects: &Effects,
        choices: Option<&UserChoices>,
        at: UnixMillis,
    ) -> Result<()> {
        let path = self.path.display().to_string();
        let e = |what: &str| sql_err(&path, what);
        let tx = self.begin("record approvals")?;
        for r in &effects.resolved {
            record_resolution(&tx, &path, r)?;
        }
        for o in &effects.outcomes {
            settle_flow(&tx, o).map_err(e("cannot record the outcome"))?;
        }
        for s in &effects.settled {
            match &s.settlement {
                Settlement::Proceed { .. } => {
                    exec(
                        &tx,
                        "UPDATE writes SET state = 'passing' WHERE id = ?1",
                        [s.write_id.as_str()],
                    )
                    .map_err(e("cannot record the allowed write"))?;
                }
                Settlement::Refused {
                    outcome,
                    decided_by,
                    reason,
                } => {
                    exec(
                        &tx,
                        "UPDATE writes SET state = 'done', outcome = ?1, written = 0, settled_at = ?2 WHERE id = ?3",
                        params![outcome.as_str(), at, s.write_id.as_str()],
                    )
                    .map_err(e("cannot settle the write"))?;
                    let flows: Vec<FlowOutcome> = effects
                        .outcomes
                        .iter()
                        .filter(|o| o.write_id == s.write_id)
                        .cloned()
                        .collect();
                    append_write_record(
                        &tx,
                        &path,
                        &s.write_id,
                        &s.target,
                        outcome.as_str(),
                        Some(false),
                        &flows,
                        json!({"decided_by": decided_by, "reason": reason}),
                        at,
                    )?;
                }
            }
        }
        if let Some(choices) = choices {
            super::choices::write_choices_in(&tx, &path, choices, at)?;
        }
        tx.commit().map_err(e("cannot commit the approvals"))?;
        self.group.committed();
        Ok(())
    }

    /// A write the gate let through has finished: whether it landed, each transfer's
    /// outcome, and the write's final record (tool, location, approvals).
    #[allow(clippy::too_many_arguments)]
    pub fn record_finish(
        &mut self,
        write_id: &WriteId,
        target: &DocumentRef,
        written: Option<bool>,
        outcomes: &[FlowOutcome],
        approvals: &[(String, String)],
        tool: &str,
        location: &str,
        trail: Option<&TrailWrite>,
        at: UnixMillis,
    ) -> Result<AuditRecord> {
        let path = self.path.display().to_string();
        let e = |what: &str| sql_err(&path, what);
        let tx = self.begin("record finish")?;
        if let Some(w) = trail {
            let parts = serde_json::to_string(&w.parts).map_err(|err| StoreError::Corrupt {
                path: path.clone(),
                what: format!("cannot encode a recent write: {err}"),
            })?;
            exec(
                &tx,
                "INSERT OR REPLACE INTO recent_writes (write_id, target, at, parts) VALUES (?1, ?2, ?3, ?4)",
                params![w.write_id.as_str(), w.target.0, w.at, parts],
            )
            .map_err(e("cannot keep the recent write"))?;
            exec(
                &tx,
                "DELETE FROM recent_writes WHERE at < ?1",
                params![at.saturating_sub(WINDOW_MS)],
            )
            .map_err(e("cannot forget old recent writes"))?;
        }
        for o in outcomes {
            settle_flow(&tx, o).map_err(e("cannot record the outcome"))?;
        }
        let outcome = match written {
            Some(true) => "written",
            Some(false) => "not written",
            None => "unknown",
        };
        exec(
            &tx,
            "UPDATE writes SET state = 'done', outcome = ?1, written = ?2, settled_at = ?3 WHERE id = ?4",
            params![outcome, written, at, write_id.as_str()],
        )
        .map_err(e("cannot settle the write"))?;
        let rec = append_write_record(
            &tx,
            &path,
            write_id,
            target,
            outcome,
            written,
            outcomes,
            json!({
                "tool": tool,
                "location": location,
                "approvals": approvals.iter().map(|(id, by)| json!({"id": id, "by": by})).collect::<Vec<_>>(),
            }),
            at,
        )?;
        tx.commit().map_err(e("cannot commit the write"))?;
        self.group.committed();
        Ok(rec)
    }

    /// The writes of the last [`WINDOW_MS`] before `now` that joined their targets'
    /// trails, oldest first. One that cannot be decoded is left out (it only ever adds
    /// evidence).
    pub fn recent_writes(&self, now: UnixMillis) -> Result<Vec<TrailWrite>> {
        let path = self.path.display().to_string();
        let e = |what: &str| sql_err(&path, what);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT write_id, target, at, parts FROM recent_writes WHERE at >= ?1 ORDER BY at, rowid",
            )
            .map_err(e("cannot read recent writes"))?;
        let rows = stmt
            .query_map(params![now.saturating_sub(WINDOW_MS)], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, UnixMillis>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .map_err(e("cannot read recent writes"))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, target, at, parts) = row.map_err(e("cannot read a recent write"))?;
            if let Ok(parts) = serde_json::from_str::<Vec<WritePart>>(&parts) {
                out.push(TrailWrite {
                    write_id: WriteId(id),
                    target: DocumentId(target),
                    at,
                    parts,
                    sheets: None,
                });
            }
        }
        Ok(out)
    }

    /// Closes what a previous run left open, at start: approvals still pending expire
    /// ("the bridge restarted"; nothing held is ever written by a stale answer), held
    /// writes are refused, and writes that were let through but never finished are closed
    /// with "written: unknown". Everything is recorded in the audit chain.
    pub fn close_stale(&mut self, at: UnixMillis) -> Result<Effects> {
        let path = self.path.display().to_string();
        let e = |what: &str| sql_err(&path, what);
        let closer = Closer::Restart;
        let tx = self.begin("close stale approvals")?;
        let mut effects = Effects::default();
        // Pending approvals, with their write (none for those recorded before writes had
        // ids) and flow.
        let pending: Vec<StaleApproval> = {
            let mut stmt = tx
                .prepare(
                    "SELECT a.id, a.write_id, d.flow, COALESCE(w.target, f.target)
                     FROM approvals a
                     LEFT JOIN decisions d ON d.id = a.decision
                     LEFT JOIN flows f ON f.id = d.flow
                     LEFT JOIN writes w ON w.id = a.write_id
                     WHERE a.state = 'pending' ORDER BY a.created_at, a.id",
                )
                .map_err(e("cannot find pending approvals"))?;
            stmt.query_map([], |r| {
                Ok(StaleApproval {
                    id: r.get(0)?,
                    write_id: r.get(1)?,
                    flow_id: r.get(2)?,
                    target: r.get(3)?,
                })
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(e("cannot read pending approvals"))?
        };
        for StaleApproval {
            id,
            write_id,
            flow_id,
            target,
        } in pending
        {
            let resolved = ResolvedApproval {
                id: id.clone(),
                write_id: WriteId(write_id.unwrap_or_default()),
                flow_id,
                target: DocumentId(target.unwrap_or_default()),
                state: ApprovalState::Expired,
                decided_by: "bridge".into(),
                scope: Scope::Once,
                reason: closer.reason(),
                at,
            };
            record_resolution(&tx, &path, &resolved)?;
            // A flow of a write recorded before writes had ids is settled here; the
            // others with their write below.
            if let Some(flow_id) = flow_id
                && resolved.write_id.0.is_empty()
            {
                exec(
                    &tx,
                    "UPDATE flows SET outcome = 'expired', written = 0, decided_by = 'bridge', settled_at = ?1
                     WHERE id = ?2 AND outcome = 'pending'",
                    params![at, flow_id],
                )
                .map_err(e("cannot settle a stale flow"))?;
            }
            effects.resolved.push(resolved);
        }
        let unfinished: Vec<(String, String, String)> = {
            let mut stmt = tx
                .prepare("SELECT id, target, state FROM writes WHERE state <> 'done' ORDER BY created_at, id")
                .map_err(e("cannot find unfinished writes"))?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(e("cannot read unfinished writes"))?
        };
        for (write_id, target_id, state) in unfinished {
            let write_id = WriteId(write_id);
            let target = document_in(&tx, &path, &target_id)?;
            let flows: Vec<(i64, String, String, String)> = {
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT f.id, f.source, f.target, COALESCE(d.action, 'allow') FROM flows f
                         LEFT JOIN decisions d ON d.flow = f.id
                         WHERE f.write_id = ?1 ORDER BY f.id",
                    )
                    .map_err(e("cannot read a write's flows"))?;
                stmt.query_map([write_id.as_str()], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(e("cannot read a write's flows"))?
            };
            let held = state == "held";
            let outcomes: Vec<FlowOutcome> = flows
                .into_iter()
                .map(|(flow_id, source, flow_target, action)| {
                    let decision = match action.as_str() {
                        "notify" => Action::Notify,
                        "ask" => Action::Ask,
                        "block" => Action::Block,
                        _ => Action::Allow,
                    };
                    FlowOutcome {
                        flow_id,
                        write_id: write_id.clone(),
                        source: DocumentId(source),
                        target: DocumentId(flow_target),
                        outcome: if held {
                            Outcome::Expired
                        } else {
                            Outcome::of_passed(decision)
                        },
                        written: if held { Some(false) } else { None },
                        decided_by: Some("bridge".into()),
                        reason: if held {
                            closer.reason()
                        } else {
                            "the bridge stopped before the write finished; whether it landed is not known".into()
                        },
                        at,
                    }
                })
                .collect();
            for o in &outcomes {
                settle_flow(&tx, o).map_err(e("cannot settle a stale flow"))?;
            }
            let (outcome, written) = if held {
                ("expired", Some(false))
            } else {
                ("unknown", None)
            };
            exec(
                &tx,
                "UPDATE writes SET state = 'done', outcome = ?1, written = ?2, settled_at = ?3 WHERE id = ?4",
                params![outcome, written, at, write_id.as_str()],
            )
            .map_err(e("cannot settle a stale write"))?;
            let reason = if held {
                closer.reason()
            } else {
                "the bridge stopped before the write finished".to_string()
            };
            append_write_record(
                &tx,
                &path,
                &write_id,
                &target,
                outcome,
                written,
                &outcomes,
                json!({"decided_by": "bridge", "reason": reason}),
                at,
            )?;
            effects.outcomes.extend(outcomes);
            if held {
                effects.settled.push(SettledWrite {
                    write_id,
                    target,
                    settlement: Settlement::Refused {
                        outcome: Outcome::Expired,
                        decided_by: "bridge".into(),
                        reason,
                    },
                });
            }
        }
        tx.commit()
            .map_err(e("cannot commit the stale approvals"))?;
        self.group.committed();
        Ok(effects)
    }

    /// The most recent flows with their decisions and outcomes, newest first.
    pub fn recent_flows(&self, limit: usize) -> Result<Vec<StoredFlow>> {
        self.flow_rows("WHERE f.id <= ?1", i64::MAX, limit)
    }

    /// Flows matching `filter` (a WHERE clause over `f` with one parameter, `param`),
    /// newest first, at most `limit`.
    fn flow_rows(&self, filter: &str, param: i64, limit: usize) -> Result<Vec<StoredFlow>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT f.id, f.at, f.body, d.action, d.reason, f.write_id, f.outcome, f.written, f.decided_by, d.why
                 FROM flows f LEFT JOIN decisions d ON d.flow = f.id
                 {filter} ORDER BY f.id DESC LIMIT ?2"
            ))
            .map_err(self.err("cannot query flows"))?;
        let rows = stmt
            .query_map(params![param, limit as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, Option<bool>>(7)?,
                    r.get::<_, Option<String>>(8)?,
                    r.get::<_, Option<String>>(9)?,
                ))
            })
            .map_err(self.err("cannot query flows"))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, at, body, action, reason, write_id, outcome, written, decided_by, why) =
                row.map_err(self.err("cannot read a flow row"))?;
            let flow: Flow = serde_json::from_str(&body)
                .map_err(|err| self.corrupt(format!("flow {id} is unreadable: {err}")))?;
            let decision = match (action, reason) {
                (Some(a), Some(reason)) => Some(Decision {
                    action: serde_json::from_value(json!(a)).map_err(|err| {
                        self.corrupt(format!("flow {id} has an unknown action: {err}"))
                    })?,
                    why: why
                        .map(|w| serde_json::from_str(&w))
                        .transpose()
                        .map_err(|err| {
                            self.corrupt(format!("flow {id} has an unreadable why: {err}"))
                        })?,
                    reason,
                }),
                _ => None,
            };
            let outcome = Outcome::parse(&outcome).ok_or_else(|| {
                self.corrupt(format!("flow {id} has an unknown outcome {outcome:?}"))
            })?;
            out.push(StoredFlow {
                id,
                at,
                write_id,
                flow,
                decision,
                outcome,
                written,
                decided_by,
            });
        }
        Ok(out)
    }

    /// These flows (those that exist), with their decisions and outcomes, in id order: what
    /// a pane that was away asks about the transfers it still shows as pending.
    pub fn flows_by_id(&self, ids: &[i64]) -> Result<Vec<StoredFlow>> {
        let mut out = Vec::new();
        for &id in ids {
            out.extend(self.flow_rows("WHERE f.id = ?1", id, 1)?);
        }
        Ok(out)
    }

    /// The approval `id` as stored, open or closed; `None` when there is none.
    pub fn approval(&self, id: &str) -> Result<Option<ApprovalRow>> {
        let row = self
            .conn
            .query_row(
                "SELECT id, write_id, decision, state, created_at, expires_at, decided_by, decided_at, scope, reason
                 FROM approvals WHERE id = ?1",
                [id],
                |r| {
                    let row = ApprovalRow {
                        id: r.get(0)?,
                        write_id: r.get(1)?,
                        decision: r.get(2)?,
                        // Set from the text below, with an error naming the approval.
                        state: ApprovalState::Pending,
                        created_at: r.get(4)?,
                        expires_at: r.get(5)?,
                        decided_by: r.get(6)?,
                        decided_at: r.get(7)?,
                        scope: r.get(8)?,
                        reason: r.get(9)?,
                    };
                    Ok((r.get::<_, String>(3)?, row))
                },
            )
            .optional()
            .map_err(self.err("cannot read the approval"))?;
        let Some((state, mut row)) = row else {
            return Ok(None);
        };
        row.state = ApprovalState::parse(&state).ok_or_else(|| {
            self.corrupt(format!(
                "approval {} has an unknown state {state:?}",
                row.id
            ))
        })?;
        Ok(Some(row))
    }
}

/// An approval a previous run left pending, with what it held.
struct StaleApproval {
    id: String,
    /// None for approvals recorded before writes had ids.
    write_id: Option<String>,
    flow_id: Option<i64>,
    target: Option<String>,
}

/// Closes one approval (once: an approval already closed is an error, ids are single use)
/// and appends its audit record.
fn record_resolution(tx: &Transaction<'_>, path: &str, r: &ResolvedApproval) -> Result<()> {
    let changed = exec(
        tx,
        "UPDATE approvals SET state = ?1, decided_by = ?2, decided_at = ?3, scope = ?4, reason = ?5
         WHERE id = ?6 AND state = 'pending'",
        params![
            r.state.as_str(),
            r.decided_by,
            r.at,
            r.scope.as_str(),
            (!r.reason.is_empty()).then_some(r.reason.as_str()),
            r.id
        ],
    )
    .map_err(sql_err(path, "cannot close the approval"))?;
    if changed != 1 {
        return Err(StoreError::Approval {
            path: path.to_string(),
            id: r.id.chars().take(80).collect(),
            what: "it is not pending".into(),
        });
    }
    let body = json!({
        "approval_id": r.id,
        "write_id": (!r.write_id.0.is_empty()).then_some(&r.write_id),
        "flow_id": r.flow_id,
        "state": r.state.as_str(),
        "decided_by": r.decided_by,
        "scope": r.scope.as_str(),
        "reason": (!r.reason.is_empty()).then_some(&r.reason),
    });
    append_in(tx, path, r.at, kinds::APPROVAL, &body)?;
    Ok(())
}

/// A document as stored (for records of writes whose target is known only by id).
fn document_in(tx: &Transaction<'_>, path: &str, id: &str) -> Result<DocumentRef> {
    let row: Option<(String, String, String)> = tx
        .query_row(
            "SELECT app, name, location FROM documents WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
        .map_err(sql_err(path, "cannot read a document"))?;
    Ok(match row {
        Some((app, name, location)) => DocumentRef {
            app: super::app_from_str(&app).unwrap_or(crate::model::App::File),
            id: DocumentId(id.to_string()),
            name,
            location,
        },
        None => DocumentRef {
            app: crate::model::App::File,
            id: DocumentId(id.to_string()),
            name: id.to_string(),
            location: String::new(),
        },
    })
}

/// A decision's why as stored (JSON), or NULL.
fn why_json(decision: &Decision) -> Option<String> {
    decision
        .why
        .as_ref()
        .and_then(|w| serde_json::to_string(w).ok())
}
