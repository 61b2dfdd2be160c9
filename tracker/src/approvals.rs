//! The life of a checked write, from detection to its final outcome, as a synchronous state
//! machine with time passed in (the way quinn-proto handles timeouts): the tracker opens
//! approvals for held transfers, takes the first answer to each, expires them, and settles
//! each write once. Nothing here waits or does I/O; [`crate::Tracker`] persists what each
//! step returns before the bridge acts on it, and the bridge only routes the [`Effects`].
//!
//! Rules, in one place:
//! - Every write the bridge checks gets one [`WriteId`]; each transfer in it (a flow: data
//!   from one source sheet into the target) keeps its flow id from detection to its final
//!   [`Outcome`], and whether the write then landed.
//! - A held write waits on one approval per held transfer (or one for a deletion). The
//!   first answer to an approval wins; later answers find it closed.
//! - One denial refuses the whole write: the write's other approvals close at once, denied
//!   by the bridge. The write proceeds only when every approval was allowed.
//! - An approval not answered by its deadline expires, and with it the whole write.
//! - "Always for this deck" (scope `document`) becomes a standing choice for the source and
//!   target pair, and settles every other open approval of that pair the same way.
//! - Only a pane of the target document, the desktop, or (where the administrator allows)
//!   the agent's client may answer. Approvals left open when the bridge stops are closed as
//!   expired at the next start: nothing held is ever written by a stale answer.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::model::{Action, Decision, DocumentId, DocumentRef, Flow, UnixMillis};

/// One write checked by the tracker: the id its transfers, approvals and records share.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WriteId(pub String);

impl WriteId {
    /// A fresh id (`wr_` and 128 random bits).
    pub fn new() -> Self {
        WriteId(format!("wr_{}", uuid::Uuid::new_v4().simple()))
    }

    /// The id as text, as stored and shown.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for WriteId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for WriteId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A new approval id: 128 random bits, so ids cannot be guessed or forged.
pub fn new_approval_id() -> String {
    format!("apr_{}", uuid::Uuid::new_v4().simple())
}

/// How far an answer reaches: this transfer, or every later one from the same source into
/// the same document ("Always for this deck").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// This transfer only: the next one asks again.
    #[default]
    Once,
    /// Every later transfer from the same source into this document: a standing choice.
    Document,
}

impl Scope {
    /// The stored and wire form: `once` or `document`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Once => "once",
            Scope::Document => "document",
        }
    }
}

/// Who answered an approval.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Who {
    /// A pane of this document (it may answer only for its own document).
    Pane(DocumentId),
    /// The person at the desktop: the monitor page, `office-bridge approvals`, a script
    /// holding the desktop credential.
    Desktop,
    /// The agent's MCP client asked its user (elicitation).
    Elicitation,
}

impl Who {
    /// The channel's name, as recorded in `decided_by`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Who::Pane(_) => "pane",
            Who::Desktop => "desktop",
            Who::Elicitation => "elicitation",
        }
    }
}

/// A person's answer to an approval.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// Whether the person let the transfer through.
    pub allow: bool,
    /// How far the answer reaches.
    pub scope: Scope,
    /// Who gave it; checked against who may answer.
    pub by: Who,
}

/// An approval's life: pending until answered or closed; answered once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalState {
    /// Waiting for an answer.
    Pending,
    /// Allowed, by a person or their standing choice.
    Allowed,
    /// Denied, by a person, their standing choice, or the bridge (a denied sibling, a
    /// withdrawn call).
    Denied,
    /// Closed unanswered: its deadline passed, or the bridge stopped.
    Expired,
}

impl ApprovalState {
    /// The stored form (`pending`, `allowed`, `denied`, `expired`).
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalState::Pending => "pending",
            ApprovalState::Allowed => "allowed",
            ApprovalState::Denied => "denied",
            ApprovalState::Expired => "expired",
        }
    }

    /// Reads the stored form; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => ApprovalState::Pending,
            "allowed" => ApprovalState::Allowed,
            "denied" => ApprovalState::Denied,
            "expired" => ApprovalState::Expired,
            _ => return None,
        })
    }
}

/// What finally happened to a transfer. `Pending` until the write is settled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Held for approval, or allowed and not yet written.
    Pending,
    /// Allowed by policy.
    Allowed,
    /// Allowed by policy, and the person was told.
    Notified,
    /// Held, then allowed by a person (or their standing choice).
    Approved,
    /// Held, then denied (by a person, by their standing choice, or because another
    /// transfer of the same write was denied, or the agent withdrew the call).
    Denied,
    /// Held, and nobody answered in time (or the bridge stopped meanwhile).
    Expired,
    /// Blocked by policy: nothing was written.
    Blocked,
}

impl Outcome {
    /// The stored and reported form (`pending`, `allowed` ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pending => "pending",
            Outcome::Allowed => "allowed",
            Outcome::Notified => "notified",
            Outcome::Approved => "approved",
            Outcome::Denied => "denied",
            Outcome::Expired => "expired",
            Outcome::Blocked => "blocked",
        }
    }

    /// Reads the stored form; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Outcome::Pending,
            "allowed" => Outcome::Allowed,
            "notified" => Outcome::Notified,
            "approved" => Outcome::Approved,
            "denied" => Outcome::Denied,
            "expired" => Outcome::Expired,
            "blocked" => Outcome::Blocked,
            _ => return None,
        })
    }

    /// The outcome of a transfer whose write went through, by its own decision.
    pub fn of_passed(decision: Action) -> Outcome {
        match decision {
            Action::Allow => Outcome::Allowed,
            Action::Notify => Outcome::Notified,
            Action::Ask => Outcome::Approved,
            // A write with a blocked transfer never goes through; say so if asked anyway.
            Action::Block => Outcome::Blocked,
        }
    }
}

/// Why an approval closed without a person's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Closer {
    /// Nobody answered before the deadline.
    Timeout {
        /// How long it was held: what the reason says it waited.
        held_for_ms: i64,
    },
    /// Another transfer of the same write was denied.
    SiblingDenied,
    /// The agent's call was cancelled (or its connection dropped) while held.
    Withdrawn,
    /// The bridge stopped while it was held (closed at the next start).
    Restart,
    /// The bridge is stopping now.
    Shutdown,
    /// The person's standing choice for this source and target pair answered it.
    StandingChoice {
        /// Whether the choice allows the pair.
        allow: bool,
    },
}

impl Closer {
    /// The state the approval closes in.
    pub fn state(&self) -> ApprovalState {
        match self {
            Closer::Timeout { .. } | Closer::Restart | Closer::Shutdown => ApprovalState::Expired,
            Closer::SiblingDenied | Closer::Withdrawn => ApprovalState::Denied,
            Closer::StandingChoice { allow: true } => ApprovalState::Allowed,
            Closer::StandingChoice { allow: false } => ApprovalState::Denied,
        }
    }

    /// Who closed it, as recorded in `decided_by`: `timeout`, `standing choice` or `bridge`.
    pub fn decided_by(&self) -> &'static str {
        match self {
            Closer::Timeout { .. } => "timeout",
            Closer::StandingChoice { .. } => "standing choice",
            Closer::SiblingDenied | Closer::Withdrawn | Closer::Restart | Closer::Shutdown => {
                "bridge"
            }
        }
    }

    /// Why it closed, in words for the person.
    pub fn reason(&self) -> String {
        match self {
            Closer::Timeout { held_for_ms } => format!(
                "nobody answered within {} s, so it was denied",
                (held_for_ms + 999) / 1000
            ),
            Closer::SiblingDenied => "another transfer in the same write was denied".into(),
            Closer::Withdrawn => "the agent's call ended before anyone answered".into(),
            Closer::Restart => {
                "the bridge restarted while this was held; a held write is never carried out after a restart".into()
            }
            Closer::Shutdown => "the bridge stopped while this was held".into(),
            Closer::StandingChoice { allow: true } => {
                "you chose to always allow this source in this document".into()
            }
            Closer::StandingChoice { allow: false } => {
                "you chose to always block this source in this document".into()
            }
        }
    }
}

/// What an approval holds.
#[derive(Clone, Debug, PartialEq)]
pub enum HeldSubject {
    /// A transfer found in the write, with its decision (`ask`).
    Transfer {
        /// The flow's id in the store.
        flow_id: i64,
        /// The transfer itself: source, cells, target, location, sensitivity.
        flow: Box<Flow>,
        /// The policy's decision for it (`ask`), with its reason.
        decision: Decision,
    },
    /// A deletion (`sheet "Revenue"`, `slide 3`).
    Deletion {
        /// What would be deleted, in words (`sheet "Revenue"`, `slide 3`).
        what: String,
        /// The policy's decision for it (`ask`), with its reason.
        decision: Decision,
    },
    /// A write held as a whole because it comes after a read that returned text looking
    /// like instructions aimed at an AI agent (`flows.after_flagged_instructions`).
    AfterInstructions {
        /// The policy's decision for it (`ask`), with its reason.
        decision: Decision,
    },
}

/// An open approval, as the surfaces show it and answer it.
#[derive(Clone, Debug, PartialEq)]
pub struct HeldApproval {
    /// The approval id (`apr_...`): what an answer names.
    pub id: String,
    /// The write it belongs to.
    pub write_id: WriteId,
    /// The document written to: of the panes, only its own may answer.
    pub target: DocumentRef,
    /// What is held: a transfer or a deletion.
    pub subject: HeldSubject,
    /// When it was opened.
    pub created_at: UnixMillis,
    /// When it expires unanswered.
    pub expires_at: UnixMillis,
}

impl HeldApproval {
    /// The held transfer's flow id; `None` for a deletion.
    pub fn flow_id(&self) -> Option<i64> {
        match &self.subject {
            HeldSubject::Transfer { flow_id, .. } => Some(*flow_id),
            HeldSubject::Deletion { .. } | HeldSubject::AfterInstructions { .. } => None,
        }
    }

    /// The source and target documents of a held transfer (a deletion has no source).
    fn pair(&self) -> Option<(DocumentId, DocumentId)> {
        match &self.subject {
            HeldSubject::Transfer { flow, .. } => {
                Some((flow.source.id.clone(), flow.target.id.clone()))
            }
            HeldSubject::Deletion { .. } | HeldSubject::AfterInstructions { .. } => None,
        }
    }
}

/// An approval that closed: answered, or closed by the bridge.
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedApproval {
    /// The approval id.
    pub id: String,
    /// The write it belonged to.
    pub write_id: WriteId,
    /// The held transfer's flow id; `None` for a deletion.
    pub flow_id: Option<i64>,
    /// The document written to.
    pub target: DocumentId,
    /// How it closed.
    pub state: ApprovalState,
    /// pane, desktop, elicitation, timeout, standing choice, or bridge.
    pub decided_by: String,
    /// How far the answer reaches (`once` when the bridge closed it).
    pub scope: Scope,
    /// In words, when the bridge (not a person) closed it.
    pub reason: String,
    /// When it closed.
    pub at: UnixMillis,
}

/// One transfer of a write, as its outcome needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferRef {
    /// The flow's id in the store.
    pub flow_id: i64,
    /// The document the data came from.
    pub source: DocumentId,
    /// The document written to.
    pub target: DocumentId,
    /// The policy's decision for this transfer.
    pub decision: Action,
}

/// A transfer's final outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct FlowOutcome {
    /// The flow's id in the store.
    pub flow_id: i64,
    /// The write it was part of.
    pub write_id: WriteId,
    /// The document the data came from.
    pub source: DocumentId,
    /// The document written to.
    pub target: DocumentId,
    /// What finally happened to it.
    pub outcome: Outcome,
    /// Whether the write landed: `None` when that cannot be known (the call ended while
    /// the pane was writing, or the bridge stopped then).
    pub written: Option<bool>,
    /// Who decided: `policy`, a person's channel, `timeout`, `bridge` or `standing choice`.
    pub decided_by: Option<String>,
    /// Why, in words.
    pub reason: String,
    /// When it was settled.
    pub at: UnixMillis,
}

/// What the bridge does with a held write once it is settled.
#[derive(Clone, Debug, PartialEq)]
pub enum Settlement {
    /// Every approval was allowed: write it. Each approval with who allowed it.
    Proceed {
        /// (approval id, who allowed it), in the order the approvals were opened.
        approvals: Vec<(String, String)>,
    },
    /// Nothing may be written.
    Refused {
        /// `denied` or `expired`.
        outcome: Outcome,
        /// Who ended it (a person's channel, `timeout`, `bridge`, `standing choice`).
        decided_by: String,
        /// Why, in words for the agent and the person.
        reason: String,
    },
}

/// A held write, settled: every approval allowed, or one denied or expired.
#[derive(Clone, Debug, PartialEq)]
pub struct SettledWrite {
    /// The write.
    pub write_id: WriteId,
    /// The document it was going to.
    pub target: DocumentRef,
    /// Write it, or refuse it and why.
    pub settlement: Settlement,
}

/// Everything one step changed, for the store to record and the bridge to announce.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Effects {
    /// Approvals that closed in this step.
    pub resolved: Vec<ResolvedApproval>,
    /// Held writes that this step settled.
    pub settled: Vec<SettledWrite>,
    /// Transfers that reached their final outcome.
    pub outcomes: Vec<FlowOutcome>,
    /// A standing choice the person made with this answer: (source, target, allow).
    pub standing_choice: Option<(DocumentId, DocumentId, bool)>,
}

impl Effects {
    /// True when the step changed nothing.
    pub fn is_empty(&self) -> bool {
        self.resolved.is_empty()
            && self.settled.is_empty()
            && self.outcomes.is_empty()
            && self.standing_choice.is_none()
    }

    /// Adds the effects of a later step (its standing choice, if any, wins).
    pub fn extend(&mut self, other: Effects) {
        self.resolved.extend(other.resolved);
        self.settled.extend(other.settled);
        self.outcomes.extend(other.outcomes);
        if other.standing_choice.is_some() {
            self.standing_choice = other.standing_choice;
        }
    }
}

/// Why an answer was not taken.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ApprovalError {
    /// No open approval has this id (it is the variant's value).
    #[error("no pending approval {0:?}: it was already answered, it expired, or it never existed")]
    Unknown(String),
    /// It was closed before this answer: the first answer counts.
    #[error("approval {id:?} was already {state} ({by}); the first answer counts")]
    AlreadyClosed {
        /// The approval id.
        id: String,
        /// How it closed (`allowed`, `denied`, `expired`).
        state: String,
        /// Who closed it.
        by: String,
    },
    /// The answer came from a pane of another document.
    #[error(
        "approval {id:?} is for {target}; only a pane of that document or the person at the desktop may answer it"
    )]
    WrongDocument {
        /// The approval id.
        id: String,
        /// The document it is for, in words.
        target: String,
    },
    /// The agent's client answered, and the administrator leaves approvals to people.
    #[error(
        "approval {id:?} cannot be answered by the agent's client: the administrator's policy (agent_client_may_approve) leaves approvals to the document's pane and the desktop"
    )]
    ClientMayNotApprove {
        /// The approval id.
        id: String,
    },
}

/// A write waiting for approvals.
#[derive(Clone, Debug)]
struct HeldWrite {
    target: DocumentRef,
    /// Every approval of the write, in the order they were opened.
    approvals: Vec<String>,
    /// The transfer each approval holds (none for a deletion).
    flow_of: HashMap<String, i64>,
    /// The answers so far: approval id -> who allowed it.
    allowed: HashMap<String, String>,
    transfers: Vec<TransferRef>,
    /// How long it was given: what an expiry says it waited.
    held_for_ms: i64,
    expires_at: UnixMillis,
}

/// A write that may proceed and has not finished (its transfers wait for `written`).
#[derive(Clone, Debug)]
struct PassingWrite {
    transfers: Vec<TransferRef>,
    approvals: Vec<(String, String)>,
    /// Who allowed each held transfer, by flow id.
    allowed_by: HashMap<i64, String>,
}

/// A finished write: each transfer's outcome, and each approval with who allowed it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Finished {
    /// Each transfer's outcome.
    pub outcomes: Vec<FlowOutcome>,
    /// Each approval of the write, with who allowed it: (approval id, decided by).
    pub approvals: Vec<(String, String)>,
}

/// The open approvals and unfinished writes. In memory; the tracker persists each step.
#[derive(Debug, Default)]
pub struct Holds {
    open: HashMap<String, HeldApproval>,
    held: HashMap<WriteId, HeldWrite>,
    passing: HashMap<WriteId, PassingWrite>,
}

impl Holds {
    /// Starts holding a write: one approval per entry of `approvals`, all expiring at
    /// `expires_at`.
    pub fn hold(
        &mut self,
        write_id: &WriteId,
        target: &DocumentRef,
        approvals: Vec<HeldApproval>,
        transfers: Vec<TransferRef>,
        expires_at: UnixMillis,
    ) {
        let ids = approvals.iter().map(|a| a.id.clone()).collect();
        let flow_of = approvals
            .iter()
            .filter_map(|a| a.flow_id().map(|f| (a.id.clone(), f)))
            .collect();
        let held_for_ms = approvals
            .iter()
            .map(|a| a.expires_at - a.created_at)
            .max()
            .unwrap_or(0);
        for a in approvals {
            self.open.insert(a.id.clone(), a);
        }
        self.held.insert(
            write_id.clone(),
            HeldWrite {
                target: target.clone(),
                approvals: ids,
                flow_of,
                allowed: HashMap::new(),
                transfers,
                held_for_ms,
                expires_at,
            },
        );
    }

    /// A write that may proceed at once (allowed or notified), until it finishes.
    pub fn pass(&mut self, write_id: &WriteId, transfers: Vec<TransferRef>) {
        self.passing.insert(
            write_id.clone(),
            PassingWrite {
                transfers,
                approvals: Vec::new(),
                allowed_by: HashMap::new(),
            },
        );
    }

    /// The approvals waiting for an answer, in no particular order.
    pub fn open_approvals(&self) -> impl Iterator<Item = &HeldApproval> {
        self.open.values()
    }

    /// The open approval `id`, if it is still open.
    pub fn approval(&self, id: &str) -> Option<&HeldApproval> {
        self.open.get(id)
    }

    /// The earliest deadline of an open approval.
    pub fn next_expiry(&self) -> Option<UnixMillis> {
        self.held.values().map(|w| w.expires_at).min()
    }

    /// Takes an answer. Checks who may answer; the standing choice it makes (scope
    /// `document` on a transfer) settles the pair's other open approvals too.
    pub fn answer(
        &mut self,
        id: &str,
        answer: &Answer,
        client_may_approve: bool,
        at: UnixMillis,
    ) -> Result<Effects, ApprovalError> {
        let approval = self
            .open
            .get(id)
            .ok_or_else(|| ApprovalError::Unknown(id.chars().take(80).collect()))?;
        match &answer.by {
            Who::Pane(doc) if *doc != approval.target.id => {
                return Err(ApprovalError::WrongDocument {
                    id: id.to_string(),
                    target: approval.target.name.clone(),
                });
            }
            Who::Elicitation if !client_may_approve => {
                return Err(ApprovalError::ClientMayNotApprove { id: id.to_string() });
            }
            _ => {}
        }
        // A deletion has no source to remember a choice for: its answer counts once.
        let pair = approval.pair();
        let scope = if pair.is_some() {
            answer.scope
        } else {
            Scope::Once
        };
        let state = if answer.allow {
            ApprovalState::Allowed
        } else {
            ApprovalState::Denied
        };
        let mut effects = Effects::default();
        self.close(
            id,
            state,
            answer.by.as_str(),
            scope,
            String::new(),
            at,
            &mut effects,
        );
        if scope == Scope::Document
            && let Some((source, target)) = pair
        {
            let others: Vec<String> = self
                .open
                .values()
                .filter(|a| a.pair().as_ref() == Some(&(source.clone(), target.clone())))
                .map(|a| a.id.clone())
                .collect();
            let closer = Closer::StandingChoice {
                allow: answer.allow,
            };
            for other in others {
                // An earlier step may have closed it with its write.
                if self.open.contains_key(&other) {
                    self.close_by(&other, &closer, at, &mut effects);
                }
            }
            effects.standing_choice = Some((source, target, answer.allow));
        }
        Ok(effects)
    }

    /// Expires every approval whose deadline has passed, and with it its write.
    pub fn expire_due(&mut self, now: UnixMillis) -> Effects {
        let mut effects = Effects::default();
        let due: Vec<WriteId> = self
            .held
            .iter()
            .filter(|(_, w)| w.expires_at <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for write_id in due {
            self.close_write(&write_id, None, now, &mut effects);
        }
        effects
    }

    /// Closes a held write's approvals because its call was withdrawn (or the bridge stops).
    pub fn close_write(
        &mut self,
        write_id: &WriteId,
        closer: Option<Closer>,
        at: UnixMillis,
        effects: &mut Effects,
    ) {
        let Some(w) = self.held.get(write_id) else {
            return;
        };
        let closer = closer.unwrap_or(Closer::Timeout {
            held_for_ms: w.held_for_ms,
        });
        let open: Vec<String> = w
            .approvals
            .iter()
            .filter(|id| self.open.contains_key(*id))
            .cloned()
            .collect();
        for id in open {
            if self.open.contains_key(&id) {
                self.close_by(&id, &closer, at, effects);
            }
        }
    }

    /// Closes every held write (the bridge is stopping).
    pub fn close_all(&mut self, closer: &Closer, at: UnixMillis) -> Effects {
        let mut effects = Effects::default();
        let ids: Vec<WriteId> = self.held.keys().cloned().collect();
        for id in ids {
            self.close_write(&id, Some(closer.clone()), at, &mut effects);
        }
        effects
    }

    /// A write that passed has finished: its transfers' outcomes, and the approvals it
    /// needed.
    pub fn finish(
        &mut self,
        write_id: &WriteId,
        written: Option<bool>,
        at: UnixMillis,
    ) -> Option<Finished> {
        let w = self.passing.remove(write_id)?;
        let outcomes = w
            .transfers
            .iter()
            .map(|t| FlowOutcome {
                flow_id: t.flow_id,
                write_id: write_id.clone(),
                source: t.source.clone(),
                target: t.target.clone(),
                outcome: Outcome::of_passed(t.decision),
                written,
                // Who let it through: the policy, or the person who allowed it.
                decided_by: Some(
                    w.allowed_by
                        .get(&t.flow_id)
                        .cloned()
                        .unwrap_or_else(|| "policy".to_string()),
                ),
                reason: match written {
                    Some(true) => "written".into(),
                    Some(false) => "allowed, but the write did not go through".into(),
                    None => "allowed; whether the write went through is not known".into(),
                },
                at,
            })
            .collect();
        Some(Finished {
            outcomes,
            approvals: w.approvals,
        })
    }

    fn close_by(&mut self, id: &str, closer: &Closer, at: UnixMillis, effects: &mut Effects) {
        self.close(
            id,
            closer.state(),
            closer.decided_by(),
            Scope::Once,
            closer.reason(),
            at,
            effects,
        );
    }

    /// Closes one approval and, when that settles its write, the write.
    #[allow(clippy::too_many_arguments)]
    fn close(
        &mut self,
        id: &str,
        state: ApprovalState,
        decided_by: &str,
        scope: Scope,
        reason: String,
        at: UnixMillis,
        effects: &mut Effects,
    ) {
        let Some(approval) = self.open.remove(id) else {
            return;
        };
        let write_id = approval.write_id.clone();
        effects.resolved.push(ResolvedApproval {
            id: id.to_string(),
            write_id: write_id.clone(),
            flow_id: approval.flow_id(),
            target: approval.target.id.clone(),
            state,
            decided_by: decided_by.to_string(),
            scope,
            reason: reason.clone(),
            at,
        });
        let Some(w) = self.held.get_mut(&write_id) else {
            return;
        };
        match state {
            ApprovalState::Allowed => {
                w.allowed.insert(id.to_string(), decided_by.to_string());
                if w.allowed.len() < w.approvals.len() {
                    return;
                }
                let w = self.held.remove(&write_id).expect("present above");
                let approvals: Vec<(String, String)> = w
                    .approvals
                    .iter()
                    .map(|a| (a.clone(), w.allowed.get(a).cloned().unwrap_or_default()))
                    .collect();
                let allowed_by = w
                    .flow_of
                    .iter()
                    .filter_map(|(a, f)| w.allowed.get(a).map(|by| (*f, by.clone())))
                    .collect();
                self.passing.insert(
                    write_id.clone(),
                    PassingWrite {
                        transfers: w.transfers.clone(),
                        approvals: approvals.clone(),
                        allowed_by,
                    },
                );
                effects.settled.push(SettledWrite {
                    write_id,
                    target: w.target,
                    settlement: Settlement::Proceed { approvals },
                });
            }
            ApprovalState::Denied | ApprovalState::Expired => {
                let w = self.held.remove(&write_id).expect("present above");
                let outcome = if state == ApprovalState::Expired {
                    Outcome::Expired
                } else {
                    Outcome::Denied
                };
                let why = if reason.is_empty() {
                    format!("denied ({})", who_words(decided_by))
                } else {
                    reason.clone()
                };
                // The write's other approvals close with it: one denial refuses it all;
                // expiry reaches them all at once (they share the deadline).
                for other in &w.approvals {
                    if let Some(a) = self.open.remove(other) {
                        let (s, by, r) = if state == ApprovalState::Expired {
                            (state, decided_by.to_string(), reason.clone())
                        } else {
                            let c = Closer::SiblingDenied;
                            (c.state(), c.decided_by().to_string(), c.reason())
                        };
                        effects.resolved.push(ResolvedApproval {
                            id: a.id.clone(),
                            write_id: write_id.clone(),
                            flow_id: a.flow_id(),
                            target: a.target.id.clone(),
                            state: s,
                            decided_by: by,
                            scope: Scope::Once,
                            reason: r,
                            at,
                        });
                    }
                }
                for t in &w.transfers {
                    effects.outcomes.push(FlowOutcome {
                        flow_id: t.flow_id,
                        write_id: write_id.clone(),
                        source: t.source.clone(),
                        target: t.target.clone(),
                        outcome,
                        written: Some(false),
                        decided_by: Some(decided_by.to_string()),
                        reason: why.clone(),
                        at,
                    });
                }
                effects.settled.push(SettledWrite {
                    write_id,
                    target: w.target,
                    settlement: Settlement::Refused {
                        outcome,
                        decided_by: decided_by.to_string(),
                        reason: why,
                    },
                });
            }
            ApprovalState::Pending => {}
        }
    }
}

/// Where an answer came from, in the words a refusal uses.
pub fn who_words(decided_by: &str) -> &'static str {
    match decided_by {
        "pane" => "in the document's pane",
        "desktop" => "on the desktop",
        "elicitation" => "in the agent's app",
        "standing choice" => "by your standing choice",
        "timeout" => "nobody answered in time",
        _ => "by office-bridge",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{App, CellAddr, FlowStrength, SensitivityMark};

    fn doc(app: App, name: &str) -> DocumentRef {
        DocumentRef::new(app, name, format!("https://contoso.example/{name}"))
    }

    fn flow(source: &DocumentRef, target: &DocumentRef) -> Flow {
        Flow {
            source: source.clone(),
            sheet: "Revenue".into(),
            cells: vec![CellAddr::new(1, 1)],
            target: target.clone(),
            location: "slide 3".into(),
            matched: 1,
            confidence: 0.99,
            strength: FlowStrength::Confirmed,
            sensitivity: SensitivityMark::default(),
            explicit: false,
            joined_writes: Vec::new(),
        }
    }

    fn ask() -> Decision {
        Decision {
            why: None,
            action: Action::Ask,
            reason: "held".into(),
        }
    }

    /// Holds a write with one approval per source; returns (write id, approval ids).
    fn held(
        holds: &mut Holds,
        sources: &[&DocumentRef],
        target: &DocumentRef,
        expires_at: UnixMillis,
    ) -> (WriteId, Vec<String>) {
        let write_id = WriteId::new();
        let mut approvals = Vec::new();
        let mut transfers = Vec::new();
        for (i, s) in sources.iter().enumerate() {
            let flow_id = 100 + i as i64;
            let id = new_approval_id();
            approvals.push(HeldApproval {
                id: id.clone(),
                write_id: write_id.clone(),
                target: target.clone(),
                subject: HeldSubject::Transfer {
                    flow_id,
                    flow: Box::new(flow(s, target)),
                    decision: ask(),
                },
                created_at: 1_000,
                expires_at,
            });
            transfers.push(TransferRef {
                flow_id,
                source: s.id.clone(),
                target: target.id.clone(),
                decision: Action::Ask,
            });
        }
        let ids = approvals.iter().map(|a| a.id.clone()).collect();
        holds.hold(&write_id, target, approvals, transfers, expires_at);
        (write_id, ids)
    }

    fn by_pane(target: &DocumentRef, allow: bool, scope: Scope) -> Answer {
        Answer {
            allow,
            scope,
            by: Who::Pane(target.id.clone()),
        }
    }

    #[test]
    fn a_write_proceeds_only_when_every_approval_is_allowed() {
        let (q3, hr, deck) = (
            doc(App::Excel, "Q3.xlsx"),
            doc(App::Excel, "HR.xlsx"),
            doc(App::Powerpoint, "Board.pptx"),
        );
        let mut h = Holds::default();
        let (write, ids) = held(&mut h, &[&q3, &hr], &deck, 9_000);
        let first = h
            .answer(&ids[0], &by_pane(&deck, true, Scope::Once), true, 2_000)
            .unwrap();
        assert_eq!(first.resolved.len(), 1);
        assert!(first.settled.is_empty(), "one of two allowed is not enough");
        let second = h
            .answer(&ids[1], &by_pane(&deck, true, Scope::Once), true, 2_100)
            .unwrap();
        assert_eq!(
            second.settled[0].settlement,
            Settlement::Proceed {
                approvals: vec![
                    (ids[0].clone(), "pane".into()),
                    (ids[1].clone(), "pane".into())
                ]
            }
        );
        let finished = h.finish(&write, Some(true), 2_200).unwrap();
        assert_eq!(finished.outcomes[0].decided_by.as_deref(), Some("pane"));
        assert!(
            finished
                .outcomes
                .iter()
                .all(|o| o.outcome == Outcome::Approved && o.written == Some(true))
        );
        assert_eq!(h.next_expiry(), None);
    }

    #[test]
    fn one_denial_refuses_the_whole_write_at_once() {
        let (q3, hr, deck) = (
            doc(App::Excel, "Q3.xlsx"),
            doc(App::Excel, "HR.xlsx"),
            doc(App::Powerpoint, "Board.pptx"),
        );
        let mut h = Holds::default();
        let (_, ids) = held(&mut h, &[&q3, &hr], &deck, 9_000);
        let e = h
            .answer(
                &ids[1],
                &Answer {
                    allow: false,
                    scope: Scope::Once,
                    by: Who::Desktop,
                },
                true,
                2_000,
            )
            .unwrap();
        assert_eq!(e.resolved.len(), 2, "the sibling closes too: {e:?}");
        let sibling = e.resolved.iter().find(|r| r.id == ids[0]).unwrap();
        assert_eq!(sibling.state, ApprovalState::Denied);
        assert_eq!(sibling.decided_by, "bridge");
        assert!(matches!(
            &e.settled[0].settlement,
            Settlement::Refused { outcome: Outcome::Denied, decided_by, .. } if decided_by == "desktop"
        ));
        assert_eq!(e.outcomes.len(), 2);
        assert!(
            e.outcomes
                .iter()
                .all(|o| o.outcome == Outcome::Denied && o.written == Some(false))
        );
        // The first answer won; the sibling is gone for a late answer.
        assert!(matches!(
            h.answer(&ids[0], &by_pane(&deck, true, Scope::Once), true, 2_100),
            Err(ApprovalError::Unknown(_))
        ));
    }

    #[test]
    fn only_the_target_pane_and_an_allowed_client_may_answer() {
        let (q3, deck) = (
            doc(App::Excel, "Q3.xlsx"),
            doc(App::Powerpoint, "Board.pptx"),
        );
        let mut h = Holds::default();
        let (_, ids) = held(&mut h, &[&q3], &deck, 9_000);
        assert!(matches!(
            h.answer(&ids[0], &by_pane(&q3, true, Scope::Once), true, 2_000),
            Err(ApprovalError::WrongDocument { .. })
        ));
        let client = Answer {
            allow: true,
            scope: Scope::Once,
            by: Who::Elicitation,
        };
        assert!(matches!(
            h.answer(&ids[0], &client, false, 2_000),
            Err(ApprovalError::ClientMayNotApprove { .. })
        ));
        assert!(h.approval(&ids[0]).is_some(), "still open after refusals");
        assert!(h.answer(&ids[0], &client, true, 2_000).is_ok());
    }

    #[test]
    fn deadlines_expire_the_whole_write() {
        let (q3, hr, deck) = (
            doc(App::Excel, "Q3.xlsx"),
            doc(App::Excel, "HR.xlsx"),
            doc(App::Powerpoint, "Board.pptx"),
        );
        let mut h = Holds::default();
        let (_, ids) = held(&mut h, &[&q3, &hr], &deck, 9_000);
        h.answer(&ids[0], &by_pane(&deck, true, Scope::Once), true, 2_000)
            .unwrap();
        assert_eq!(h.next_expiry(), Some(9_000));
        assert!(h.expire_due(8_999).is_empty());
        let e = h.expire_due(9_000);
        assert_eq!(e.resolved.len(), 1, "only the open one: {e:?}");
        assert_eq!(e.resolved[0].state, ApprovalState::Expired);
        assert_eq!(e.resolved[0].decided_by, "timeout");
        assert!(e.resolved[0].reason.contains("8 s"), "{:?}", e.resolved[0]);
        assert!(matches!(
            e.settled[0].settlement,
            Settlement::Refused {
                outcome: Outcome::Expired,
                ..
            }
        ));
        assert!(e.outcomes.iter().all(|o| o.outcome == Outcome::Expired));
        assert_eq!(h.next_expiry(), None);
    }

    #[test]
    fn always_for_this_deck_settles_the_pairs_other_approvals() {
        let (q3, hr, deck) = (
            doc(App::Excel, "Q3.xlsx"),
            doc(App::Excel, "HR.xlsx"),
            doc(App::Powerpoint, "Board.pptx"),
        );
        let mut h = Holds::default();
        let (_, first) = held(&mut h, &[&q3], &deck, 9_000);
        let (second_write, second) = held(&mut h, &[&q3, &hr], &deck, 9_500);
        let e = h
            .answer(
                &first[0],
                &by_pane(&deck, true, Scope::Document),
                true,
                2_000,
            )
            .unwrap();
        assert_eq!(
            e.standing_choice,
            Some((q3.id.clone(), deck.id.clone(), true))
        );
        let by_choice = e.resolved.iter().find(|r| r.id == second[0]).unwrap();
        assert_eq!(
            (by_choice.state, by_choice.decided_by.as_str()),
            (ApprovalState::Allowed, "standing choice")
        );
        // The second write still waits for its HR.xlsx approval.
        assert_eq!(e.settled.len(), 1);
        assert!(h.held.contains_key(&second_write));
        assert!(h.approval(&second[1]).is_some());
        // A standing "block" denies the pair's open approvals, and their writes.
        let (_, third) = held(&mut h, &[&hr], &deck, 9_900);
        let e = h
            .answer(
                &second[1],
                &Answer {
                    allow: false,
                    scope: Scope::Document,
                    by: Who::Desktop,
                },
                true,
                2_100,
            )
            .unwrap();
        assert!(e.resolved.iter().any(|r| r.id == third[0]
            && r.state == ApprovalState::Denied
            && r.decided_by == "standing choice"));
        assert_eq!(e.settled.len(), 2);
    }

    #[test]
    fn a_deletion_answer_counts_once() {
        let deck = doc(App::Powerpoint, "Board.pptx");
        let mut h = Holds::default();
        let write_id = WriteId::new();
        let id = new_approval_id();
        h.hold(
            &write_id,
            &deck,
            vec![HeldApproval {
                id: id.clone(),
                write_id: write_id.clone(),
                target: deck.clone(),
                subject: HeldSubject::Deletion {
                    what: "slide 2".into(),
                    decision: ask(),
                },
                created_at: 1_000,
                expires_at: 9_000,
            }],
            vec![],
            9_000,
        );
        let e = h
            .answer(&id, &by_pane(&deck, true, Scope::Document), true, 2_000)
            .unwrap();
        assert_eq!(e.resolved[0].scope, Scope::Once);
        assert_eq!(e.standing_choice, None);
        assert!(matches!(
            e.settled[0].settlement,
            Settlement::Proceed { .. }
        ));
    }

    #[test]
    fn withdrawn_and_stopped_writes_close_with_their_reason() {
        let (q3, deck) = (
            doc(App::Excel, "Q3.xlsx"),
            doc(App::Powerpoint, "Board.pptx"),
        );
        let mut h = Holds::default();
        let (w1, _) = held(&mut h, &[&q3], &deck, 9_000);
        let (_w2, _) = held(&mut h, &[&q3], &deck, 9_000);
        let mut e = Effects::default();
        h.close_write(&w1, Some(Closer::Withdrawn), 2_000, &mut e);
        assert_eq!(e.resolved[0].state, ApprovalState::Denied);
        assert!(e.resolved[0].reason.contains("call ended"));
        let e = h.close_all(&Closer::Shutdown, 3_000);
        assert_eq!(e.settled.len(), 1);
        assert_eq!(e.resolved[0].state, ApprovalState::Expired);
        assert!(e.resolved[0].reason.contains("stopped"));
        assert_eq!(h.open_approvals().count(), 0);
    }
}
