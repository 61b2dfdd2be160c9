//! The decisions: what happens to one flow, and to one deletion, with a reason in words.
//! Applies the precedence set out in the docs of [`super`].

use super::{AdminPolicy, DeletionAction, UserChoices, flow_sensitivity};
use crate::model::{
    Action, Decision, DocumentRef, Flow, FlowStrength, Sensitivity, SensitivityOrigin,
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

/// Decides what happens to one flow. Pure; the reason names source and target in words.
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
    let n = flow.cells.len().max(flow.matched);
    let subject = if confidential {
        format!(
            "{n_conf} {} from {source} {} confidential ({})",
            plural(n_conf),
            if n_conf == 1 { "is" } else { "are" },
            origin_words(&mark.origin)
        )
    } else {
        format!("{n} {} from {source}", plural(n))
    };

    let and = if confidential { " and" } else { "" };
    if strength == FlowStrength::Possible {
        // Weak evidence: show, never hold or block.
        let (action, why) = if !admin.flows.enabled {
            (
                Action::Notify,
                "cross-app transfers are switched off by your administrator, but the match is too weak to block; it is shown instead".to_string(),
            )
        } else if choices.is_always_blocked(&flow.source.id, &flow.target.id) {
            (
                Action::Notify,
                "you chose to always block this pair, but the match is too weak to block; it is shown instead".to_string(),
            )
        } else {
            let base = if confidential {
                admin.flows.confidential
            } else {
                admin.flows.default
            };
            let capped = base.min(Action::Notify);
            let why = if capped == Action::Allow {
                "this is allowed by your administrator's policy".to_string()
            } else if base > Action::Notify {
                format!(
                    "the match is uncertain, so it is shown rather than {}",
                    if base == Action::Block {
                        "blocked"
                    } else {
                        "held for approval"
                    }
                )
            } else {
                "your administrator asks that such transfers be shown".to_string()
            };
            (capped, why)
        };
        return Decision {
            action,
            reason: format!("{subject}{and} may be going to {target}; {why}"),
        };
    }

    if !admin.flows.enabled {
        return Decision {
            action: Action::Block,
            reason: format!(
                "{subject}{and} would go to {target}; cross-app transfers are switched off by your administrator"
            ),
        };
    }

    let base = if confidential {
        admin.flows.confidential
    } else {
        admin.flows.default
    };
    let kind = if confidential {
        "confidential data"
    } else {
        "data moving between documents"
    };
    let admin_words = match base {
        Action::Allow => format!("your administrator allows {kind}"),
        Action::Notify => format!("your administrator allows {kind} and asks that you be told"),
        Action::Ask => format!("your administrator requires approval for {kind}"),
        Action::Block => format!("your administrator blocks {kind}"),
    };
    let mut action = base;
    let mut reason = format!("{subject}{and} would go to {target}; {admin_words}");
    if choices.is_always_blocked(&flow.source.id, &flow.target.id) {
        if action != Action::Block {
            reason.push_str("; you chose to always block this pair");
        }
        action = Action::Block;
    } else if choices.is_always_allowed(&flow.source.id, &flow.target.id) {
        match action {
            Action::Ask => {
                action = Action::Notify;
                reason.push_str(
                    "; you chose to always allow this pair, so it is shown instead of held",
                );
            }
            Action::Block => {
                reason.push_str(
                    "; your choice to always allow this pair cannot override your administrator",
                );
            }
            Action::Allow | Action::Notify => {}
        }
    }
    Decision { action, reason }
}

/// Decides a deletion (`what` is e.g. `sheet "Revenue"` or `slide 3`). Default: ask.
pub fn decide_deletion(target: &DocumentRef, what: &str, admin: &AdminPolicy) -> Decision {
    let action = admin.deletions.action();
    let why = match admin.deletions {
        DeletionAction::Allow => "your administrator allows deletions",
        DeletionAction::Ask => "your administrator requires approval for deletions",
        DeletionAction::Block => "your administrator blocks deletions",
    };
    Decision {
        action,
        reason: format!("deleting {what} in {}: {why}", target.name),
    }
}
