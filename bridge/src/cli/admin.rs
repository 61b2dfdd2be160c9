//! `office-bridge admin status|enable|disable`: the administrator's view of the managed
//! policy file. Editing keeps every other setting of the file as it is, refuses to touch a
//! file that does not parse (it would lose what the administrator meant), and writes
//! atomically so a running bridge never reads half a file.

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{Value, json};
use tracker::policy::{AdminPolicy, ValueSource};

use crate::policy_file::{MAX_POLICY_BYTES, POLICY_ENV, PolicyState};

/// What `enable` / `disable` switch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Switch {
    /// The Excel add-in.
    Excel,
    /// The PowerPoint add-in.
    Powerpoint,
    /// Transfers between documents (cross-app flows).
    Flows,
}

impl Switch {
    fn keys(self) -> &'static [&'static str] {
        match self {
            Switch::Excel => &["addins", "excel", "enabled"],
            Switch::Powerpoint => &["addins", "powerpoint", "enabled"],
            Switch::Flows => &["flows", "enabled"],
        }
    }

    fn words(self) -> &'static str {
        match self {
            Switch::Excel => "the Excel add-in",
            Switch::Powerpoint => "the PowerPoint add-in",
            Switch::Flows => "transfers between documents",
        }
    }
}

/// Prints the effective policy, where each value came from, and any file not used and why:
/// what a bridge run by this user, now, would apply.
pub fn status(path: &Path, json_out: bool) -> Result<()> {
    let state = PolicyState::load(path, AdminPolicy::default());
    if json_out {
        println!("{}", serde_json::to_string_pretty(&state)?);
        return Ok(());
    }
    println!("policy file: {}", state.path.display());
    println!("  {}", state.summary());
    if state.error.is_some() {
        println!(
            "  a running bridge keeps its last good policy; a bridge starting now uses the defaults"
        );
    }
    if state.sources.override_path.as_deref() == Some(state.path.as_path()) {
        println!("  (path set by {POLICY_ENV})");
    }
    for file in state.ignored.iter().filter(|f| f.path != state.path) {
        println!("ignored: {}", file.path.display());
        println!("  {}", file.why);
    }
    println!();
    print_values(&state.values);
    Ok(())
}

fn print_values(values: &[tracker::policy::PolicyValue]) {
    let width = values.iter().map(|v| v.path.len()).max().unwrap_or(0);
    for v in values {
        let source = match v.source {
            ValueSource::File => "set in the file",
            ValueSource::Default => "default",
        };
        println!("  {:width$}  {:<10}  {source}", v.path, v.value);
    }
}

/// Says what a policy file would mean, or why it does not parse: for a file about to be
/// deployed, which `status` would ignore (not yet root's, not at the OS path). Exit code 0
/// when it parses, 1 when it does not.
pub fn check(path: &Path) -> Result<i32> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| permission_hint(e, path, "read"))?;
    let meta = file
        .metadata()
        .with_context(|| format!("reading {}", path.display()))?;
    if !meta.is_file() {
        anyhow::bail!("{} is not a regular file", path.display());
    }
    let mut bytes = Vec::new();
    file.take(MAX_POLICY_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", path.display()))?;
    if bytes.len() as u64 > MAX_POLICY_BYTES {
        anyhow::bail!(
            "{} is over 1 MiB, the most a policy file may be",
            path.display()
        );
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| anyhow::anyhow!("{} is not UTF-8 text", path.display()))?;
    match AdminPolicy::parse_named(&text, &path.display().to_string()) {
        Ok(policy) => {
            println!("{}: a valid policy", path.display());
            println!();
            print_values(&policy.provenance());
            Ok(0)
        }
        Err(e) => {
            println!("{e}");
            Ok(1)
        }
    }
}

/// Sets one switch in the file, creating it (and its folder) if needed.
pub fn set(path: &Path, switch: Switch, enabled: bool) -> Result<()> {
    let mut doc: Value = match std::fs::read_to_string(path) {
        Ok(text) => {
            AdminPolicy::parse(&text).with_context(|| {
                format!(
                    "{} does not parse; fix it first (nothing was changed)",
                    path.display()
                )
            })?;
            serde_json::from_str(&text).context("reading the policy file")?
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => json!({}),
        Err(e) => return Err(permission_hint(e, path, "read")),
    };
    let keys = switch.keys();
    let mut node = &mut doc;
    for key in &keys[..keys.len() - 1] {
        if !node.get(*key).is_some_and(Value::is_object) {
            node[*key] = json!({});
        }
        node = &mut node[*key];
    }
    let before = node.get(keys[keys.len() - 1]).and_then(Value::as_bool);
    node[keys[keys.len() - 1]] = json!(enabled);
    let text = serde_json::to_string_pretty(&doc)? + "\n";
    // The edited file must still be a valid policy (it was one, and one bool changed).
    AdminPolicy::parse(&text).context("the edited policy does not parse")?;
    if before == Some(enabled) {
        println!(
            "{} is already {} in {}",
            capitalised(switch.words()),
            if enabled { "enabled" } else { "disabled" },
            path.display()
        );
        return Ok(());
    }
    write_atomically(path, text.as_bytes())?;
    let words = format!(
        "{} {} in {}",
        capitalised(switch.words()),
        if enabled { "enabled" } else { "disabled" },
        path.display()
    );
    // Written is not in force: a file the bridge refuses, or an override it ignores, would
    // change nothing. Say so rather than promise it applies.
    let state = PolicyState::load(path, AdminPolicy::default());
    match state.ignored.iter().find(|f| f.path == path) {
        Some(file) => println!(
            "{words}, but a bridge run by this user ignores it: {}",
            file.why
        ),
        None => println!("{words}; a running bridge applies it within a second"),
    }
    Ok(())
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn permission_hint(e: std::io::Error, path: &Path, what: &str) -> anyhow::Error {
    if e.kind() == std::io::ErrorKind::PermissionDenied {
        anyhow::anyhow!(
            "cannot {what} {}: permission denied. The policy file is the administrator's: run this as an administrator (e.g. `sudo office-bridge admin ...`) or deploy the file with your device management tool (see docs/admin.md)",
            path.display()
        )
    } else {
        anyhow::anyhow!("cannot {what} {}: {e}", path.display())
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| permission_hint(e, dir, "create"))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "policy.json".into());
    // The temporary file is removed if anything fails (it is dropped unpersisted).
    let result = (|| -> std::io::Result<()> {
        let mut f = tempfile::Builder::new()
            .prefix(&format!(".{name}.tmp-"))
            .tempfile_in(dir)?;
        f.write_all(bytes)?;
        f.as_file().sync_all()?;
        // Everyone may read the policy (the bridge runs as the user); only the
        // administrator may write it, as the folder's owner.
        #[cfg(unix)]
        f.as_file()
            .set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))?;
        f.persist(path).map_err(|e| e.error)?;
        Ok(())
    })();
    if let Err(e) = result {
        return Err(permission_hint(e, path, "write"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switches_are_set_keeping_the_rest_of_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("policy.json");
        set(&path, Switch::Excel, false).unwrap();
        let p = AdminPolicy::load(&path).unwrap();
        assert!(!p.addins.excel.enabled);
        assert!(p.addins.powerpoint.enabled);
        std::fs::write(
            &path,
            r#"{"flows": {"default": "block"}, "addins": {"excel": {"enabled": false}}}"#,
        )
        .unwrap();
        set(&path, Switch::Flows, false).unwrap();
        set(&path, Switch::Excel, true).unwrap();
        let p = AdminPolicy::load(&path).unwrap();
        assert!(!p.flows.enabled);
        assert!(p.addins.excel.enabled);
        assert_eq!(
            p.flows.default,
            tracker::Action::Block,
            "other settings kept"
        );
    }

    #[test]
    fn a_broken_file_is_not_touched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.json");
        std::fs::write(&path, "{ not json").unwrap();
        let e = set(&path, Switch::Powerpoint, false).unwrap_err();
        assert!(format!("{e:#}").contains("fix it first"), "{e:#}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{ not json");
    }

    #[test]
    fn check_says_whether_a_file_parses_whoever_owns_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.json");
        std::fs::write(&path, r#"{"flows": {"enabled": false}}"#).unwrap();
        assert_eq!(check(&path).unwrap(), 0);
        std::fs::write(&path, r#"{"flows": {"enabld": false}}"#).unwrap();
        assert_eq!(check(&path).unwrap(), 1);
        assert!(check(dir.path()).is_err(), "a folder is no policy file");
    }

    #[test]
    fn lacking_permission_says_who_may_edit_it() {
        // Provoked directly: tests often run as root, who may write anywhere.
        let e = permission_hint(
            std::io::Error::from(std::io::ErrorKind::PermissionDenied),
            Path::new("/etc/office-bridge/policy.json"),
            "write",
        );
        let msg = e.to_string();
        assert!(
            msg.starts_with("cannot write /etc/office-bridge/policy.json: permission denied"),
            "{msg}"
        );
        assert!(msg.contains("run this as an administrator"), "{msg}");
    }
}
