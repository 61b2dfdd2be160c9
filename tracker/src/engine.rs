//! [`Tracker`]: the one place the bridge asks. It owns the value index, the durable store
//! and the policy, and keeps them in step: a read is stored (with its audit record) before
//! it is indexed; a write's flows and decisions are stored before the decision is returned,
//! so nothing is acted on that is not already in the audit chain.

use std::collections::HashMap;
use std::path::Path;

use crate::audit::{AuditRecord, VerifyReport};
use crate::detect::Detector;
use crate::model::{
    Action, Decision, DocumentId, DocumentRef, Flow, ProvenanceId, ReadEvent, SensitivityMark,
    UnixMillis, WriteContent,
};
use crate::policy::{self, AdminPolicy, UserChoices};
use crate::store::{CommitTicket, Durability, NewApproval, Store, StoreError};

/// A flow found in a write, with its decision, as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedFlow {
    pub flow: Flow,
    pub decision: Decision,
    pub flow_id: i64,
}

/// Everything the tracker found in one write.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WriteCheck {
    pub flows: Vec<CheckedFlow>,
}

impl WriteCheck {
    /// The strictest decision over all flows (allow when there is none): one blocked flow
    /// blocks the whole write, one held flow holds it.
    pub fn action(&self) -> Action {
        self.flows
            .iter()
            .map(|f| f.decision.action)
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

pub struct Tracker {
    store: Store,
    detector: Detector,
    admin: AdminPolicy,
    choices: UserChoices,
    /// Purview label names by document, as last reported by a read of that document.
    purview: HashMap<DocumentId, String>,
}

impl Tracker {
    /// Opens (or creates) the store and rebuilds the index from every label in it, so a
    /// restart still recognises data read before it.
    pub fn open(path: &Path, admin: AdminPolicy) -> Result<Tracker, StoreError> {
        Self::open_with(path, admin, Durability::EachCommit)
    }

    /// [`Tracker::open`] with the store's durability chosen. With
    /// [`Durability::Grouped`] the caller takes [`Tracker::commit_ticket`] after each call
    /// and waits on it, outside its lock, before acting on the result.
    pub fn open_with(
        path: &Path,
        admin: AdminPolicy,
        durability: Durability,
    ) -> Result<Tracker, StoreError> {
        let store = Store::open_with(path, durability)?;
        let mut detector = Detector::new();
        for read in store.labels()? {
            detector.add_read(&read);
        }
        let choices = store.load_choices()?;
        Ok(Tracker {
            store,
            detector,
            admin,
            choices,
            purview: HashMap::new(),
        })
    }

    pub fn indexed_cells(&self) -> usize {
        self.detector.len()
    }

    pub fn admin_policy(&self) -> &AdminPolicy {
        &self.admin
    }

    pub fn set_admin_policy(&mut self, admin: AdminPolicy) {
        self.admin = admin;
    }

    pub fn choices(&self) -> &UserChoices {
        &self.choices
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// See [`Store::commit_ticket`].
    pub fn commit_ticket(&self) -> CommitTicket {
        self.store.commit_ticket()
    }

    pub fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }

    /// Remembers a document's Purview label (from the file or from Office.js properties).
    pub fn set_purview_label(&mut self, document: &DocumentId, label: Option<String>) {
        match label {
            Some(l) => self.purview.insert(document.clone(), l),
            None => self.purview.remove(document),
        };
    }

    /// Labels every cell of a read: durable first, then indexed.
    pub fn record_read(&mut self, read: &ReadEvent) -> Result<ProvenanceId, StoreError> {
        self.store.record_read(read)?;
        self.detector.add_read(read);
        Ok(read.id)
    }

    /// Finds the flows a write carries, decides each by policy and the person's choices,
    /// and stores flows and decisions before returning. `approval` is called for each flow
    /// decided `ask`, to open an approval with the id and expiry the caller will use.
    pub fn check_write(
        &mut self,
        write: &WriteContent,
        at: UnixMillis,
        approval: &mut dyn FnMut(&Flow) -> NewApproval,
    ) -> Result<WriteCheck, StoreError> {
        let mut check = WriteCheck::default();
        for mut flow in self.detector.check(write) {
            flow.sensitivity = self.sensitivity(&flow);
            let decision = policy::decide_flow(&flow, &self.admin, &self.choices);
            let new_approval = (decision.action == Action::Ask).then(|| approval(&flow));
            let record =
                self.store
                    .record_flow_and_decision(&flow, &decision, at, new_approval.as_ref())?;
            check.flows.push(CheckedFlow {
                flow,
                decision,
                flow_id: record.flow_id,
            });
        }
        Ok(check)
    }

    fn sensitivity(&self, flow: &Flow) -> SensitivityMark {
        let purview = self.purview.get(&flow.source.id).map(String::as_str);
        // The first cell stands for the document and sheet rules and the Purview label;
        // `flow_sensitivity` then raises it by the person's marks on any matched cell.
        let base = flow
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
        let mut with_base = flow.clone();
        with_base.sensitivity = base;
        policy::flow_sensitivity(&with_base, &self.admin, &self.choices).0
    }

    /// Decides a deletion and records it; `approval` is called when the decision is `ask`,
    /// to open the approval the caller will wait on.
    pub fn check_deletion(
        &mut self,
        target: &DocumentRef,
        what: &str,
        at: UnixMillis,
        approval: &mut dyn FnMut() -> NewApproval,
    ) -> Result<(Decision, Option<NewApproval>), StoreError> {
        let decision = policy::decide_deletion(target, what, &self.admin);
        let new_approval = (decision.action == Action::Ask).then(&mut *approval);
        self.store
            .record_deletion(target, what, &decision, at, new_approval.as_ref())?;
        Ok((decision, new_approval))
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

    /// Appends a record of something done (a write landed, an approval answered) to the
    /// audit chain; durable on return.
    pub fn audit(
        &mut self,
        at: UnixMillis,
        kind: &str,
        body: &serde_json::Value,
    ) -> Result<AuditRecord, StoreError> {
        self.store.append_audit(at, kind, body)
    }

    /// The person's "always allow / always block this source for this document".
    pub fn remember_choice(
        &mut self,
        source: &DocumentId,
        target: &DocumentId,
        allow: bool,
        at: UnixMillis,
    ) -> Result<AuditRecord, StoreError> {
        if allow {
            self.choices.allow_always(source, target);
        } else {
            self.choices.block_always(source, target);
        }
        self.store.save_choices(&self.choices, at)
    }

    /// The person marked (or unmarked) a range: saved with its audit record, then used by
    /// every later decision.
    pub fn set_label(
        &mut self,
        document: &DocumentRef,
        sheet: &str,
        range: crate::model::CellRange,
        sensitivity: crate::model::Sensitivity,
        by: &str,
        at: UnixMillis,
    ) -> Result<AuditRecord, StoreError> {
        let mut choices = self.choices.clone();
        match sensitivity {
            crate::model::Sensitivity::Confidential => {
                choices.mark_confidential(&document.id, sheet, range)
            }
            crate::model::Sensitivity::Normal => {
                choices.unmark(&document.id, sheet, range);
            }
        }
        let rec =
            self.store
                .record_label_set(&choices, document, sheet, range, sensitivity, by, at)?;
        self.choices = choices;
        Ok(rec)
    }

    pub fn verify_audit(&self) -> Result<VerifyReport, StoreError> {
        self.store.verify_audit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{App, CellAddr, CellValue, FlowStrength, ReadCell, SheetRead, WritePart};

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

    fn no_approval(_: &Flow) -> NewApproval {
        panic!("no approval expected")
    }

    #[test]
    fn a_restart_still_detects_data_read_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.sqlite3");
        {
            let mut t = Tracker::open(&db, AdminPolicy::default()).unwrap();
            t.record_read(&revenue_read()).unwrap();
        }
        let mut t = Tracker::open(&db, AdminPolicy::default()).unwrap();
        assert_eq!(t.indexed_cells(), 16);
        let check = t
            .check_write(&reformatted_table(), 2_000, &mut no_approval)
            .unwrap();
        let flow = &check.flows.first().expect("a flow after the restart").flow;
        assert_eq!(flow.source.id, q3().id);
        assert_eq!(flow.sheet, "Revenue");
        assert_eq!(flow.strength, FlowStrength::Confirmed);
        assert!(flow.cells.contains(&CellAddr::parse_a1("B2").unwrap()));
        // Default policy: normal data is notify.
        assert_eq!(check.action(), Action::Notify);
        assert!(t.verify_audit().unwrap().ok());
    }

    #[test]
    fn marked_confidential_data_is_held_and_the_approval_is_opened() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = Tracker::open(&dir.path().join("t.sqlite3"), AdminPolicy::default()).unwrap();
        t.record_read(&revenue_read()).unwrap();
        let mut choices = t.choices().clone();
        choices.mark_confidential(
            &q3().id,
            "Revenue",
            crate::model::CellRange::parse("B2:D4").unwrap(),
        );
        t.store_mut().save_choices(&choices, 1_500).unwrap();
        // Reopen so the mark comes from the store, as after a restart.
        drop(t);
        let mut t = Tracker::open(&dir.path().join("t.sqlite3"), AdminPolicy::default()).unwrap();
        let mut opened = Vec::new();
        let check = t
            .check_write(&reformatted_table(), 2_000, &mut |f| {
                opened.push(f.sheet.clone());
                NewApproval {
                    id: "apr_1".into(),
                    expires_at: 9_000,
                }
            })
            .unwrap();
        assert_eq!(check.action(), Action::Ask);
        assert_eq!(opened, vec!["Revenue".to_string()]);
        let flow = &check.deciding().next().unwrap().flow;
        assert_eq!(
            flow.sensitivity.level,
            crate::model::Sensitivity::Confidential
        );
        assert!(t.store().approval("apr_1").unwrap().is_some());
    }

    #[test]
    fn switched_off_transfers_block_and_deletions_ask() {
        let dir = tempfile::tempdir().unwrap();
        let admin = AdminPolicy::parse(r#"{"flows": {"enabled": false}}"#).unwrap();
        let mut t = Tracker::open(&dir.path().join("t.sqlite3"), admin).unwrap();
        t.record_read(&revenue_read()).unwrap();
        let check = t
            .check_write(&reformatted_table(), 2_000, &mut no_approval)
            .unwrap();
        assert_eq!(check.action(), Action::Block);
        let (d, approval) = t
            .check_deletion(&deck(), "slide 2", 3_000, &mut || NewApproval {
                id: "apr_del".into(),
                expires_at: 9_000,
            })
            .unwrap();
        assert_eq!(d.action, Action::Ask);
        assert_eq!(approval.map(|a| a.id), Some("apr_del".to_string()));
        let row = t.store().approval("apr_del").unwrap().expect("stored");
        assert_eq!(row.decision, None);
        assert!(t.verify_audit().unwrap().ok());
    }

    #[test]
    fn unrelated_content_has_no_flow() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = Tracker::open(&dir.path().join("t.sqlite3"), AdminPolicy::default()).unwrap();
        t.record_read(&revenue_read()).unwrap();
        let write = WriteContent {
            target: deck(),
            parts: vec![WritePart::Text {
                location: "slide 1".into(),
                text: "Welcome to the 2025 board meeting, agenda on page 2".into(),
            }],
            explicit_sources: vec![],
        };
        let check = t.check_write(&write, 2_000, &mut no_approval).unwrap();
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
