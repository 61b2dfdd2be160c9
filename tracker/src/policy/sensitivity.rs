//! How sensitive data is: one cell from the person's marks, the administrator's rules and a
//! Purview label; a document from what is known of its label; a flow from its own mark
//! raised by the marks and rules on its cells.

use super::{AdminPolicy, UserChoices};
use crate::model::{
    CellAddr, DocumentLabel, DocumentRef, Flow, Sensitivity, SensitivityMark, SensitivityOrigin,
};

/// Whether a Purview label name reads as confidential. "Public" and "General" are normal;
/// names containing Confidential, Secret or Restricted (any case) are confidential, unless
/// they say "non-confidential"/"not confidential"/"unrestricted".
pub fn purview_is_confidential(label: &str) -> bool {
    let l = label.to_lowercase();
    let negated = [
        "non-confidential",
        "nonconfidential",
        "not confidential",
        "non confidential",
        "unrestricted",
    ];
    if negated.iter().any(|n| l.contains(n)) {
        return false;
    }
    ["confidential", "secret", "restricted"]
        .iter()
        .any(|w| l.contains(w))
}

/// How sensitive one source cell is: the strongest of the person's range marks, the
/// administrator's document and sheet globs, and a Purview label. When several say
/// confidential, the origin reported is the most specific (person, then admin document
/// rule, admin sheet rule, Purview) so the reason names what the person can act on.
pub fn sensitivity_of(
    doc: &DocumentRef,
    sheet: &str,
    cell: CellAddr,
    purview: Option<&str>,
    admin: &AdminPolicy,
    choices: &UserChoices,
) -> SensitivityMark {
    let confidential = |origin| SensitivityMark {
        level: Sensitivity::Confidential,
        origin,
    };
    if choices.mark_for(&doc.id, sheet, cell).is_some() {
        return confidential(SensitivityOrigin::Person);
    }
    if let Some(p) = admin.document_rule(doc) {
        return confidential(SensitivityOrigin::AdminRule {
            pattern: p.to_string(),
        });
    }
    if let Some(p) = admin.sheet_rule(sheet) {
        return confidential(SensitivityOrigin::AdminRule {
            pattern: p.to_string(),
        });
    }
    if let Some(label) = purview.filter(|l| purview_is_confidential(l)) {
        return confidential(SensitivityOrigin::Purview {
            label: label.to_string(),
        });
    }
    SensitivityMark::default()
}

/// What a document's label says of its data: confidential when the label reads as
/// confidential, and also when the label could not be learned (a host that cannot say, or
/// data read before labels were kept): data is never treated as less sensitive than what
/// is known of its document. `None` means nothing was ever learned.
pub fn label_sensitivity(label: Option<&DocumentLabel>) -> SensitivityMark {
    let confidential = |origin| SensitivityMark {
        level: Sensitivity::Confidential,
        origin,
    };
    match label {
        Some(DocumentLabel::Labelled { name, .. }) if purview_is_confidential(name) => {
            confidential(SensitivityOrigin::Purview {
                label: name.clone(),
            })
        }
        // Newer Office keeps only the label's id in the file (docMetadata/LabelInfo.xml):
        // a label is there, but what it says cannot be read.
        Some(DocumentLabel::Labelled { name, id: Some(id) }) if name == id => {
            confidential(SensitivityOrigin::LabelUnknown {
                why: format!("the document carries label {id}, whose name is not in the file"),
            })
        }
        Some(DocumentLabel::Labelled { .. } | DocumentLabel::Unlabelled) => {
            SensitivityMark::default()
        }
        Some(DocumentLabel::Unknown { why }) => {
            confidential(SensitivityOrigin::LabelUnknown { why: why.clone() })
        }
        None => confidential(SensitivityOrigin::LabelUnknown {
            why: "it was never read".into(),
        }),
    }
}

/// The sensitivity a decision uses for a flow: the flow's own mark (set by the detector),
/// raised by the person's marks and admin rules on its cells in case the detector did not
/// know them. Returns the mark and how many of the flow's cells it covers.
pub fn flow_sensitivity(
    flow: &Flow,
    admin: &AdminPolicy,
    choices: &UserChoices,
) -> (SensitivityMark, usize) {
    let total = flow.cells.len().max(flow.matched);
    if flow.sensitivity.level == Sensitivity::Confidential {
        return (flow.sensitivity.clone(), total);
    }
    let mut found: Option<SensitivityMark> = None;
    let mut count = 0usize;
    for &c in &flow.cells {
        let m = sensitivity_of(&flow.source, &flow.sheet, c, None, admin, choices);
        if m.level == Sensitivity::Confidential {
            count += 1;
            // Keep the most specific origin seen (person beats an admin rule).
            let better = match &found {
                None => true,
                Some(f) => {
                    f.origin != SensitivityOrigin::Person && m.origin == SensitivityOrigin::Person
                }
            };
            if better {
                found = Some(m);
            }
        }
    }
    match found {
        Some(m) => (m, count),
        None => (SensitivityMark::default(), total),
    }
}
