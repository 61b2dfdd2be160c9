//! Administrator policy, the person's standing choices, and the decisions made from them.
//!
//! Everything here is pure: values in, a [`Decision`] or [`SensitivityMark`] out. The bridge
//! reads the managed policy file itself (only a file an administrator controls) and parses
//! it with [`AdminPolicy::parse_named`] ([`AdminPolicy::load`] reads without checks), keeps
//! the person's [`UserChoices`] in the store, and calls [`decide_flow`] once per detected
//! flow and [`decide_deletion`] once per deletion.
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

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::model::{
    Action, CellAddr, CellRange, Decision, DocumentId, DocumentLabel, DocumentRef, Flow,
    FlowStrength, MAX_COLS, MAX_ROWS, Sensitivity, SensitivityMark, SensitivityOrigin,
};

/// Why a policy file was refused. The bridge keeps the last good policy and shows this.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("policy {source_name}: line {line}, column {column}: {message}")]
    Invalid {
        /// The file path, or `"text"` when parsed from a string.
        source_name: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("policy {path}: cannot read the file: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// What the administrator allows for deletions. `notify` is deliberately not a choice: a
/// deletion that has happened cannot be undone by a notice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeletionAction {
    Allow,
    #[default]
    Ask,
    Block,
}

impl DeletionAction {
    pub fn action(self) -> Action {
        match self {
            DeletionAction::Allow => Action::Allow,
            DeletionAction::Ask => Action::Ask,
            DeletionAction::Block => Action::Block,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AddinPolicy {
    pub enabled: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AddinsPolicy {
    pub excel: AddinPolicy,
    pub powerpoint: AddinPolicy,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FlowsPolicy {
    /// False switches cross-app transfers off: every confirmed cross-document flow is blocked.
    pub enabled: bool,
    pub default: Action,
    pub confidential: Action,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SensitivityRules {
    /// Globs (`*`, `?`, case-insensitive) matched against a document's name and location.
    pub confidential_documents: Vec<String>,
    /// Globs matched against sheet names.
    pub confidential_sheets: Vec<String>,
}

/// The administrator's managed policy, with defaults filled in. Serializes to the same
/// JSON shape it is read from (with every value present), which is what a pane receives.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawPolicy")]
pub struct AdminPolicy {
    pub addins: AddinsPolicy,
    pub flows: FlowsPolicy,
    pub deletions: DeletionAction,
    pub sensitivity: SensitivityRules,
    pub approval_timeout_seconds: u32,
    /// Whether the agent's MCP client may answer a held transfer (MCP elicitation). The
    /// bridge cannot tell whether a person or the client itself answered; an administrator
    /// who does not trust the clients in use turns this off, leaving the document's pane and
    /// the desktop (monitor, notifications, the event API).
    pub agent_client_may_approve: bool,
    /// Dotted paths of the values that came from the file (the rest are defaults).
    #[serde(skip)]
    explicit: BTreeSet<&'static str>,
}

pub const DEFAULT_APPROVAL_TIMEOUT_SECONDS: u32 = 120;
/// An approval held longer than a day is a mistake in the file, not a wish.
pub const MAX_APPROVAL_TIMEOUT_SECONDS: u32 = 86_400;

impl Default for AdminPolicy {
    fn default() -> Self {
        AdminPolicy {
            addins: AddinsPolicy {
                excel: AddinPolicy { enabled: true },
                powerpoint: AddinPolicy { enabled: true },
            },
            flows: FlowsPolicy {
                enabled: true,
                default: Action::Notify,
                confidential: Action::Ask,
            },
            deletions: DeletionAction::Ask,
            sensitivity: SensitivityRules::default(),
            approval_timeout_seconds: DEFAULT_APPROVAL_TIMEOUT_SECONDS,
            agent_client_may_approve: true,
            explicit: BTreeSet::new(),
        }
    }
}

/// Where a policy value came from, for `admin status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueSource {
    File,
    Default,
}

impl fmt::Display for ValueSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValueSource::File => "policy file",
            ValueSource::Default => "default",
        })
    }
}

/// One line of `admin status`: a setting, its value, and where it came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PolicyValue {
    pub path: &'static str,
    pub value: String,
    pub source: ValueSource,
}

/// Every setting path, in display order.
pub const POLICY_PATHS: [&str; 10] = [
    "addins.excel.enabled",
    "addins.powerpoint.enabled",
    "flows.enabled",
    "flows.default",
    "flows.confidential",
    "deletions",
    "sensitivity.confidential_documents",
    "sensitivity.confidential_sheets",
    "approval_timeout_seconds",
    "agent_client_may_approve",
];

impl AdminPolicy {
    /// Parses the managed policy JSON. Unknown fields are an error: a misspelt key silently
    /// ignored would weaken what the administrator meant.
    pub fn parse(text: &str) -> Result<AdminPolicy, PolicyError> {
        Self::parse_named(text, "text")
    }

    /// As [`AdminPolicy::parse`], with errors naming `source_name` (the file's path): for a
    /// caller that reads the file itself (the bridge checks who may write it first).
    pub fn parse_named(text: &str, source_name: &str) -> Result<AdminPolicy, PolicyError> {
        serde_json::from_str::<AdminPolicy>(text).map_err(|e| {
            // serde_json appends " at line L column C" to its message; we report them as
            // fields instead, so strip the duplicate.
            let msg = e.to_string();
            let message = match msg.rfind(" at line ") {
                Some(i) => msg[..i].to_string(),
                None => msg,
            };
            // Our own validation errors (from `TryFrom<RawPolicy>`) come without a
            // position; they start with the offending key, so point at that key.
            let (line, column) = if e.line() == 0 {
                let key = message.split(':').next().unwrap_or("");
                locate(text, &format!("\"{key}\""))
            } else {
                (e.line(), e.column())
            };
            PolicyError::Invalid {
                source_name: source_name.to_string(),
                line,
                column,
                message,
            }
        })
    }

    /// Reads a policy file as it is, without asking who may write it: for tools and tests.
    /// The bridge reads the managed file through its own ownership checks instead. A
    /// missing file means defaults; any other read error, or a file that does not parse, is
    /// an error.
    pub fn load(path: &Path) -> Result<AdminPolicy, PolicyError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse_named(&text, &path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(AdminPolicy::default()),
            Err(source) => Err(PolicyError::Io {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    /// True when the value at `path` (see [`POLICY_PATHS`]) was set in the file.
    pub fn is_explicit(&self, path: &str) -> bool {
        self.explicit.contains(path)
    }

    /// Every setting with its value and where it came from, for `admin status`.
    pub fn provenance(&self) -> Vec<PolicyValue> {
        POLICY_PATHS
            .iter()
            .map(|&path| PolicyValue {
                path,
                value: self.value_text(path),
                source: if self.is_explicit(path) {
                    ValueSource::File
                } else {
                    ValueSource::Default
                },
            })
            .collect()
    }

    fn value_text(&self, path: &str) -> String {
        let list = |v: &[String]| {
            if v.is_empty() {
                "(none)".to_string()
            } else {
                v.join(", ")
            }
        };
        match path {
            "addins.excel.enabled" => self.addins.excel.enabled.to_string(),
            "addins.powerpoint.enabled" => self.addins.powerpoint.enabled.to_string(),
            "flows.enabled" => self.flows.enabled.to_string(),
            "flows.default" => self.flows.default.to_string(),
            "flows.confidential" => self.flows.confidential.to_string(),
            "deletions" => self.deletions.action().to_string(),
            "sensitivity.confidential_documents" => list(&self.sensitivity.confidential_documents),
            "sensitivity.confidential_sheets" => list(&self.sensitivity.confidential_sheets),
            "approval_timeout_seconds" => self.approval_timeout_seconds.to_string(),
            "agent_client_may_approve" => self.agent_client_may_approve.to_string(),
            _ => String::new(),
        }
    }

    /// The first admin document rule matching this document (name or location).
    pub fn document_rule(&self, doc: &DocumentRef) -> Option<&str> {
        self.sensitivity
            .confidential_documents
            .iter()
            .find(|p| glob_match(p, &doc.name) || glob_match(p, &doc.location))
            .map(String::as_str)
    }

    /// The first admin sheet rule matching this sheet name.
    pub fn sheet_rule(&self, sheet: &str) -> Option<&str> {
        self.sensitivity
            .confidential_sheets
            .iter()
            .find(|p| glob_match(p, sheet))
            .map(String::as_str)
    }
}

// The file's shape, every field optional. Deserialized first, then resolved into
// `AdminPolicy` so we know which values were present.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    addins: Option<RawAddins>,
    flows: Option<RawFlows>,
    deletions: Option<DeletionAction>,
    sensitivity: Option<RawSensitivity>,
    approval_timeout_seconds: Option<u32>,
    agent_client_may_approve: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAddins {
    excel: Option<RawAddin>,
    powerpoint: Option<RawAddin>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAddin {
    enabled: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFlows {
    enabled: Option<bool>,
    default: Option<Action>,
    confidential: Option<Action>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSensitivity {
    confidential_documents: Option<Vec<String>>,
    confidential_sheets: Option<Vec<String>>,
}

impl TryFrom<RawPolicy> for AdminPolicy {
    type Error = String;

    fn try_from(raw: RawPolicy) -> Result<Self, Self::Error> {
        let mut p = AdminPolicy::default();
        let mut set = |path: &'static str| {
            p.explicit.insert(path);
        };
        // Collect values first, then assign, so the closure's borrow of `p` ends.
        let mut excel = None;
        let mut powerpoint = None;
        if let Some(a) = raw.addins {
            if let Some(v) = a.excel.and_then(|x| x.enabled) {
                excel = Some(v);
                set("addins.excel.enabled");
            }
            if let Some(v) = a.powerpoint.and_then(|x| x.enabled) {
                powerpoint = Some(v);
                set("addins.powerpoint.enabled");
            }
        }
        let (mut f_enabled, mut f_default, mut f_conf) = (None, None, None);
        if let Some(f) = raw.flows {
            if f.enabled.is_some() {
                f_enabled = f.enabled;
                set("flows.enabled");
            }
            if f.default.is_some() {
                f_default = f.default;
                set("flows.default");
            }
            if f.confidential.is_some() {
                f_conf = f.confidential;
                set("flows.confidential");
            }
        }
        if raw.deletions.is_some() {
            set("deletions");
        }
        let (mut docs, mut sheets) = (None, None);
        if let Some(s) = raw.sensitivity {
            if s.confidential_documents.is_some() {
                docs = s.confidential_documents;
                set("sensitivity.confidential_documents");
            }
            if s.confidential_sheets.is_some() {
                sheets = s.confidential_sheets;
                set("sensitivity.confidential_sheets");
            }
        }
        if let Some(t) = raw.approval_timeout_seconds {
            if t == 0 || t > MAX_APPROVAL_TIMEOUT_SECONDS {
                return Err(format!(
                    "approval_timeout_seconds: must be between 1 and {MAX_APPROVAL_TIMEOUT_SECONDS}, got {t}"
                ));
            }
            set("approval_timeout_seconds");
        }
        if raw.agent_client_may_approve.is_some() {
            set("agent_client_may_approve");
        }
        for (key, list) in [
            ("confidential_documents", &docs),
            ("confidential_sheets", &sheets),
        ] {
            if list.iter().flatten().any(|g| g.trim().is_empty()) {
                return Err(format!(
                    "{key}: a glob is empty (it would match nothing useful)"
                ));
            }
        }
        if let Some(v) = excel {
            p.addins.excel.enabled = v;
        }
        if let Some(v) = powerpoint {
            p.addins.powerpoint.enabled = v;
        }
        if let Some(v) = f_enabled {
            p.flows.enabled = v;
        }
        if let Some(v) = f_default {
            p.flows.default = v;
        }
        if let Some(v) = f_conf {
            p.flows.confidential = v;
        }
        if let Some(v) = raw.deletions {
            p.deletions = v;
        }
        if let Some(v) = docs {
            p.sensitivity.confidential_documents = v;
        }
        if let Some(v) = sheets {
            p.sensitivity.confidential_sheets = v;
        }
        if let Some(v) = raw.approval_timeout_seconds {
            p.approval_timeout_seconds = v;
        }
        if let Some(v) = raw.agent_client_may_approve {
            p.agent_client_may_approve = v;
        }
        Ok(p)
    }
}

/// 1-based line and column of the first occurrence of `needle`, or (1, 1).
fn locate(text: &str, needle: &str) -> (usize, usize) {
    let Some(i) = text.find(needle).filter(|_| needle.len() > 2) else {
        return (1, 1);
    };
    let before = &text[..i];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Case-insensitive glob with `*` (any run, including empty) and `?` (one character).
/// Greedy with a single backtrack point, so it runs in O(pattern × text) at worst, never
/// exponential (a `*` only ever restarts from the most recent star).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().flat_map(char::to_lowercase).collect();
    let t: Vec<char> = text.chars().flat_map(char::to_lowercase).collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && p[pi] == t[ti])) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// A source -> target document pair the person has a standing choice about.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DocPair {
    pub source: DocumentId,
    pub target: DocumentId,
}

/// The person marked a range of a sheet confidential in the Excel pane.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RangeMark {
    pub document: DocumentId,
    pub sheet: String,
    pub range: CellRange,
}

/// The person's standing choices. Persisted by the store as JSON.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserChoices {
    #[serde(default)]
    pub always_allow: BTreeSet<DocPair>,
    #[serde(default)]
    pub always_block: BTreeSet<DocPair>,
    #[serde(default)]
    pub marks: Vec<RangeMark>,
}

/// The whole sheet, for "mark this sheet confidential".
pub fn whole_sheet() -> CellRange {
    CellRange::new(
        CellAddr::new(0, 0),
        CellAddr::new(MAX_ROWS - 1, MAX_COLS - 1),
    )
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

    /// Forgets any standing choice about the pair.
    pub fn forget_pair(&mut self, source: &DocumentId, target: &DocumentId) {
        let pair = DocPair {
            source: source.clone(),
            target: target.clone(),
        };
        self.always_allow.remove(&pair);
        self.always_block.remove(&pair);
    }

    pub fn is_always_allowed(&self, source: &DocumentId, target: &DocumentId) -> bool {
        self.always_allow
            .iter()
            .any(|p| &p.source == source && &p.target == target)
    }

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::App;

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
        }
    }

    #[test]
    fn defaults_and_empty_object() {
        let p = AdminPolicy::parse("{}").unwrap();
        assert_eq!(p, AdminPolicy::default());
        assert!(p.addins.excel.enabled && p.addins.powerpoint.enabled && p.flows.enabled);
        assert_eq!(p.flows.default, Action::Notify);
        assert_eq!(p.flows.confidential, Action::Ask);
        assert_eq!(p.deletions, DeletionAction::Ask);
        assert_eq!(p.approval_timeout_seconds, 120);
        assert!(p.agent_client_may_approve);
        assert!(
            p.provenance()
                .iter()
                .all(|v| v.source == ValueSource::Default)
        );
    }

    #[test]
    fn full_file_parses_and_records_provenance() {
        let p = AdminPolicy::parse(
            r#"{"addins": {"excel": {"enabled": false}, "powerpoint": {}},
               "flows": {"enabled": true, "default": "allow", "confidential": "block"},
               "deletions": "block",
               "sensitivity": {"confidential_documents": ["*payroll*"], "confidential_sheets": ["HR?"]},
               "approval_timeout_seconds": 30, "agent_client_may_approve": false}"#,
        )
        .unwrap();
        assert!(!p.agent_client_may_approve);
        assert!(p.is_explicit("agent_client_may_approve"));
        assert!(!p.addins.excel.enabled);
        assert!(p.addins.powerpoint.enabled);
        assert_eq!(p.flows.default, Action::Allow);
        assert_eq!(p.flows.confidential, Action::Block);
        assert_eq!(p.deletions, DeletionAction::Block);
        assert_eq!(p.approval_timeout_seconds, 30);
        assert!(p.is_explicit("addins.excel.enabled"));
        assert!(!p.is_explicit("addins.powerpoint.enabled"));
        let prov = p.provenance();
        let get = |k: &str| prov.iter().find(|v| v.path == k).unwrap().clone();
        assert_eq!(get("flows.confidential").source, ValueSource::File);
        assert_eq!(get("flows.confidential").value, "block");
        assert_eq!(
            get("addins.powerpoint.enabled").source,
            ValueSource::Default
        );
        assert_eq!(get("sensitivity.confidential_sheets").value, "HR?");
        // Serializes back in the file's shape with every value present.
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["flows"]["confidential"], "block");
        assert_eq!(v["addins"]["powerpoint"]["enabled"], true);
    }

    #[test]
    fn bad_files_are_errors_with_positions() {
        for (text, needle) in [
            (r#"{"flow": {}}"#, "unknown field `flow`"),
            (
                r#"{"flows": {"defualt": "allow"}}"#,
                "unknown field `defualt`",
            ),
            (
                r#"{"addins": {"excel": {"enable": false}}}"#,
                "unknown field `enable`",
            ),
            (r#"{"deletions": "notify"}"#, "unknown variant `notify`"),
            (
                r#"{"flows": {"default": "maybe"}}"#,
                "unknown variant `maybe`",
            ),
            (r#"{"approval_timeout_seconds": 0}"#, "between 1 and"),
            (
                r#"{"agent_client_may_approve": "no"}"#,
                "invalid type: string \"no\", expected a boolean",
            ),
            (
                r#"{"sensitivity": {"confidential_sheets": [" "]}}"#,
                "glob is empty",
            ),
            (r#"{"approval_timeout_seconds": -5}"#, "invalid value"),
            ("{\n  \"flows\": {\"enabled\": \"no\"}\n}", "invalid type"),
            ("{\"flows\": ", "EOF"),
        ] {
            let e = AdminPolicy::parse(text).unwrap_err();
            let s = e.to_string();
            assert!(s.contains(needle), "{text}: {s}");
            assert!(s.contains("line "), "{s}");
            if let PolicyError::Invalid { line, .. } = e {
                assert!(line >= 1);
            }
        }
        for (text, want) in [
            ("{\n  \"flows\": {\"enabled\": \"no\"}\n}", 2),
            ("{\n\n  \"approval_timeout_seconds\": 0\n}", 3),
        ] {
            match AdminPolicy::parse(text).unwrap_err() {
                PolicyError::Invalid { line, .. } => assert_eq!(line, want, "{text}"),
                other => panic!("{other}"),
            }
        }
    }

    #[test]
    fn load_missing_file_is_default() {
        let dir = tempfile::tempdir().unwrap();
        let p = AdminPolicy::load(&dir.path().join("nope.json")).unwrap();
        assert_eq!(p, AdminPolicy::default());
        let f = dir.path().join("p.json");
        std::fs::write(&f, "{\"deletions\": \"allow\"}").unwrap();
        assert_eq!(
            AdminPolicy::load(&f).unwrap().deletions,
            DeletionAction::Allow
        );
        std::fs::write(&f, "{\"x\": 1}").unwrap();
        assert!(
            AdminPolicy::load(&f)
                .unwrap_err()
                .to_string()
                .contains("p.json")
        );
    }

    #[test]
    fn globs() {
        for (p, t, want) in [
            ("*", "", true),
            ("*", "anything", true),
            ("", "", true),
            ("", "a", false),
            ("a?c", "ABC", true),
            ("a?c", "ac", false),
            ("*payroll*", "2024 Payroll.xlsx", true),
            ("*.XLSX", "q3.xlsx", true),
            ("q3*", "Q4.xlsx", false),
            ("HR*", "hr data", true),
            ("*a*b*c", "xxaxxbxxc", true),
            ("*a*b*c", "xxaxxbxx", false),
            ("É*", "étude", true),
            ("a*a*a*a*a*a*a*a*b", &"a".repeat(2000), false),
        ] {
            assert_eq!(glob_match(p, t), want, "{p} vs {t:.20}");
        }
    }

    #[test]
    fn glob_is_not_exponential() {
        let text = "a".repeat(20_000);
        let pat = format!("{}b", "*a".repeat(50));
        let t = std::time::Instant::now();
        assert!(!glob_match(&pat, &text));
        assert!(t.elapsed().as_secs() < 2);
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
        ch.forget_pair(&a, &b);
        assert!(!ch.is_always_blocked(&a, &b));
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
                                        Standing::Allow => {
                                            ch.allow_always(&f.source.id, &f.target.id)
                                        }
                                        Standing::Block => {
                                            ch.block_always(&f.source.id, &f.target.id)
                                        }
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
                                    if confirmed && enabled && !matches!(standing, Standing::Allow)
                                    {
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
}
