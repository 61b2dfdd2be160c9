//! The administrator's managed policy: its settings with their defaults, reading and
//! checking the file (an error names the line and column), where each value came from for
//! `admin status`, and the document and sheet rules (globs) that mark data confidential.

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::model::{Action, DocumentRef};

/// Why a policy file was refused. The bridge keeps the last good policy and shows this.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The file is not valid JSON, or not a valid policy.
    #[error("policy {source_name}: line {line}, column {column}: {message}")]
    Invalid {
        /// The file path, or `"text"` when parsed from a string.
        source_name: String,
        /// Line of the error, from 1.
        line: usize,
        /// Column of the error, from 1.
        column: usize,
        /// What is wrong, starting with the offending key when it is ours.
        message: String,
    },
    /// The file could not be read.
    #[error("policy {path}: cannot read the file: {source}")]
    Io {
        /// The file's path.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// What the administrator allows for deletions. `notify` is deliberately not a choice: a
/// deletion that has happened cannot be undone by a notice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeletionAction {
    /// Deletions go through without asking.
    Allow,
    /// Each deletion waits for the person's approval (the default).
    #[default]
    Ask,
    /// No deletion is carried out.
    Block,
}

impl DeletionAction {
    /// The same decision as a flow [`Action`].
    pub fn action(self) -> Action {
        match self {
            DeletionAction::Allow => Action::Allow,
            DeletionAction::Ask => Action::Ask,
            DeletionAction::Block => Action::Block,
        }
    }
}

/// Whether one add-in may be used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AddinPolicy {
    /// False: the bridge refuses this add-in's panes and the agent's calls to it.
    pub enabled: bool,
}

/// Which add-ins may be used (`addins`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AddinsPolicy {
    /// The Excel add-in.
    pub excel: AddinPolicy,
    /// The PowerPoint add-in.
    pub powerpoint: AddinPolicy,
}

/// What happens to data moving between documents (`flows`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FlowsPolicy {
    /// False switches cross-app transfers off: every confirmed cross-document flow is blocked.
    pub enabled: bool,
    /// The decision for a confirmed transfer of ordinary data.
    pub default: Action,
    /// The decision for a confirmed transfer of confidential data.
    pub confidential: Action,
    /// The least decision for any write (and deletion) made after a read returned text
    /// that looks like instructions aimed at an AI agent: the agent may be following them.
    pub after_flagged_instructions: Action,
}

/// Where audit records go besides the local chain (`audit`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AuditPolicy {
    /// Syslog collectors every record is sent to as it is committed: `tcp://HOST:PORT`
    /// (RFC 5424 over TCP, octet-counted as RFC 6587 says) or `tls://HOST:PORT` (RFC 5425).
    pub forward: Vec<String>,
    /// A PEM file of the CA(s) that sign the `tls://` collectors' certificates; without it
    /// the system's roots are trusted.
    pub ca_file: Option<String>,
}

/// How a collector is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForwardScheme {
    /// Plain TCP (`tcp://`).
    Tcp,
    /// TLS (`tls://`), the collector's certificate verified.
    Tls,
}

/// A parsed `audit.forward` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForwardTarget {
    /// `tcp` or `tls`.
    pub scheme: ForwardScheme,
    /// The host name or address (without brackets for IPv6).
    pub host: String,
    /// The port.
    pub port: u16,
}

impl ForwardTarget {
    /// Parses `tcp://HOST:PORT` or `tls://HOST:PORT` (`[::1]:6514` for IPv6).
    pub fn parse(url: &str) -> Result<ForwardTarget, String> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| format!("{url:?} is not tcp://HOST:PORT or tls://HOST:PORT"))?;
        let scheme = match scheme {
            "tcp" => ForwardScheme::Tcp,
            "tls" => ForwardScheme::Tls,
            other => {
                return Err(format!(
                    "{url:?}: the scheme {other:?} is not tcp or tls (udp loses records and is not offered)"
                ));
            }
        };
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| format!("{url:?} has no port"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port: u16 =
            port.parse().ok().filter(|&p| p > 0).ok_or_else(|| {
                format!("{url:?}: the port {port:?} is not a number from 1 to 65535")
            })?;
        let host_ok = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_'));
        if !host_ok {
            return Err(format!("{url:?}: {host:?} is not a host name or address"));
        }
        Ok(ForwardTarget {
            scheme,
            host: host.to_string(),
            port,
        })
    }
}

impl AuditPolicy {
    /// The collectors, parsed (the policy was checked when read, so none fails here).
    pub fn targets(&self) -> Vec<(String, ForwardTarget)> {
        self.forward
            .iter()
            .filter_map(|u| ForwardTarget::parse(u).ok().map(|t| (u.clone(), t)))
            .collect()
    }
}

/// Which documents and sheets are confidential by name (`sensitivity`).
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
    /// Which add-ins may be used.
    pub addins: AddinsPolicy,
    /// What happens to cross-document transfers.
    pub flows: FlowsPolicy,
    /// What happens to a deletion the agent asks for (a sheet, a slide).
    pub deletions: DeletionAction,
    /// The name rules that mark data confidential.
    pub sensitivity: SensitivityRules,
    /// Where the audit records are sent besides the local chain.
    pub audit: AuditPolicy,
    /// How long a held write waits for an answer before it is denied.
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

/// How long a held write waits when the file does not say: two minutes.
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
                after_flagged_instructions: Action::Ask,
            },
            deletions: DeletionAction::Ask,
            sensitivity: SensitivityRules::default(),
            audit: AuditPolicy::default(),
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
    /// Set in the policy file.
    File,
    /// Not in the file: the built-in default.
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
    /// The setting's dotted path (`flows.default`).
    pub path: &'static str,
    /// Its value, as `admin status` prints it.
    pub value: String,
    /// Whether the file set it or the default applies.
    pub source: ValueSource,
}

/// Every setting path, in display order.
pub const POLICY_PATHS: [&str; 13] = [
    "addins.excel.enabled",
    "addins.powerpoint.enabled",
    "flows.enabled",
    "flows.default",
    "flows.confidential",
    "flows.after_flagged_instructions",
    "deletions",
    "sensitivity.confidential_documents",
    "sensitivity.confidential_sheets",
    "audit.forward",
    "audit.ca_file",
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
            "flows.after_flagged_instructions" => self.flows.after_flagged_instructions.to_string(),
            "deletions" => self.deletions.action().to_string(),
            "sensitivity.confidential_documents" => list(&self.sensitivity.confidential_documents),
            "sensitivity.confidential_sheets" => list(&self.sensitivity.confidential_sheets),
            "audit.forward" => list(&self.audit.forward),
            "audit.ca_file" => self
                .audit
                .ca_file
                .clone()
                .unwrap_or_else(|| "(system roots)".into()),
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
    audit: Option<RawAudit>,
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
    after_flagged_instructions: Option<Action>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAudit {
    forward: Option<Vec<String>>,
    ca_file: Option<String>,
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
        let (mut f_enabled, mut f_default, mut f_conf, mut f_after) = (None, None, None, None);
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
            if f.after_flagged_instructions.is_some() {
                f_after = f.after_flagged_instructions;
                set("flows.after_flagged_instructions");
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
        let (mut forward, mut ca_file) = (None, None);
        if let Some(a) = raw.audit {
            if let Some(list) = a.forward {
                for url in &list {
                    ForwardTarget::parse(url).map_err(|e| format!("forward: {e}"))?;
                }
                forward = Some(list);
                set("audit.forward");
            }
            if let Some(f) = a.ca_file {
                if f.trim().is_empty() {
                    return Err("ca_file: empty (leave it out to trust the system roots)".into());
                }
                ca_file = Some(f);
                set("audit.ca_file");
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
        if let Some(v) = f_after {
            p.flows.after_flagged_instructions = v;
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
        if let Some(v) = forward {
            p.audit.forward = v;
        }
        p.audit.ca_file = ca_file;
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

#[cfg(test)]
mod tests {
    use super::*;

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
            (
                r#"{"audit": {"forward": ["udp://siem:514"]}}"#,
                "forward: \"udp://siem:514\": the scheme \"udp\" is not tcp or tls",
            ),
            (r#"{"audit": {"forward": ["tcp://siem"]}}"#, "has no port"),
            (
                r#"{"audit": {"forward": ["tls://siem:99999"]}}"#,
                "is not a number",
            ),
            (
                r#"{"audit": {"forward": ["tcp://a b:514"]}}"#,
                "is not a host name",
            ),
            (r#"{"audit": {"ca_file": ""}}"#, "ca_file: empty"),
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
    fn audit_collectors_are_parsed() {
        let p = AdminPolicy::parse(
            r#"{"audit": {"forward": ["tcp://127.0.0.1:514", "tls://siem.contoso.com:6514", "tls://[::1]:6514"], "ca_file": "/etc/ob/ca.pem"}}"#,
        )
        .unwrap();
        let targets = p.audit.targets();
        assert_eq!(targets.len(), 3);
        assert_eq!(
            targets[1].1,
            ForwardTarget {
                scheme: ForwardScheme::Tls,
                host: "siem.contoso.com".into(),
                port: 6514
            }
        );
        assert_eq!(targets[2].1.host, "::1");
        assert_eq!(p.audit.ca_file.as_deref(), Some("/etc/ob/ca.pem"));
        assert!(p.is_explicit("audit.forward"));
        assert!(AdminPolicy::default().audit.forward.is_empty());
    }
}
