//! Administrator policy, the person's standing choices, and the decisions made from them.
//!
//! Everything here is pure: values in, a [`Decision`](crate::model::Decision) or
//! [`SensitivityMark`](crate::model::SensitivityMark) out. The bridge reads the managed
//! policy file itself (only a file an administrator controls) and parses it with
//! [`AdminPolicy::parse_named`] ([`AdminPolicy::load`] reads without checks), keeps the
//! person's [`UserChoices`] in the store, and calls [`decide_flow`] once per detected flow
//! and [`decide_deletion`] once per deletion.
//!
//! Precedence, in one place so it can be audited:
//! 1. A flow within one document is always allowed.
//! 2. A weak (`Possible`) flow never blocks and never holds: at most it is shown (notify).
//!    This holds even when transfers are switched off, because a coincidental match (a
//!    year, a round number) must not stop a write; the flow is still recorded and shown.
//! 3. `flows.enabled = false` blocks every confirmed cross-document flow.
//! 4. Otherwise the base action is `flows.confidential` for confidential data, else
//!    `flows.default`.
//! 5. The person's standing "always block" tightens to block; "always allow" turns ask
//!    into notify but never loosens an administrator's block. Nothing else loosens the
//!    administrator's action.
//!
//! One file each under `policy/`: `admin` (the administrator's settings and the file),
//! `choices` (the person's standing choices and marks), `sensitivity` (how sensitive a
//! cell, a document or a flow is), `decisions` (the precedence above, applied).

mod admin;
mod choices;
mod decisions;
mod sensitivity;
#[cfg(test)]
mod tests;

pub use admin::{
    AddinPolicy, AddinsPolicy, AdminPolicy, AuditPolicy, DEFAULT_APPROVAL_TIMEOUT_SECONDS,
    DeletionAction, FlowsPolicy, ForwardScheme, ForwardTarget, MAX_APPROVAL_TIMEOUT_SECONDS,
    POLICY_PATHS, PolicyError, PolicyValue, SensitivityRules, ValueSource, glob_match,
};
pub use choices::{DocPair, RangeMark, UserChoices};
pub use decisions::{decide_deletion, decide_flow};
pub use sensitivity::{
    flow_sensitivity, label_sensitivity, purview_is_confidential, sensitivity_of,
};
