//! Writes after untrusted instructions: when a read returned text that looks like
//! instructions aimed at an AI agent (`crate::injection`), the agent may be following
//! them, so every write and deletion for a while after is decided at least as the
//! administrator's `flows.after_flagged_instructions` says (default: held for the person),
//! whatever data it carries, and its decision says why.
//!
//! "A while" is [`WINDOW_MS`] after the last flagged read. The bridge cannot tell one agent
//! conversation from the next (a new MCP session, a relay that reconnects after a restart,
//! may be the same agent that read the text), so the window is kept per install, in the
//! audit chain, and survives both. A read that flags again extends it.

use serde_json::json;

use crate::injection::InjectionFinding;
use crate::model::{Decision, DecisionRule, DecisionWhy, DocumentRef, UnixMillis};
use crate::policy::AdminPolicy;

/// How long writes are decided as "after flagged instructions": an hour after the last
/// read that flagged.
pub const WINDOW_MS: UnixMillis = 60 * 60 * 1000;

/// The last read that returned instruction-like text: where, and why it was flagged (no
/// excerpt: the audit chain never holds document text).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FlaggedRead {
    /// When the read was recorded.
    pub at: UnixMillis,
    /// The document read.
    pub document: String,
    /// The first finding's location (`Sheet1!B7`, `slide 2 Note`).
    pub location: String,
    /// The first finding's reason (one of `injection::REASON_*`).
    pub reason: String,
    /// How many findings the read had.
    pub findings: usize,
}

impl FlaggedRead {
    /// The flagged read of `document` with `findings` (at least one), at `at`.
    pub fn new(
        document: &DocumentRef,
        findings: &[InjectionFinding],
        at: UnixMillis,
    ) -> Option<Self> {
        let first = findings.first()?;
        Some(FlaggedRead {
            at,
            document: document.name.clone(),
            location: first.location.clone(),
            reason: first.reason.to_string(),
            findings: findings.len(),
        })
    }

    /// Whether a write at `at` comes within the window of this read.
    pub fn covers(&self, at: UnixMillis) -> bool {
        at >= self.at && at - self.at < WINDOW_MS
    }

    /// The audit record's body.
    pub(crate) fn audit_body(&self, document: &DocumentRef) -> serde_json::Value {
        json!({
            "document": self.document,
            "document_id": document.id.0,
            "location": self.location,
            "reason": self.reason,
            "findings": self.findings,
        })
    }

    /// Read back from an audit record's body.
    pub(crate) fn from_audit(body: &serde_json::Value, at: UnixMillis) -> Option<Self> {
        Some(FlaggedRead {
            at,
            document: body.get("document")?.as_str()?.to_string(),
            location: body.get("location")?.as_str()?.to_string(),
            reason: body.get("reason")?.as_str()?.to_string(),
            findings: body.get("findings")?.as_u64()? as usize,
        })
    }

    /// The words a decision gives for it.
    pub fn words(&self) -> String {
        format!(
            "the agent read text in {} that looks like instructions aimed at an AI agent ({}: {}), and may be following it",
            self.document, self.location, self.reason
        )
    }
}

/// The decision for a write to (or deletion in) `target` after `flagged`.
pub fn decide_after_flagged(
    flagged: &FlaggedRead,
    target: &DocumentRef,
    admin: &AdminPolicy,
) -> Decision {
    let action = admin.flows.after_flagged_instructions;
    let why = DecisionWhy {
        rule: DecisionRule::AfterFlaggedInstructions,
        policy: Some(action),
        sensitivity: None,
        sensitive_values: None,
        choice: None,
        uncertain: false,
    };
    Decision {
        action,
        reason: format!(
            "writing to {}: {}; {}",
            target.name,
            flagged.words(),
            why.because()
        ),
        why: Some(why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Action, App, DocumentId};

    fn deck() -> DocumentRef {
        DocumentRef {
            id: DocumentId("deck".into()),
            app: App::Powerpoint,
            name: "Board.pptx".into(),
            location: String::new(),
        }
    }

    fn flagged(at: UnixMillis) -> FlaggedRead {
        FlaggedRead {
            at,
            document: "Q3.xlsx".into(),
            location: "Data!B7".into(),
            reason: crate::injection::REASON_OVERRIDE.into(),
            findings: 1,
        }
    }

    #[test]
    fn the_window_is_an_hour_after_the_read() {
        let f = flagged(1_000);
        assert!(f.covers(1_000) && f.covers(1_000 + WINDOW_MS - 1));
        assert!(!f.covers(1_000 + WINDOW_MS) && !f.covers(999));
    }

    #[test]
    fn the_decision_follows_the_policy_and_says_why() {
        let mut admin = AdminPolicy::default();
        let d = decide_after_flagged(&flagged(0), &deck(), &admin);
        assert_eq!(d.action, Action::Ask, "ask by default");
        assert!(d.reason.contains("Data!B7"), "{}", d.reason);
        assert!(d.reason.contains("requires approval"), "{}", d.reason);
        admin.flows.after_flagged_instructions = Action::Block;
        let d = decide_after_flagged(&flagged(0), &deck(), &admin);
        assert_eq!(d.action, Action::Block);
        assert!(d.reason.contains("blocks writes"), "{}", d.reason);
    }

    #[test]
    fn audit_bodies_round_trip() {
        let f = flagged(42);
        assert_eq!(FlaggedRead::from_audit(&f.audit_body(&deck()), 42), Some(f));
        assert_eq!(FlaggedRead::from_audit(&json!({"document": 1}), 0), None);
    }
}
