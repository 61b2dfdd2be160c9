//! [`Tracker`]: the one place the bridge asks. It owns the value index, the durable store,
//! the policy, what is known of each document's sensitivity label, and the approvals of
//! held writes, and keeps them in step: a read is stored (with its audit record) before it
//! is indexed; a write's flows and decisions are stored before the decision is returned;
//! every answer, expiry and outcome is stored before the bridge acts on it. Nothing here
//! waits or reads a clock: callers pass the time in.

use std::collections::HashMap;
use std::path::Path;

use crate::approvals::{
    Answer, ApprovalError, ApprovalState, Closer, Effects, FlowOutcome, HeldApproval, HeldSubject,
    Holds, TransferRef, WriteId, new_approval_id,
};
use crate::audit::{AuditRecord, VerifyReport};
use crate::detect::Detector;
use crate::flagged::{self, FlaggedRead};
use crate::injection::InjectionFinding;
use crate::model::{
    Action, CellAddr, CellRange, Decision, DocumentId, DocumentLabel, DocumentRef, Flow,
    FlowStrength, ProvenanceId, ReadEvent, Sensitivity, SensitivityMark, UnixMillis, WriteContent,
};
use crate::policy::{self, AdminPolicy, UserChoices};
use crate::store::{
    ApprovalRow, CommitStats, CommitTicket, Disposition, Durability, KeyedSince, NewApproval,
    Store, StoreError, StoredFlow,
};
use crate::trail::{SheetKey, Trails};

/// A flow found in a write, with its decision, as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedFlow {
    /// The transfer found.
    pub flow: Flow,
    /// The policy's decision for it, with its reason.
    pub decision: Decision,
    /// Its id in the store, shared by its decision, approval and outcome.
    pub flow_id: i64,
}

/// Everything the tracker found in one write, and where the write stands.
#[derive(Clone, Debug, PartialEq)]
pub struct WriteCheck {
    /// The write's id, shared by its flows, approvals and records.
    pub write_id: WriteId,
    /// Every transfer found in the write, in detection order.
    pub flows: Vec<CheckedFlow>,
    /// For a held write: its approvals, one per held flow, in flow order.
    pub held: Vec<HeldApproval>,
    /// For a write blocked outright: each transfer's outcome, settled now.
    pub outcomes: Vec<FlowOutcome>,
    /// The write's own decision when it comes within an hour of a read that returned
    /// instruction-like text (`flows.after_flagged_instructions`, see [`crate::flagged`]).
    pub after_instructions: Option<Decision>,
}

impl WriteCheck {
    /// The strictest decision over all flows and the write's own (allow when there is
    /// none): one blocked flow blocks the whole write, one held flow holds it.
    pub fn action(&self) -> Action {
        self.flows
            .iter()
            .map(|f| f.decision.action)
            .chain(self.after_instructions.iter().map(|d| d.action))
            .max()
            .unwrap_or(Action::Allow)
    }

    /// The flows whose decision is the write's overall action, for the reason shown.
    pub fn deciding(&self) -> impl Iterator<Item = &CheckedFlow> {
        let action = self.action();
        self.flows
            .iter()
            .filter(move |f| f.decision.action == action)
    }
}

/// A deletion's decision, and its approval when it is held.
#[derive(Clone, Debug, PartialEq)]
pub struct DeletionCheck {
    /// The deletion's write id.
    pub write_id: WriteId,
    /// The policy's decision for it.
    pub decision: Decision,
    /// Its approval when the decision is `ask`.
    pub held: Option<HeldApproval>,
}

/// Why an answer was not taken: the answer itself, or the store.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    /// The answer was refused: unknown or closed approval, or the wrong one to answer.
    #[error(transparent)]
    Approval(#[from] ApprovalError),
    /// The answer could not be recorded.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The tracker: the value index, the store, the policies and the held writes, kept in step.
pub struct Tracker {
    store: Store,
    detector: Detector,
    admin: AdminPolicy,
    choices: UserChoices,
    /// What is known of each document's sensitivity label (kept in the store).
    labels: HashMap<DocumentId, DocumentLabel>,
    holds: Holds,
    /// The recent writes into each target, joined with the next one (see [`crate::trail`]).
    trails: Trails,
    /// The last read that returned instruction-like text (kept in the audit chain).
    flagged: Option<FlaggedRead>,
    /// What opening the store closed (approvals and writes a previous run left open), for
    /// the bridge to announce.
    restart: Effects,
    /// Cells the stored reads hold, at least (the live ones after the last compaction,
    /// plus every cell recorded since): when it passes twice the live cells plus
    /// [`COMPACT_SLACK`], the stored reads are compacted while running.
    stored_cells: usize,
    /// [`COMPACT_SLACK`]; smaller in tests.
    compact_slack: usize,
}

/// Stored cells beyond twice the live ones before a running tracker compacts its stored
/// reads: a compaction decodes every stored read (0.15 s at 1M cells, release build), so it
/// waits until at least this many superseded cells have piled up, and costs about a tenth
/// of a microsecond per cell recorded.
const COMPACT_SLACK: usize = 200_000;

/// The source sheet a flow came from.
fn sheet_key(f: &Flow) -> SheetKey {
    (f.source.id.clone(), f.sheet.clone())
}

/// The source sheets of some flows, each once.
fn sheets_of(flows: &[Flow]) -> Vec<SheetKey> {
    let mut keys: Vec<SheetKey> = flows.iter().map(sheet_key).collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

fn wall_clock() -> UnixMillis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as UnixMillis)
        .unwrap_or(0)
}

impl Tracker {
    /// Opens (or creates) the store and rebuilds the index from every label in it, so a
    /// restart still recognises data read before it.
    pub fn open(path: &Path, admin: AdminPolicy) -> Result<Tracker, StoreError> {
        Self::open_at(path, admin, Durability::EachCommit, wall_clock())
    }

    /// [`Tracker::open`] with the store's durability chosen. With
    /// [`Durability::Grouped`] the caller takes [`Tracker::commit_ticket`] after each call
    /// and waits on it, outside its lock, before acting on the result.
    pub fn open_with(
        path: &Path,
        admin: AdminPolicy,
        durability: Durability,
    ) -> Result<Tracker, StoreError> {
        Self::open_at(path, admin, durability, wall_clock())
    }

    /// Opens the store at `now`: approvals and writes a previous run left open are closed
    /// (see [`Store::close_stale`]) and kept for [`Tracker::take_restart_effects`].
    pub fn open_at(
        path: &Path,
        admin: AdminPolicy,
        durability: Durability,
        now: UnixMillis,
    ) -> Result<Tracker, StoreError> {
        let mut store = Store::open_with(path, durability)?;
        let restart = store.close_stale(now)?;
        let mut detector = Detector::new();
        for read in store.labels_compacting()? {
            detector.add_read(&read);
        }
        let stored_cells = detector.len();
        let choices = store.load_choices()?;
        let labels = store.document_labels()?;
        let trails = Trails::from_recent(store.recent_writes(now)?);
        let flagged = store.last_flagged_read(now)?;
        Ok(Tracker {
            trails,
            flagged,
            store,
            detector,
            admin,
            choices,
            labels,
            holds: Holds::default(),
            restart,
            stored_cells,
            compact_slack: COMPACT_SLACK,
        })
    }

    /// Hashes reads' values with the install's key from now on (see
    /// [`Store::set_audit_key`]); reads are refused until it is set.
    pub fn set_audit_key(&mut self, key: crate::audit_key::AuditKey) -> Result<(), StoreError> {
        self.store.set_audit_key(key)
    }

    /// What opening the store closed, once.
    pub fn take_restart_effects(&mut self) -> Effects {
        std::mem::take(&mut self.restart)
    }

    /// How many cells the value index holds.
    pub fn indexed_cells(&self) -> usize {
        self.detector.len()
    }

    /// Decides by `admin` from now on, and keeps it as the last good policy (with an audit
    /// record naming `path`) when it differs from the one kept.
    pub fn put_admin_policy(
        &mut self,
        admin: AdminPolicy,
        path: &str,
        at: UnixMillis,
    ) -> Result<bool, StoreError> {
        let changed = self.store.save_admin_policy(&admin, path, at)?;
        self.admin = admin;
        Ok(changed)
    }

    /// The policy last put in force, from the store: what a policy file that can no longer
    /// be used falls back to, even across a restart.
    pub fn last_good_admin_policy(&self) -> Result<Option<AdminPolicy>, StoreError> {
        self.store.load_admin_policy()
    }

    /// The person's standing choices and marks, as in force.
    pub fn choices(&self) -> &UserChoices {
        &self.choices
    }

    /// Where the tracker's database lives (the audit key file sits beside it).
    pub fn database_path(&self) -> &Path {
        self.store.path()
    }

    /// Since when the audit log's values hashes are keyed, and by which key.
    pub fn audit_keyed_since(&self) -> Result<Option<KeyedSince>, StoreError> {
        self.store.keyed_since()
    }

    /// How many commits the store made and how many flushes they took.
    pub fn commit_stats(&self) -> CommitStats {
        self.store.commit_stats()
    }

    /// The transfers with these ids, as stored (with their decisions and outcomes).
    pub fn flows_by_id(&self, ids: &[i64]) -> Result<Vec<StoredFlow>, StoreError> {
        self.store.flows_by_id(ids)
    }

    /// The `limit` most recent transfers, newest first.
    pub fn recent_flows(&self, limit: usize) -> Result<Vec<StoredFlow>, StoreError> {
        self.store.recent_flows(limit)
    }

    /// One approval as stored, whatever its state.
    pub fn approval(&self, id: &str) -> Result<Option<ApprovalRow>, StoreError> {
        self.store.approval(id)
    }

    /// Every audit record, oldest first.
    pub fn audit_records(&self) -> Result<Vec<AuditRecord>, StoreError> {
        self.store.audit_records()
    }

    /// See [`Store::commit_ticket`].
    pub fn commit_ticket(&self) -> CommitTicket {
        self.store.commit_ticket()
    }

    /// What is known of a document's sensitivity label.
    pub fn document_label(&self, document: &DocumentId) -> Option<&DocumentLabel> {
        self.labels.get(document)
    }

    /// Records what was learned of a document's label (`source`: `pane`, `file`). A host
    /// that cannot say (`Unknown`) never erases a label learned before: data is never
    /// treated as less sensitive than the last label seen for its document. Returns
    /// whether anything changed.
    pub fn learn_document_label(
        &mut self,
        document: &DocumentRef,
        label: DocumentLabel,
        source: &str,
        at: UnixMillis,
    ) -> Result<bool, StoreError> {
        if matches!(label, DocumentLabel::Unknown { .. })
            && matches!(
                self.labels.get(&document.id),
                Some(DocumentLabel::Labelled { .. } | DocumentLabel::Unlabelled)
            )
        {
            return Ok(false);
        }
        let changed = self
            .store
            .save_document_label(document, &label, source, at)?;
        self.labels.insert(document.id.clone(), label);
        Ok(changed)
    }

    /// Labels every cell of a read: durable first, then indexed.
    pub fn record_read(&mut self, read: &ReadEvent) -> Result<ProvenanceId, StoreError> {
        self.store.record_read(read)?;
        self.detector.add_read(read);
        self.stored_cells += read.sheets.iter().map(|s| s.cells.len()).sum::<usize>();
        self.compact_stored_reads_if_due()?;
        Ok(read.id)
    }

    /// Compacts the stored reads when superseded cells have piled up (see
    /// [`Store::labels_compacting`]): an agent re-reading the same ranges for weeks would
    /// otherwise grow the store until the next start. The labels stay as they are (the
    /// detector already holds the latest read of each cell).
    fn compact_stored_reads_if_due(&mut self) -> Result<(), StoreError> {
        let live = self.detector.len();
        if self.stored_cells <= 2 * live + self.compact_slack {
            return Ok(());
        }
        self.store.labels_compacting()?;
        self.stored_cells = live;
        Ok(())
    }

    /// Finds the flows a write carries, decides each by policy and the person's choices,
    /// and stores flows and decisions before returning. A held write gets one approval per
    /// held flow, expiring at `expires_at`; a blocked write is settled at once.
    pub fn check_write(
        &mut self,
        write: &WriteContent,
        at: UnixMillis,
        expires_at: UnixMillis,
    ) -> Result<WriteCheck, StoreError> {
        let write_id = WriteId::new();
        let mut flows = self.detector.check(write);
        self.add_trail_flows(write, at, &mut flows);
        for flow in &mut flows {
            flow.sensitivity = self.sensitivity(flow);
        }
        let decisions: Vec<Decision> = flows
            .iter()
            .map(|f| policy::decide_flow(f, &self.admin, &self.choices))
            .collect();
        let after_instructions = self.after_instructions(&write.target, at);
        let action = decisions
            .iter()
            .chain(&after_instructions)
            .map(|d| d.action)
            .max()
            .unwrap_or(Action::Allow);
        // Approvals only for a write that is held: a write blocked by one flow asks nobody.
        let approvals: Vec<Option<NewApproval>> = decisions
            .iter()
            .map(|d| {
                (action == Action::Ask && d.action == Action::Ask).then(|| NewApproval {
                    id: new_approval_id(),
                    expires_at,
                })
            })
            .collect();
        let own_approval = after_instructions
            .as_ref()
            .filter(|d| action == Action::Ask && d.action == Action::Ask)
            .map(|_| NewApproval {
                id: new_approval_id(),
                expires_at,
            });
        let disposition = match action {
            Action::Block => Disposition::Blocked {
                reason: decisions
                    .iter()
                    .chain(&after_instructions)
                    .filter(|d| d.action == Action::Block)
                    .map(|d| d.reason.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
            },
            Action::Ask => Disposition::Held,
            Action::Allow | Action::Notify => Disposition::Passing,
        };
        let rows: Vec<(&Flow, &Decision, Option<&NewApproval>)> = flows
            .iter()
            .zip(&decisions)
            .zip(&approvals)
            .map(|((f, d), a)| (f, d, a.as_ref()))
            .collect();
        let (ids, outcomes) = self.store.record_check(
            &write_id,
            &write.target,
            &rows,
            after_instructions
                .as_ref()
                .map(|d| (d, own_approval.as_ref())),
            &disposition,
            at,
        )?;
        let transfers: Vec<TransferRef> = flows
            .iter()
            .zip(&decisions)
            .zip(&ids)
            .map(|((f, d), &flow_id)| TransferRef {
                flow_id,
                source: f.source.id.clone(),
                target: f.target.id.clone(),
                decision: d.action,
            })
            .collect();
        let mut held = Vec::new();
        for (((flow, decision), approval), &flow_id) in
            flows.iter().zip(&decisions).zip(&approvals).zip(&ids)
        {
            if let Some(a) = approval {
                held.push(HeldApproval {
                    id: a.id.clone(),
                    write_id: write_id.clone(),
                    target: write.target.clone(),
                    subject: HeldSubject::Transfer {
                        flow_id,
                        flow: Box::new(flow.clone()),
                        decision: decision.clone(),
                    },
                    created_at: at,
                    expires_at,
                });
            }
        }
        if let (Some(a), Some(decision)) = (&own_approval, &after_instructions) {
            held.push(HeldApproval {
                id: a.id.clone(),
                write_id: write_id.clone(),
                target: write.target.clone(),
                subject: HeldSubject::AfterInstructions {
                    decision: decision.clone(),
                },
                created_at: at,
                expires_at,
            });
        }
        if !matches!(disposition, Disposition::Blocked { .. }) {
            self.trails.checked(write, &write_id, at, sheets_of(&flows));
        }
        match disposition {
            Disposition::Held => self.holds.hold(
                &write_id,
                &write.target,
                held.clone(),
                transfers,
                expires_at,
            ),
            Disposition::Passing => self.holds.pass(&write_id, transfers),
            Disposition::Blocked { .. } => {}
        }
        let flows = flows
            .into_iter()
            .zip(decisions)
            .zip(ids)
            .map(|((flow, decision), flow_id)| CheckedFlow {
                flow,
                decision,
                flow_id,
            })
            .collect();
        Ok(WriteCheck {
            write_id,
            flows,
            held,
            outcomes,
            after_instructions,
        })
    }

    /// Records that a read of `document` returned text that looks like instructions aimed
    /// at an AI agent: writes for the next hour are decided by
    /// `flows.after_flagged_instructions` as well. Durable on return (or its commit ticket).
    pub fn record_flagged_read(
        &mut self,
        document: &DocumentRef,
        findings: &[InjectionFinding],
        at: UnixMillis,
    ) -> Result<(), StoreError> {
        let Some(flagged) = FlaggedRead::new(document, findings, at) else {
            return Ok(());
        };
        self.store.record_flagged_read(document, &flagged)?;
        self.flagged = Some(flagged);
        Ok(())
    }

    /// The last flagged read, while writes are still decided by it.
    pub fn flagged_read(&self, at: UnixMillis) -> Option<&FlaggedRead> {
        self.flagged.as_ref().filter(|f| f.covers(at))
    }

    /// The write's own decision after a flagged read, if one is recent.
    fn after_instructions(&self, target: &DocumentRef, at: UnixMillis) -> Option<Decision> {
        self.flagged_read(at)
            .map(|f| flagged::decide_after_flagged(f, target, &self.admin))
    }

    /// Evidence accumulated over the target's recent writes: a source sheet the write
    /// joined with its trail confirms, and that this write added cells to (or first made
    /// confirmed), gives the write a confirmed flow naming the writes it spans; a possible
    /// flow of the write alone from that sheet is replaced by it.
    fn add_trail_flows(&mut self, write: &WriteContent, at: UnixMillis, flows: &mut Vec<Flow>) {
        // The trail can add evidence only to sheets this write touches without confirming,
        // or that the seam with the write before it touches: only those are joined.
        let mut wanted: Vec<SheetKey> = flows
            .iter()
            .filter(|f| f.strength != FlowStrength::Confirmed && !f.explicit)
            .map(sheet_key)
            .collect();
        let mut seam_touches = false;
        if let Some(seam) = self.trails.seam(write, at) {
            let before = wanted.len();
            wanted.extend(self.detector.check(&seam).iter().map(sheet_key));
            seam_touches = wanted.len() > before;
        }
        wanted.sort_unstable();
        wanted.dedup();
        let detector = &self.detector;
        let Some((before, with, earlier)) =
            self.trails.joined(write, at, &wanted, seam_touches, |c| {
                sheets_of(&detector.check(c))
            })
        else {
            return;
        };
        let before = self.detector.check(&before);
        let location = write
            .parts
            .first()
            .map(|p| p.location().to_string())
            .unwrap_or_default();
        let earlier: Vec<String> = earlier.into_iter().map(|w| w.0).collect();
        // The joined content is a table and a text: one flow per sheet, their cells united.
        let mut joined: Vec<Flow> = Vec::new();
        for f in self.detector.check(&with) {
            if f.strength != FlowStrength::Confirmed
                || f.explicit
                || !wanted.contains(&sheet_key(&f))
            {
                continue;
            }
            match joined
                .iter_mut()
                .find(|j| j.source.id == f.source.id && j.sheet == f.sheet)
            {
                Some(j) => {
                    j.cells.extend(f.cells);
                    j.cells.sort_unstable();
                    j.cells.dedup();
                    j.matched = j.cells.len();
                    j.confidence = j.confidence.max(f.confidence);
                }
                None => joined.push(f),
            }
        }
        for flow in joined {
            let same = |f: &Flow| f.source.id == flow.source.id && f.sheet == flow.sheet;
            if flows
                .iter()
                .any(|f| same(f) && f.strength == FlowStrength::Confirmed)
            {
                continue; // this write alone confirms it already
            }
            let mut had: Vec<CellAddr> = before
                .iter()
                .filter(|f| same(f))
                .flat_map(|f| f.cells.iter().copied())
                .collect();
            had.sort_unstable();
            had.dedup();
            let was_confirmed = before
                .iter()
                .any(|f| same(f) && f.strength == FlowStrength::Confirmed);
            // Already confirmed before this write: it counts only if this write brought
            // more cells of that sheet (an unrelated write joined to a copy brings none).
            if was_confirmed && flow.cells.len() <= had.len() {
                continue;
            }
            flows.retain(|f| !same(f));
            flows.push(Flow {
                location: location.clone(),
                joined_writes: earlier.clone(),
                ..flow
            });
        }
    }

    /// Sensitivity of a flow's source: the administrator's document and sheet rules, the
    /// person's marks, and what is known of the source document's label (confidential when
    /// it reads so, or when it could not be learned).
    fn sensitivity(&self, flow: &Flow) -> SensitivityMark {
        let label = self.labels.get(&flow.source.id);
        let purview = match label {
            Some(DocumentLabel::Labelled { name, .. }) => Some(name.as_str()),
            _ => None,
        };
        // The first cell stands for the document and sheet rules and the label;
        // `flow_sensitivity` then raises it by the person's marks on any matched cell.
        let mut base = flow
            .cells
            .first()
            .map(|&c| {
                policy::sensitivity_of(
                    &flow.source,
                    &flow.sheet,
                    c,
                    purview,
                    &self.admin,
                    &self.choices,
                )
            })
            .unwrap_or_default();
        if base.level == Sensitivity::Normal {
            base = policy::label_sensitivity(label);
        }
        let mut with_base = flow.clone();
        with_base.sensitivity = base;
        policy::flow_sensitivity(&with_base, &self.admin, &self.choices).0
    }

    /// Decides a deletion and records it; a held one gets an approval expiring at
    /// `expires_at`.
    pub fn check_deletion(
        &mut self,
        target: &DocumentRef,
        what: &str,
        at: UnixMillis,
        expires_at: UnixMillis,
    ) -> Result<DeletionCheck, StoreError> {
        let write_id = WriteId::new();
        let mut decision = policy::decide_deletion(target, what, &self.admin);
        // On a tie the deletion is decided (and explained) as one after flagged text.
        if let Some(after) = self.after_instructions(target, at)
            && after.action >= decision.action
        {
            decision = after;
        }
        let approval = (decision.action == Action::Ask).then(|| NewApproval {
            id: new_approval_id(),
            expires_at,
        });
        self.store
            .record_deletion(&write_id, target, what, &decision, at, approval.as_ref())?;
        let held = approval.map(|a| HeldApproval {
            id: a.id,
            write_id: write_id.clone(),
            target: target.clone(),
            subject: HeldSubject::Deletion {
                what: what.to_string(),
                decision: decision.clone(),
            },
            created_at: at,
            expires_at,
        });
        match (&held, decision.action) {
            (Some(h), _) => {
                self.holds
                    .hold(&write_id, target, vec![h.clone()], Vec::new(), expires_at)
            }
            (None, Action::Allow | Action::Notify) => self.holds.pass(&write_id, Vec::new()),
            (None, _) => {}
        }
        Ok(DeletionCheck {
            write_id,
            decision,
            held,
        })
    }

    /// Takes a person's answer to an approval: the first answer wins, and a pane may
    /// answer only for its own document; the agent's client only where the policy lets
    /// it. Durable before it returns (or its commit ticket is waited on).
    pub fn answer(
        &mut self,
        approval_id: &str,
        answer: Answer,
        at: UnixMillis,
    ) -> Result<Effects, AnswerError> {
        let taken = self.holds.answer(
            approval_id,
            &answer,
            self.admin.agent_client_may_approve,
            at,
        );
        let effects = match taken {
            Ok(e) => e,
            Err(ApprovalError::Unknown(id)) => {
                // Say how it ended when it did: a late answer should not read as a typo.
                return Err(match self.store.approval(approval_id)? {
                    Some(row) if row.state != ApprovalState::Pending => {
                        ApprovalError::AlreadyClosed {
                            id,
                            state: row.state.as_str().to_string(),
                            by: crate::approvals::who_words(
                                row.decided_by.as_deref().unwrap_or(""),
                            )
                            .to_string(),
                        }
                        .into()
                    }
                    _ => ApprovalError::Unknown(id).into(),
                });
            }
            Err(e) => return Err(e.into()),
        };
        self.persist(&effects, at)?;
        Ok(effects)
    }

    /// Expires every approval whose deadline is at or before `now`.
    pub fn expire_due(&mut self, now: UnixMillis) -> Result<Effects, StoreError> {
        let effects = self.holds.expire_due(now);
        self.persist(&effects, now)?;
        Ok(effects)
    }

    /// The earliest deadline of an open approval: when to call [`Tracker::expire_due`].
    pub fn next_expiry(&self) -> Option<UnixMillis> {
        self.holds.next_expiry()
    }

    /// The agent's call ended while its write was held: its approvals close (denied by
    /// the bridge), so a late answer finds nothing to approve.
    pub fn withdraw(&mut self, write_id: &WriteId, at: UnixMillis) -> Result<Effects, StoreError> {
        let mut effects = Effects::default();
        self.holds
            .close_write(write_id, Some(Closer::Withdrawn), at, &mut effects);
        self.persist(&effects, at)?;
        Ok(effects)
    }

    /// The bridge is stopping: every held write is refused now, recorded as expired.
    pub fn close_all_holds(&mut self, at: UnixMillis) -> Result<Effects, StoreError> {
        let effects = self.holds.close_all(&Closer::Shutdown, at);
        self.persist(&effects, at)?;
        Ok(effects)
    }

    /// A write the tracker let through has finished: `written` says whether it landed
    /// (`None`: not known, the call ended while the pane was writing). Records each
    /// transfer's outcome and the write's final audit record.
    pub fn finish_write(
        &mut self,
        write_id: &WriteId,
        target: &DocumentRef,
        written: Option<bool>,
        tool: &str,
        location: &str,
        at: UnixMillis,
    ) -> Result<Vec<FlowOutcome>, StoreError> {
        let finished = self.holds.finish(write_id, written, at).unwrap_or_default();
        let trail = self.trails.finished(write_id, written);
        self.store.record_finish(
            write_id,
            target,
            written,
            &finished.outcomes,
            &finished.approvals,
            tool,
            location,
            trail.as_ref(),
            at,
        )?;
        if let Some(t) = trail {
            self.trails.push(t);
        }
        Ok(finished.outcomes)
    }

    /// The approvals waiting for an answer, oldest first.
    pub fn open_approvals(&self) -> Vec<HeldApproval> {
        let mut open: Vec<HeldApproval> = self.holds.open_approvals().cloned().collect();
        open.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        open
    }

    /// Stores what a step of the approvals did; a standing choice it made is saved with it.
    fn persist(&mut self, effects: &Effects, at: UnixMillis) -> Result<(), StoreError> {
        if effects.is_empty() {
            return Ok(());
        }
        let choices = effects
            .standing_choice
            .as_ref()
            .map(|(source, target, allow)| {
                let mut c = self.choices.clone();
                if *allow {
                    c.allow_always(source, target);
                } else {
                    c.block_always(source, target);
                }
                c
            });
        self.store.record_effects(effects, choices.as_ref(), at)?;
        if let Some(c) = choices {
            self.choices = c;
        }
        Ok(())
    }

    /// The flows a piece of content carries, without recording or deciding anything: for
    /// scanning a file the agent asks about, which moves no data.
    pub fn find_flows(&self, content: &WriteContent) -> Vec<Flow> {
        let mut flows = self.detector.check(content);
        for flow in &mut flows {
            flow.sensitivity = self.sensitivity(flow);
        }
        flows
    }

    /// Appends a record of something done to the audit chain; durable on return.
    pub fn audit(
        &mut self,
        at: UnixMillis,
        kind: &str,
        body: &serde_json::Value,
    ) -> Result<AuditRecord, StoreError> {
        self.store.append_audit(at, kind, body)
    }

    /// The person marked (or unmarked) a range: saved with its audit record, then used by
    /// every later decision.
    pub fn set_label(
        &mut self,
        document: &DocumentRef,
        sheet: &str,
        range: CellRange,
        sensitivity: Sensitivity,
        by: &str,
        at: UnixMillis,
    ) -> Result<AuditRecord, StoreError> {
        let mut choices = self.choices.clone();
        match sensitivity {
            Sensitivity::Confidential => choices.mark_confidential(&document.id, sheet, range),
            Sensitivity::Normal => {
                choices.unmark(&document.id, sheet, range);
            }
        }
        let rec =
            self.store
                .record_label_set(&choices, document, sheet, range, sensitivity, by, at)?;
        self.choices = choices;
        Ok(rec)
    }

    /// The person's confidential marks on a document: (sheet, range), in the order made.
    pub fn marks_of(&self, document: &DocumentId) -> Vec<(String, CellRange)> {
        self.choices
            .marks
            .iter()
            .filter(|m| &m.document == document)
            .map(|m| (m.sheet.clone(), m.range))
            .collect()
    }

    /// Checks the whole audit chain and its head anchor (see [`crate::audit::verify_rows`]).
    pub fn verify_audit(&self) -> Result<VerifyReport, StoreError> {
        self.store.verify_audit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{App, CellAddr, CellValue, FlowStrength, ReadCell, SheetRead, WritePart};

    #[test]
    fn a_running_tracker_compacts_reads_read_again_and_again() {
        // One sheet of 2,000 cells read forty times, values changing each time: the
        // store keeps about the live cells (not forty copies), without a restart, and the
        // labels and what a restart loads are the latest read's.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut t = Tracker::open(&path, AdminPolicy::default()).unwrap();
        t.set_audit_key(test_key()).unwrap();
        let read = |round: u32| ReadEvent {
            id: ProvenanceId::new(),
            document: q3(),
            sheets: vec![SheetRead {
                sheet: "Ledger".into(),
                cells: (0..2_000u32)
                    .map(|i| ReadCell {
                        addr: CellAddr::new(i / 10, i % 10),
                        value: CellValue::Number(f64::from(round * 10_000 + i) + 0.25),
                        text: None,
                        number_format: None,
                    })
                    .collect(),
            }],
            at: 1_000 + i64::from(round),
            request: "excel_read_range".into(),
        };
        // A small slack, so a test this size compacts as a big store would.
        t.compact_slack = 4_000;
        let mut last = read(0);
        for round in 0..40 {
            last = read(round);
            t.record_read(&last).unwrap();
        }
        // Compacted while running: at most a few stored sheet reads, never forty.
        let stored = t.store.stored_sheet_reads().unwrap();
        assert!(stored <= 4, "{stored} stored sheet reads");
        assert_eq!(t.store.label_count().unwrap(), 2_000);
        let cell = CellAddr::new(3, 4);
        assert_eq!(t.detector.provenance(&q3(), "Ledger", cell), Some(last.id));
        drop(t);
        let t = Tracker::open(&path, AdminPolicy::default()).unwrap();
        assert_eq!(t.detector.provenance(&q3(), "Ledger", cell), Some(last.id));
        assert_eq!(t.detector.len(), 2_000);
    }

    /// One install's key, for tests that record reads.
    fn test_key() -> crate::audit_key::AuditKey {
        crate::audit_key::AuditKey::from_bytes([7; 32])
    }

    fn q3() -> DocumentRef {
        DocumentRef::new(App::Excel, "Q3.xlsx", "https://contoso.example/Q3.xlsx")
    }

    fn deck() -> DocumentRef {
        DocumentRef::new(
            App::Powerpoint,
            "Board.pptx",
            "https://contoso.example/Board.pptx",
        )
    }

    /// Regions down column A, quarters across row 1, revenue figures in B2:D4.
    fn revenue_read() -> ReadEvent {
        let mut cells = Vec::new();
        let header = ["Region", "Q1", "Q2", "Q3"];
        for (c, h) in header.iter().enumerate() {
            cells.push(ReadCell {
                addr: CellAddr::new(0, c as u32),
                value: CellValue::Text(h.to_string()),
                text: Some(h.to_string()),
                number_format: None,
            });
        }
        let rows = [
            ("EMEA", [1_234_567.89, 1_456_789.12, 1_611_022.47]),
            ("Americas", [2_345_678.91, 2_567_890.23, 2_789_012.35]),
            ("APAC", [987_654.32, 1_098_765.43, 1_209_876.54]),
        ];
        for (r, (region, values)) in rows.iter().enumerate() {
            let row = r as u32 + 1;
            cells.push(ReadCell {
                addr: CellAddr::new(row, 0),
                value: CellValue::Text(region.to_string()),
                text: Some(region.to_string()),
                number_format: None,
            });
            for (c, v) in values.iter().enumerate() {
                cells.push(ReadCell {
                    addr: CellAddr::new(row, c as u32 + 1),
                    value: CellValue::Number(*v),
                    text: None,
                    number_format: Some("$#,##0".into()),
                });
            }
        }
        ReadEvent {
            id: ProvenanceId::new(),
            document: q3(),
            sheets: vec![SheetRead {
                sheet: "Revenue".into(),
                cells,
            }],
            at: 1_000,
            request: "test".into(),
        }
    }

    fn reformatted_table() -> WriteContent {
        WriteContent {
            target: deck(),
            parts: vec![WritePart::Table {
                location: "slide 3".into(),
                rows: vec![
                    vec!["Region".into(), "Q1".into(), "Q2".into(), "Q3".into()],
                    vec![
                        "EMEA".into(),
                        "$1.23M".into(),
                        "$1.46M".into(),
                        "$1.61M".into(),
                    ],
                    vec![
                        "Americas".into(),
                        "$2.35M".into(),
                        "$2.57M".into(),
                        "$2.79M".into(),
                    ],
                ],
            }],
            explicit_sources: vec![],
        }
    }

    const LATER: UnixMillis = 120_000;

    /// A tracker on a fresh store that knows Q3.xlsx carries `label`.
    fn tracker_with(dir: &Path, admin: AdminPolicy, label: DocumentLabel) -> Tracker {
        let mut t = Tracker::open(&dir.join("t.sqlite3"), admin).unwrap();
        t.set_audit_key(test_key()).unwrap();
        t.learn_document_label(&q3(), label, "test", 500).unwrap();
        t
    }

    #[test]
    fn a_restart_still_detects_data_read_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.sqlite3");
        {
            let mut t = tracker_with(
                dir.path(),
                AdminPolicy::default(),
                DocumentLabel::Unlabelled,
            );
            t.record_read(&revenue_read()).unwrap();
        }
        let mut t = Tracker::open(&db, AdminPolicy::default()).unwrap();
        t.set_audit_key(test_key()).unwrap();
        assert_eq!(t.indexed_cells(), 16);
        let check = t.check_write(&reformatted_table(), 2_000, LATER).unwrap();
        let flow = &check.flows.first().expect("a flow after the restart").flow;
        assert_eq!(flow.source.id, q3().id);
        assert_eq!(flow.sheet, "Revenue");
        assert_eq!(flow.strength, FlowStrength::Confirmed);
        assert!(flow.cells.contains(&CellAddr::parse_a1("B2").unwrap()));
        // Default policy: normal data is notify.
        assert_eq!(check.action(), Action::Notify);
        assert!(check.held.is_empty());
        let outcomes = t
            .finish_write(
                &check.write_id,
                &deck(),
                Some(true),
                "ppt_add_table",
                "slide 3",
                2_100,
            )
            .unwrap();
        assert_eq!(outcomes.len(), check.flows.len());
        assert!(
            outcomes.iter().all(
                |o| o.outcome == crate::approvals::Outcome::Notified && o.written == Some(true)
            )
        );
        assert!(t.verify_audit().unwrap().ok());
    }

    /// The issue's case: a workbook labelled Confidential in Purview, a policy that blocks
    /// confidential transfers, and a write after a restart without reading the workbook
    /// again.
    #[test]
    fn a_documents_label_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let admin = AdminPolicy::parse(r#"{"flows": {"confidential": "block"}}"#).unwrap();
        {
            let mut t = tracker_with(
                dir.path(),
                admin.clone(),
                DocumentLabel::Labelled {
                    name: "Confidential".into(),
                    id: None,
                },
            );
            t.record_read(&revenue_read()).unwrap();
        }
        let mut t = Tracker::open(&dir.path().join("t.sqlite3"), admin).unwrap();
        t.set_audit_key(test_key()).unwrap();
        let check = t.check_write(&reformatted_table(), 2_000, LATER).unwrap();
        assert_eq!(check.action(), Action::Block);
        let flow = &check.deciding().next().unwrap().flow;
        assert_eq!(flow.sensitivity.level, Sensitivity::Confidential);
        assert_eq!(
            flow.sensitivity.origin,
            crate::model::SensitivityOrigin::Purview {
                label: "Confidential".into()
            }
        );
        assert_eq!(check.outcomes.len(), 1, "blocked outright: settled now");
    }

    #[test]
    fn a_label_that_cannot_be_learned_counts_as_confidential_and_never_erases_one() {
        let dir = tempfile::tempdir().unwrap();
        let admin = AdminPolicy::parse(r#"{"flows": {"confidential": "block"}}"#).unwrap();
        let unknown = DocumentLabel::Unknown {
            why: "Excel cannot read document properties (needs ExcelApi 1.7)".into(),
        };
        let mut t = tracker_with(dir.path(), admin, unknown.clone());
        t.record_read(&revenue_read()).unwrap();
        let check = t.check_write(&reformatted_table(), 2_000, LATER).unwrap();
        assert_eq!(check.action(), Action::Block);
        let reason = &check.deciding().next().unwrap().decision.reason;
        assert!(
            reason.contains("sensitivity label could not be read")
                && reason.contains("ExcelApi 1.7"),
            "{reason}"
        );
        // Learned later: the label replaces "unknown"...
        assert!(
            t.learn_document_label(&q3(), DocumentLabel::Unlabelled, "file", 3_000)
                .unwrap()
        );
        assert_eq!(
            t.check_write(&reformatted_table(), 3_100, LATER)
                .unwrap()
                .action(),
            Action::Notify
        );
        // ...but a host that cannot say never erases what was learned.
        assert!(
            !t.learn_document_label(&q3(), unknown, "pane", 4_000)
                .unwrap()
        );
        assert_eq!(t.document_label(&q3().id), Some(&DocumentLabel::Unlabelled));
    }

    #[test]
    fn marked_confidential_data_is_held_until_every_approval_is_answered() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut t = tracker_with(
                dir.path(),
                AdminPolicy::default(),
                DocumentLabel::Unlabelled,
            );
            t.record_read(&revenue_read()).unwrap();
            t.set_label(
                &q3(),
                "Revenue",
                CellRange::parse("B2:D4").unwrap(),
                Sensitivity::Confidential,
                "pane",
                1_500,
            )
            .unwrap();
        }
        // Reopen so the mark comes from the store, as after a restart.
        let mut t = Tracker::open(&dir.path().join("t.sqlite3"), AdminPolicy::default()).unwrap();
        t.set_audit_key(test_key()).unwrap();
        let check = t.check_write(&reformatted_table(), 2_000, 9_000).unwrap();
        assert_eq!(check.action(), Action::Ask);
        assert_eq!(check.held.len(), 1);
        let flow = &check.deciding().next().unwrap().flow;
        assert_eq!(flow.sensitivity.level, Sensitivity::Confidential);
        let id = check.held[0].id.clone();
        assert!(t.approval(&id).unwrap().is_some());
        assert_eq!(t.open_approvals().len(), 1);
        assert_eq!(t.next_expiry(), Some(9_000));
        // Another document's pane may not answer; the deck's may.
        let wrong = crate::approvals::Answer {
            allow: true,
            scope: crate::approvals::Scope::Once,
            by: crate::approvals::Who::Pane(q3().id),
        };
        assert!(matches!(
            t.answer(&id, wrong, 2_500),
            Err(AnswerError::Approval(ApprovalError::WrongDocument { .. }))
        ));
        let effects = t
            .answer(
                &id,
                crate::approvals::Answer {
                    allow: true,
                    scope: crate::approvals::Scope::Document,
                    by: crate::approvals::Who::Pane(deck().id),
                },
                3_000,
            )
            .unwrap();
        assert!(matches!(
            effects.settled[0].settlement,
            crate::approvals::Settlement::Proceed { .. }
        ));
        assert!(t.choices().is_always_allowed(&q3().id, &deck().id), "saved");
        // A late answer says how it ended.
        let late = t.answer(
            &id,
            crate::approvals::Answer {
                allow: false,
                scope: crate::approvals::Scope::Once,
                by: crate::approvals::Who::Desktop,
            },
            3_100,
        );
        assert!(
            matches!(&late, Err(AnswerError::Approval(ApprovalError::AlreadyClosed { state, .. })) if state == "allowed"),
            "{late:?}"
        );
        let outcomes = t
            .finish_write(
                &check.write_id,
                &deck(),
                Some(true),
                "ppt_add_table",
                "slide 3",
                3_200,
            )
            .unwrap();
        assert_eq!(outcomes[0].outcome, crate::approvals::Outcome::Approved);
        // The standing choice holds across a restart: the next such write is not held.
        drop(t);
        let mut t = Tracker::open(&dir.path().join("t.sqlite3"), AdminPolicy::default()).unwrap();
        t.set_audit_key(test_key()).unwrap();
        assert_eq!(
            t.check_write(&reformatted_table(), 4_000, 9_000)
                .unwrap()
                .action(),
            Action::Notify
        );
        assert!(t.verify_audit().unwrap().ok());
    }

    #[test]
    fn a_write_held_when_the_bridge_stops_is_expired_at_the_next_start() {
        let dir = tempfile::tempdir().unwrap();
        let admin = AdminPolicy::parse(r#"{"flows": {"default": "ask"}}"#).unwrap();
        let (id, write_id) = {
            let mut t = tracker_with(dir.path(), admin.clone(), DocumentLabel::Unlabelled);
            t.record_read(&revenue_read()).unwrap();
            let check = t.check_write(&reformatted_table(), 2_000, 9_000).unwrap();
            (check.held[0].id.clone(), check.write_id)
        };
        let mut t = Tracker::open(&dir.path().join("t.sqlite3"), admin).unwrap();
        t.set_audit_key(test_key()).unwrap();
        let restart = t.take_restart_effects();
        assert_eq!(restart.resolved.len(), 1);
        assert_eq!(restart.settled[0].write_id, write_id);
        assert!(t.open_approvals().is_empty());
        // A stale answer writes nothing.
        let stale = t.answer(
            &id,
            crate::approvals::Answer {
                allow: true,
                scope: crate::approvals::Scope::Once,
                by: crate::approvals::Who::Desktop,
            },
            10_000,
        );
        assert!(
            matches!(&stale, Err(AnswerError::Approval(ApprovalError::AlreadyClosed { state, .. })) if state == "expired"),
            "{stale:?}"
        );
        assert!(t.verify_audit().unwrap().ok());
    }

    #[test]
    fn switched_off_transfers_block_and_deletions_ask() {
        let dir = tempfile::tempdir().unwrap();
        let admin = AdminPolicy::parse(r#"{"flows": {"enabled": false}}"#).unwrap();
        let mut t = tracker_with(dir.path(), admin, DocumentLabel::Unlabelled);
        t.record_read(&revenue_read()).unwrap();
        let check = t.check_write(&reformatted_table(), 2_000, LATER).unwrap();
        assert_eq!(check.action(), Action::Block);
        assert!(t.open_approvals().is_empty(), "a blocked write asks nobody");
        // Why it was blocked is kept as data, beside the words.
        let stored = t.recent_flows(1).unwrap().remove(0).decision.unwrap();
        assert_eq!(stored, check.flows[0].decision);
        assert_eq!(
            stored.why.map(|w| w.rule),
            Some(crate::model::DecisionRule::TransfersOff)
        );
        let d = t.check_deletion(&deck(), "slide 2", 3_000, 9_000).unwrap();
        assert_eq!(d.decision.action, Action::Ask);
        let id = d.held.expect("held").id;
        let row = t.approval(&id).unwrap().expect("stored");
        assert_eq!(row.state, ApprovalState::Pending);
        assert!(t.verify_audit().unwrap().ok());
    }

    #[test]
    fn unrelated_content_has_no_flow() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = tracker_with(
            dir.path(),
            AdminPolicy::default(),
            DocumentLabel::Unlabelled,
        );
        t.record_read(&revenue_read()).unwrap();
        let write = WriteContent {
            target: deck(),
            parts: vec![WritePart::Text {
                location: "slide 1".into(),
                text: "Welcome to the 2025 board meeting, agenda on page 2".into(),
            }],
            explicit_sources: vec![],
        };
        let check = t.check_write(&write, 2_000, LATER).unwrap();
        assert!(
            check
                .flows
                .iter()
                .all(|f| f.flow.strength == FlowStrength::Possible),
            "{:?}",
            check.flows
        );
        assert_ne!(check.action(), Action::Block);
    }
}
