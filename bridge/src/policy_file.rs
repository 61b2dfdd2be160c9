//! The administrator's managed policy file: where it lives, reading it, and watching it so
//! a change applies within a second, with no restart. The file is the administrator's: a
//! user setting never loosens it, a file that does not parse keeps the last good policy
//! (and says why), and a missing file means defaults.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Serialize;
use tokio::sync::mpsc;
use tracker::policy::{AdminPolicy, PolicyValue};

use crate::addin::PanePolicy;

/// Overrides the OS-wide path (tests, unusual deployments).
pub const POLICY_ENV: &str = "OFFICE_BRIDGE_POLICY";

/// The managed policy path: `OFFICE_BRIDGE_POLICY`, else the OS-wide location.
pub fn managed_path() -> PathBuf {
    if let Some(p) = std::env::var_os(POLICY_ENV).filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    os_path()
}

#[cfg(target_os = "windows")]
fn os_path() -> PathBuf {
    let base = std::env::var_os("ProgramData")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(r"C:\ProgramData"));
    base.join("office-bridge").join("policy.json")
}

#[cfg(target_os = "macos")]
fn os_path() -> PathBuf {
    PathBuf::from("/Library/Application Support/office-bridge/policy.json")
}

#[cfg(not(any(target_os = "windows", target_os = "macos")))]
fn os_path() -> PathBuf {
    PathBuf::from("/etc/office-bridge/policy.json")
}

/// The policy in force, where it came from, and why the file is not used if it is not.
#[derive(Clone, Debug, Serialize)]
pub struct PolicyState {
    pub path: PathBuf,
    pub policy: AdminPolicy,
    /// Every setting with its value and whether the file set it or it is the default.
    pub values: Vec<PolicyValue>,
    /// Set when the file exists but cannot be used; `policy` is then the last good one.
    pub error: Option<String>,
}

impl PolicyState {
    /// Reads the policy at start: a missing file means defaults; a broken one gives the
    /// defaults and the error, which the caller logs and announces.
    pub fn load(path: &Path) -> PolicyState {
        Self::with_fallback(path, AdminPolicy::default())
    }

    /// Reads the file again; a file that cannot be used keeps `self`'s policy.
    pub fn reload(&self) -> PolicyState {
        Self::with_fallback(&self.path, self.policy.clone())
    }

    fn with_fallback(path: &Path, last_good: AdminPolicy) -> PolicyState {
        let (policy, error) = match AdminPolicy::load(path) {
            Ok(p) => (p, None),
            Err(e) => (last_good, Some(e.to_string())),
        };
        PolicyState {
            path: path.to_path_buf(),
            values: policy.provenance(),
            policy,
            error,
        }
    }

    /// What the panes and the MCP tool list follow of the policy.
    pub fn pane_policy(&self) -> PanePolicy {
        pane_policy(&self.policy)
    }
}

/// What the panes and the MCP tool list follow of the policy.
pub fn pane_policy(admin: &AdminPolicy) -> PanePolicy {
    PanePolicy {
        excel_enabled: admin.addins.excel.enabled,
        powerpoint_enabled: admin.addins.powerpoint.enabled,
        flows_enabled: admin.flows.enabled,
        agent_client_may_approve: admin.agent_client_may_approve,
    }
}

/// A cheap fingerprint of the file: changes whenever its content can have changed.
fn fingerprint(path: &Path) -> Option<(SystemTime, u64, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let inode = 0;
    Some((meta.modified().ok()?, meta.len(), inode))
}

/// How often the file is also checked without a file-system event: a safety net for
/// folders created after start, network drives and editors that defeat inotify.
pub const POLL_INTERVAL: Duration = Duration::from_millis(1000);

/// Watches the policy file and sends a tick whenever it may have changed: file-system
/// events on its folder (the `notify` crate; editors and deployment tools replace the
/// file rather than write it in place, so the folder is watched, not the file), and a
/// periodic fingerprint check. The receiver reloads; spurious ticks are harmless.
pub fn watch(path: &Path) -> (mpsc::Receiver<()>, Option<notify::RecommendedWatcher>) {
    use notify::Watcher;
    let (tx, rx) = mpsc::channel(8);
    let name = path.file_name().map(|n| n.to_os_string());
    let watcher = path.parent().filter(|p| p.is_dir()).and_then(|dir| {
        let tx = tx.clone();
        let name = name.clone();
        let mut w = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            if let Ok(event) = event
                && event
                    .paths
                    .iter()
                    .any(|p| p.file_name().map(|n| n.to_os_string()) == name)
            {
                let _ = tx.try_send(());
            }
        })
        .map_err(|e| tracing::warn!("cannot watch the policy folder, polling instead: {e}"))
        .ok()?;
        w.watch(dir, notify::RecursiveMode::NonRecursive)
            .map_err(|e| tracing::warn!("cannot watch {}: {e}; polling instead", dir.display()))
            .ok()?;
        Some(w)
    });
    let poll_path = path.to_path_buf();
    tokio::spawn(async move {
        let mut last = fingerprint(&poll_path);
        let mut tick = tokio::time::interval(POLL_INTERVAL);
        loop {
            tick.tick().await;
            let now = fingerprint(&poll_path);
            if now != last {
                last = now;
                if tx.send(()).await.is_err() {
                    return;
                }
            }
            if tx.is_closed() {
                return;
            }
        }
    });
    (rx, watcher)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_file_keeps_the_last_good_policy_and_a_missing_one_means_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.json");
        let start = PolicyState::load(&path);
        assert_eq!(start.policy, AdminPolicy::default());
        assert!(start.error.is_none());
        std::fs::write(&path, r#"{"addins": {"excel": {"enabled": false}}}"#).unwrap();
        let good = start.reload();
        assert!(!good.policy.addins.excel.enabled);
        assert!(good.error.is_none());
        assert!(!good.pane_policy().excel_enabled);
        std::fs::write(&path, r#"{"addins": {"excel": {"enabled": fals"#).unwrap();
        let broken = good.reload();
        assert!(!broken.policy.addins.excel.enabled, "last good policy kept");
        assert!(
            broken.error.as_deref().unwrap().contains("policy.json"),
            "{broken:?}"
        );
        std::fs::remove_file(&path).unwrap();
        let gone = broken.reload();
        assert_eq!(gone.policy, AdminPolicy::default());
        assert!(gone.error.is_none());
    }
}

#[cfg(test)]
mod schema_tests {
    use serde_json::Value;
    use tracker::policy::{AdminPolicy, POLICY_PATHS};

    const SCHEMA: &str = include_str!("../../docs/policy.schema.json");
    const EXAMPLES: [&str; 2] = [
        include_str!("../../docs/examples/policy-strict.json"),
        include_str!("../../docs/examples/policy-transfers-off.json"),
    ];

    /// Dotted paths of the schema's leaves, following `$ref`s into `$defs`.
    fn leaves(schema: &Value, node: &Value, prefix: &str, out: &mut Vec<String>) {
        let node = match node.get("$ref").and_then(Value::as_str) {
            Some(r) => &schema["$defs"][r.trim_start_matches("#/$defs/")],
            None => node,
        };
        match node.get("properties").and_then(Value::as_object) {
            Some(props) => {
                for (k, v) in props {
                    let path = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    leaves(schema, v, &path, out);
                }
            }
            None => out.push(prefix.to_string()),
        }
    }

    #[test]
    fn the_documented_schema_and_examples_match_the_policy() {
        let schema: Value = serde_json::from_str(SCHEMA).unwrap();
        let mut paths = Vec::new();
        leaves(&schema, &schema, "", &mut paths);
        paths.sort();
        let mut expected: Vec<String> = POLICY_PATHS.iter().map(|s| s.to_string()).collect();
        expected.sort();
        assert_eq!(paths, expected);
        for example in EXAMPLES {
            AdminPolicy::parse(example).unwrap();
        }
    }
}
