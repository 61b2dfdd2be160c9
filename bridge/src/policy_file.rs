//! Where the administrator's managed policy lives, and reading it. The file is the
//! administrator's: a user setting never loosens it, and a file that does not parse keeps
//! the last good policy (at start: the defaults) and says why.

use std::path::{Path, PathBuf};

use tracker::policy::AdminPolicy;

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

/// Reads the policy: a missing file means defaults; a broken one gives the defaults and
/// the error, which the caller logs and announces.
pub fn load(path: &Path) -> (AdminPolicy, Option<String>) {
    match AdminPolicy::load(path) {
        Ok(p) => (p, None),
        Err(e) => (AdminPolicy::default(), Some(e.to_string())),
    }
}

/// What the panes and the MCP tool list follow of the policy.
pub fn pane_policy(admin: &AdminPolicy) -> PanePolicy {
    PanePolicy {
        excel_enabled: admin.addins.excel.enabled,
        powerpoint_enabled: admin.addins.powerpoint.enabled,
        flows_enabled: admin.flows.enabled,
    }
}
