//! The person's standing choices: document pairs always allowed or always blocked, and the
//! ranges they marked confidential. Persisted by the store as JSON.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::model::{CellAddr, CellRange, DocumentId};

/// A source -> target document pair the person has a standing choice about.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DocPair {
    /// The document the data comes from.
    pub source: DocumentId,
    /// The document it is written to.
    pub target: DocumentId,
}

/// The person marked a range of a sheet confidential in the Excel pane.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RangeMark {
    /// The workbook.
    pub document: DocumentId,
    /// The sheet.
    pub sheet: String,
    /// The range marked (A1 to the last cell of the sheet for a whole sheet).
    pub range: CellRange,
}

/// The person's standing choices. Persisted by the store as JSON.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserChoices {
    /// Pairs whose transfers are allowed without asking ("Always for this deck").
    #[serde(default)]
    pub always_allow: BTreeSet<DocPair>,
    /// Pairs whose transfers are always blocked.
    #[serde(default)]
    pub always_block: BTreeSet<DocPair>,
    /// Ranges marked confidential, in the order they were marked.
    #[serde(default)]
    pub marks: Vec<RangeMark>,
}

impl UserChoices {
    /// "Always allow source -> target"; replaces an earlier "always block" for the pair.
    pub fn allow_always(&mut self, source: &DocumentId, target: &DocumentId) {
        let pair = DocPair {
            source: source.clone(),
            target: target.clone(),
        };
        self.always_block.remove(&pair);
        self.always_allow.insert(pair);
    }

    /// "Always block source -> target"; replaces an earlier "always allow" for the pair.
    pub fn block_always(&mut self, source: &DocumentId, target: &DocumentId) {
        let pair = DocPair {
            source: source.clone(),
            target: target.clone(),
        };
        self.always_allow.remove(&pair);
        self.always_block.insert(pair);
    }

    /// Whether the person always allows transfers from `source` into `target`.
    pub fn is_always_allowed(&self, source: &DocumentId, target: &DocumentId) -> bool {
        self.always_allow
            .iter()
            .any(|p| &p.source == source && &p.target == target)
    }

    /// Whether the person always blocks transfers from `source` into `target`.
    pub fn is_always_blocked(&self, source: &DocumentId, target: &DocumentId) -> bool {
        self.always_block
            .iter()
            .any(|p| &p.source == source && &p.target == target)
    }

    /// Marks a range confidential (idempotent).
    pub fn mark_confidential(&mut self, document: &DocumentId, sheet: &str, range: CellRange) {
        let m = RangeMark {
            document: document.clone(),
            sheet: sheet.to_string(),
            range,
        };
        if !self.marks.contains(&m) {
            self.marks.push(m);
        }
    }

    /// Removes marks of exactly this range (sheet names compare case-insensitively, as in
    /// Excel). Returns how many were removed.
    pub fn unmark(&mut self, document: &DocumentId, sheet: &str, range: CellRange) -> usize {
        let before = self.marks.len();
        self.marks.retain(|m| {
            !(&m.document == document && m.sheet.eq_ignore_ascii_case(sheet) && m.range == range)
        });
        before - self.marks.len()
    }

    /// The person's mark covering this cell, if any.
    pub fn mark_for(
        &self,
        document: &DocumentId,
        sheet: &str,
        cell: CellAddr,
    ) -> Option<&RangeMark> {
        self.marks.iter().find(|m| {
            &m.document == document && m.sheet.eq_ignore_ascii_case(sheet) && m.range.contains(cell)
        })
    }
}
