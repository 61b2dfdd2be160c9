//! The policy's choices, sensitivity and decisions together, on shared documents and
//! flows.

use super::*;
use crate::model::{
    Action, App, CellAddr, CellRange, DocumentRef, Flow, FlowStrength, Sensitivity,
    SensitivityMark, SensitivityOrigin,
};

/// The whole sheet, as "mark this sheet confidential" marks it.
fn whole_sheet() -> CellRange {
    CellRange::new(
        CellAddr::new(0, 0),
        CellAddr::new(crate::model::MAX_ROWS - 1, crate::model::MAX_COLS - 1),
    )
}

fn q3() -> DocumentRef {
    DocumentRef::new(App::Excel, "Q3.xlsx", "https://x/Q3.xlsx")
}
fn deck() -> DocumentRef {
    DocumentRef::new(App::Powerpoint, "Deck.pptx", "https://x/Deck.pptx")
}
fn cells(n: u32) -> Vec<CellAddr> {
    (0..n)
        .map(|i| CellAddr::new(1 + i / 3, 1 + i % 3))
        .collect()
}
fn flow(strength: FlowStrength, level: Sensitivity, explicit: bool) -> Flow {
    Flow {
        source: q3(),
        sheet: "Revenue".into(),
        cells: cells(12),
        target: deck(),
        location: "slide 3".into(),
        matched: 12,
        confidence: 0.9,
        strength,
        sensitivity: SensitivityMark {
            level,
            origin: if level == Sensitivity::Confidential {
                SensitivityOrigin::Person
            } else {
                SensitivityOrigin::Default
            },
        },
        explicit,
        joined_writes: Vec::new(),
    }
}

#[test]
fn sensitivity_sources() {
    let admin = AdminPolicy::parse(
        r#"{"sensitivity": {"confidential_documents": ["*payroll*"], "confidential_sheets": ["Salar*"]}}"#,
    )
    .unwrap();
    let mut ch = UserChoices::default();
    let doc = q3();
    let payroll = DocumentRef::new(App::Excel, "Payroll 2024.xlsx", "");
    let b2 = CellAddr::new(1, 1);
    let z9 = CellAddr::new(8, 25);
    ch.mark_confidential(&doc.id, "Revenue", CellRange::parse("B2:D5").unwrap());
    let lvl = |m: SensitivityMark| (m.level, m.origin);
    use Sensitivity::*;
    // Person mark.
    assert_eq!(
        lvl(sensitivity_of(&doc, "revenue", b2, None, &admin, &ch)),
        (Confidential, SensitivityOrigin::Person)
    );
    // Outside the mark: normal.
    assert_eq!(
        lvl(sensitivity_of(&doc, "Revenue", z9, None, &admin, &ch)).0,
        Normal
    );
    // Admin document glob.
    assert_eq!(
        lvl(sensitivity_of(&payroll, "Sheet1", z9, None, &admin, &ch)).1,
        SensitivityOrigin::AdminRule {
            pattern: "*payroll*".into()
        }
    );
    // Admin sheet glob.
    assert_eq!(
        lvl(sensitivity_of(&doc, "Salaries", z9, None, &admin, &ch)).1,
        SensitivityOrigin::AdminRule {
            pattern: "Salar*".into()
        }
    );
    // Person mark beats admin rule as origin.
    let mut ch2 = ch.clone();
    ch2.mark_confidential(&payroll.id, "Sheet1", whole_sheet());
    assert_eq!(
        lvl(sensitivity_of(&payroll, "Sheet1", z9, None, &admin, &ch2)).1,
        SensitivityOrigin::Person
    );
    // Purview labels.
    for (label, want) in [
        ("Confidential", Confidential),
        ("Highly Confidential \\ All Employees", Confidential),
        ("SECRET", Confidential),
        ("Restricted", Confidential),
        ("Public", Normal),
        ("General", Normal),
        ("Non-Confidential", Normal),
        ("Internal", Normal),
    ] {
        let m = sensitivity_of(&doc, "Other", z9, Some(label), &admin, &ch);
        assert_eq!(m.level, want, "{label}");
        if want == Confidential {
            assert_eq!(
                m.origin,
                SensitivityOrigin::Purview {
                    label: label.into()
                }
            );
        }
    }
    assert_eq!(
        sensitivity_of(&doc, "Other", z9, None, &AdminPolicy::default(), &ch),
        SensitivityMark::default()
    );
    // Unmark removes.
    assert_eq!(
        ch.unmark(&doc.id, "REVENUE", CellRange::parse("B2:D5").unwrap()),
        1
    );
    assert_eq!(
        sensitivity_of(&doc, "Revenue", b2, None, &admin, &ch).level,
        Normal
    );
}

#[test]
fn standing_choices_replace_each_other_and_round_trip() {
    let mut ch = UserChoices::default();
    let (a, b) = (q3().id, deck().id);
    ch.allow_always(&a, &b);
    assert!(ch.is_always_allowed(&a, &b) && !ch.is_always_blocked(&a, &b));
    assert!(!ch.is_always_allowed(&b, &a));
    ch.block_always(&a, &b);
    assert!(!ch.is_always_allowed(&a, &b) && ch.is_always_blocked(&a, &b));
    ch.mark_confidential(&a, "S", whole_sheet());
    ch.mark_confidential(&a, "S", whole_sheet());
    assert_eq!(ch.marks.len(), 1);
    let json = serde_json::to_string(&ch).unwrap();
    assert_eq!(serde_json::from_str::<UserChoices>(&json).unwrap(), ch);
}

#[derive(Clone, Copy, Debug)]
enum Standing {
    None,
    Allow,
    Block,
}

/// One table for every combination: admin default/confidential action x sensitivity x
/// strength x explicit x standing choice x flows.enabled.
#[test]
fn decide_flow_table() {
    use Action::*;
    use FlowStrength::*;
    use Sensitivity::*;
    let actions = [Allow, Notify, Ask, Block];
    let mut checked = 0;
    for enabled in [true, false] {
        for &def in &actions {
            for &conf in &actions {
                for level in [Normal, Confidential] {
                    for strength in [Possible, Confirmed] {
                        for explicit in [false, true] {
                            for standing in [Standing::None, Standing::Allow, Standing::Block] {
                                let mut admin = AdminPolicy::default();
                                admin.flows.enabled = enabled;
                                admin.flows.default = def;
                                admin.flows.confidential = conf;
                                let mut ch = UserChoices::default();
                                let f = flow(strength, level, explicit);
                                match standing {
                                    Standing::None => {}
                                    Standing::Allow => ch.allow_always(&f.source.id, &f.target.id),
                                    Standing::Block => ch.block_always(&f.source.id, &f.target.id),
                                }
                                let base = if level == Confidential { conf } else { def };
                                let confirmed = explicit || strength == Confirmed;
                                let want = if !confirmed {
                                    if !enabled || matches!(standing, Standing::Block) {
                                        Notify
                                    } else {
                                        base.min(Notify)
                                    }
                                } else if !enabled {
                                    Block
                                } else {
                                    match standing {
                                        Standing::Block => Block,
                                        Standing::Allow if base == Ask => Notify,
                                        _ => base,
                                    }
                                };
                                let d = decide_flow(&f, &admin, &ch);
                                let ctx = format!(
                                    "enabled={enabled} def={def} conf={conf} {level:?} {strength:?} explicit={explicit} {standing:?}: {}",
                                    d.reason
                                );
                                assert_eq!(d.action, want, "{ctx}");
                                assert!(d.reason.contains("Q3.xlsx > Revenue"), "{ctx}");
                                assert!(d.reason.contains("Deck.pptx"), "{ctx}");
                                // Never looser than the admin's action for confirmed flows.
                                if confirmed && enabled && !matches!(standing, Standing::Allow) {
                                    assert!(d.action >= base, "{ctx}");
                                }
                                checked += 1;
                            }
                        }
                    }
                }
            }
        }
    }
    assert_eq!(checked, 2 * 4 * 4 * 2 * 2 * 2 * 3);
}

#[test]
fn reasons_read_well() {
    let admin = AdminPolicy::default();
    let ch = UserChoices::default();
    let d = decide_flow(
        &flow(FlowStrength::Confirmed, Sensitivity::Confidential, false),
        &admin,
        &ch,
    );
    assert_eq!(d.action, Action::Ask);
    assert_eq!(
        d.reason,
        "12 values from Q3.xlsx > Revenue are confidential (marked by you) and would go to Deck.pptx (slide 3); your administrator requires approval for confidential data"
    );
    let mut off = AdminPolicy::default();
    off.flows.enabled = false;
    let d = decide_flow(
        &flow(FlowStrength::Confirmed, Sensitivity::Normal, false),
        &off,
        &ch,
    );
    assert_eq!(d.action, Action::Block);
    assert!(
        d.reason
            .contains("cross-app transfers are switched off by your administrator")
    );
}

#[test]
fn decisions_say_why_as_data_and_the_words_come_from_it() {
    use crate::model::{DecisionRule, PairChoice};
    let admin = AdminPolicy::default();
    let mut ch = UserChoices::default();
    let confidential = flow(FlowStrength::Confirmed, Sensitivity::Confidential, false);
    let d = decide_flow(&confidential, &admin, &ch);
    let why = d.why.clone().expect("every decision says why");
    assert_eq!(why.rule, DecisionRule::AdminPolicy);
    assert_eq!(why.policy, Some(Action::Ask));
    assert_eq!(why.sensitive_values, Some(12));
    assert_eq!(
        why.sensitivity.as_ref().map(|m| &m.origin),
        Some(&SensitivityOrigin::Person)
    );
    assert_eq!(why.choice, None);
    assert!(!why.uncertain);
    assert!(
        d.reason.ends_with(&format!("; {}", why.because())),
        "{}",
        d.reason
    );

    // The person's "always allow" softens the hold: the choice is in the data.
    ch.allow_always(&confidential.source.id, &confidential.target.id);
    let d = decide_flow(&confidential, &admin, &ch);
    assert_eq!(d.action, Action::Notify);
    let why = d.why.unwrap();
    assert_eq!(why.choice, Some(PairChoice::AlwaysAllow));
    assert_eq!(
        why.because(),
        "your administrator requires approval for confidential data; you chose to always allow this pair, so it is shown instead of held"
    );

    // A weak match under a blocking administrator: shown, and said to be uncertain.
    let mut blocking = AdminPolicy::default();
    blocking.flows.default = Action::Block;
    let d = decide_flow(
        &flow(FlowStrength::Possible, Sensitivity::Normal, false),
        &blocking,
        &UserChoices::default(),
    );
    let why = d.why.unwrap();
    assert_eq!(
        (d.action, why.uncertain, why.policy),
        (Action::Notify, true, Some(Action::Block))
    );
    assert_eq!(
        why.because(),
        "the match is uncertain, so it is shown rather than blocked"
    );

    // Switched off: the rule says so, and no policy action is claimed.
    let mut off = AdminPolicy::default();
    off.flows.enabled = false;
    let d = decide_flow(
        &flow(FlowStrength::Confirmed, Sensitivity::Normal, false),
        &off,
        &ch,
    );
    let why = d.why.unwrap();
    assert_eq!((why.rule, why.policy), (DecisionRule::TransfersOff, None));

    // The data survives JSON, as events and the store carry it.
    let back: crate::model::DecisionWhy =
        serde_json::from_value(serde_json::to_value(&why).unwrap()).unwrap();
    assert_eq!(back, why);
    assert_eq!(
        serde_json::to_value(&why).unwrap(),
        serde_json::json!({"rule": "transfers_off", "sensitivity": {"level": "normal", "origin": {"by": "default"}}})
    );
}

#[test]
fn same_document_is_allowed_even_when_switched_off() {
    let mut admin = AdminPolicy::default();
    admin.flows.enabled = false;
    let mut f = flow(FlowStrength::Confirmed, Sensitivity::Confidential, true);
    f.target = f.source.clone();
    let d = decide_flow(&f, &admin, &UserChoices::default());
    assert_eq!(d.action, Action::Allow);
    assert!(d.reason.contains("same document"));
}

#[test]
fn person_marks_raise_a_flow_the_detector_marked_normal() {
    let admin = AdminPolicy::default();
    let mut ch = UserChoices::default();
    let f = flow(FlowStrength::Confirmed, Sensitivity::Normal, false);
    assert_eq!(decide_flow(&f, &admin, &ch).action, Action::Notify);
    ch.mark_confidential(&f.source.id, "Revenue", CellRange::parse("B2:B3").unwrap());
    let d = decide_flow(&f, &admin, &ch);
    assert_eq!(d.action, Action::Ask);
    assert!(
        d.reason
            .starts_with("2 values from Q3.xlsx > Revenue are confidential (marked by you)"),
        "{}",
        d.reason
    );
    let admin2 =
        AdminPolicy::parse(r#"{"sensitivity": {"confidential_sheets": ["rev*"]}}"#).unwrap();
    let d = decide_flow(&f, &admin2, &UserChoices::default());
    assert_eq!(d.action, Action::Ask);
    assert!(
        d.reason.contains("administrator's rule \"rev*\""),
        "{}",
        d.reason
    );
}

#[test]
fn deletions() {
    let deck = deck();
    for (json, want) in [
        ("{}", Action::Ask),
        (r#"{"deletions": "allow"}"#, Action::Allow),
        (r#"{"deletions": "ask"}"#, Action::Ask),
        (r#"{"deletions": "block"}"#, Action::Block),
    ] {
        let d = decide_deletion(&deck, "slide 3", &AdminPolicy::parse(json).unwrap());
        assert_eq!(d.action, want, "{json}");
        assert!(
            d.reason
                .starts_with("deleting slide 3 in Deck.pptx: your administrator"),
            "{}",
            d.reason
        );
    }
}
