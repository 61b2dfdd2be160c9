//! The decisions: what happens to one flow, and to one deletion, why as data
//! ([`DecisionWhy`]), and the reason rendered from it in words.
//! Applies the precedence set out in the docs of [`super`].

use super::{AdminPolicy, UserChoices, flow_sensitivity};
use crate::model::{
    Action, Decision, DecisionRule, DecisionWhy, DocumentRef, Flow, FlowStrength, PairChoice,
    Sensitivity, SensitivityOrigin,
};

fn origin_words(o: &SensitivityOrigin) -> String {
    match o {
        SensitivityOrigin::Default => "by default".to_string(),
        SensitivityOrigin::Person => "marked by you".to_string(),
        SensitivityOrigin::AdminRule { pattern } => {
            format!("by your administrator's rule \"{pattern}\"")
        }
        SensitivityOrigin::Purview { label } => format!("Purview label \"{label}\""),
        SensitivityOrigin::LabelUnknown { why } => {
            format!("because its sensitivity label could not be read: {why}")
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "value" } else { "values" }
}

/// Decides what happens to one flow. Pure; the decision says why as data, and its reason
/// names source and target in words.
pub fn decide_flow(flow: &Flow, admin: &AdminPolicy, choices: &UserChoices) -> Decision {
    let source = format!("{} > {}", flow.source.name, flow.sheet);
    let target = if flow.location.is_empty() {
        flow.target.name.clone()
    } else {
        format!("{} ({})", flow.target.name, flow.location)
    };
    if flow.source.id == flow.target.id {
        return Decision {
            action: Action::Allow,
            why: Some(DecisionWhy {
                rule: DecisionRule::SameDocument,
                policy: None,
                sensitivity: None,
                sensitive_values: None,
                choice: None,
                uncertain: false,
            }),
            reason: format!("data from {source} stays within the same document"),
        };
    }
    // Copy-by-reference flows carry their own proof: treat them as confirmed.
    let strength = if flow.explicit {
        FlowStrength::Confirmed
    } else {
        flow.strength
    };
    let (mark, n_conf) = flow_sensitivity(flow, admin, choices);
    let confidential = mark.level == Sensitivity::Confidential;
    let policy = if confidential {
        admin.flows.confidential
    } else {
        admin.flows.default
    };
    let blocked_pair = choices.is_always_blocked(&flow.source.id, &flow.target.id);
    let allowed_pair = choices.is_always_allowed(&flow.source.id, &flow.target.id);
    let uncertain = strength == FlowStrength::Possible;
    let (rule, action, choice) = if !admin.flows.enabled {
        // Weak evidence is shown, never blocked.
        let action = if uncertain {
            Action::Notify
        } else {
            Action::Block
        };
        (DecisionRule::TransfersOff, action, None)
    } else if uncertain {
        // Weak evidence: show, never hold or block.
        let choice = blocked_pair.then_some(PairChoice::AlwaysBlock);
        let action = if blocked_pair {
            Action::Notify
        } else {
            policy.min(Action::Notify)
        };
        (DecisionRule::AdminPolicy, action, choice)
    } else if blocked_pair {
        (
            DecisionRule::AdminPolicy,
            Action::Block,
            Some(PairChoice::AlwaysBlock),
        )
    } else if allowed_pair && matches!(policy, Action::Ask | Action::Block) {
        // An "always allow" softens a hold to a notice; it cannot lift a block.
        let action = if policy == Action::Ask {
            Action::Notify
        } else {
            Action::Block
        };
        (
            DecisionRule::AdminPolicy,
            action,
            Some(PairChoice::AlwaysAllow),
        )
    } else {
        (DecisionRule::AdminPolicy, policy, None)
    };
    let why = DecisionWhy {
        rule,
        policy: (rule == DecisionRule::AdminPolicy).then_some(policy),
        sensitivity: Some(mark.clone()),
        sensitive_values: confidential.then_some(n_conf),
        choice,
        uncertain,
    };
    let n = flow.cells.len().max(flow.matched);
    let subject = if confidential {
        format!(
            "{n_conf} {} from {source} {} confidential ({}) and",
            plural(n_conf),
            if n_conf == 1 { "is" } else { "are" },
            origin_words(&mark.origin)
        )
    } else {
        format!("{n} {} from {source}", plural(n))
    };
    let verb = if uncertain {
        "may be going to"
    } else {
        "would go to"
    };
    Decision {
        action,
        reason: format!("{subject} {verb} {target}; {}", why.because()),
        why: Some(why),
    }
}

/// Decides a deletion (`what` is e.g. `sheet "Revenue"` or `slide 3`). Default: ask.
pub fn decide_deletion(target: &DocumentRef, what: &str, admin: &AdminPolicy) -> Decision {
    let action = admin.deletions.action();
    let why = DecisionWhy {
        rule: DecisionRule::DeletionPolicy,
        policy: Some(action),
        sensitivity: None,
        sensitive_values: None,
        choice: None,
        uncertain: false,
    };
    Decision {
        action,
        reason: format!("deleting {what} in {}: {}", target.name, why.because()),
        why: Some(why),
    }
}
