//! The administrator's managed policy file: where it lives, reading it, and watching it so
//! a change applies within a second, with no restart. The file is the administrator's: a
//! user setting never loosens it, so only a file an administrator controls is read (see
//! `policy_file/trusted.rs`), and `OFFICE_BRIDGE_POLICY` cannot stand in for the administrator's file
//! (see [`override_permitted`]). A file that does not parse or is refused keeps the last
//! good policy (and says why), and a missing file means defaults.

mod trusted;
// The pure ACL decision is compiled (and tested) everywhere; reading ACLs only on Windows.
#[cfg_attr(not(windows), allow(dead_code))]
mod windows_acl;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Serialize;
use tokio::sync::mpsc;
use tracker::policy::{AdminPolicy, PolicyValue};

use crate::addin::PanePolicy;

pub use trusted::{MAX_POLICY_BYTES, Untrusted, read_trusted, running_elevated};

/// Overrides the OS-wide path (tests, unusual deployments), within [`override_permitted`].
pub const POLICY_ENV: &str = "OFFICE_BRIDGE_POLICY";

/// Who counts as an administrator here, for messages.
#[cfg(windows)]
pub const ADMINISTRATOR: &str = "an elevated administrator";
#[cfg(not(windows))]
pub const ADMINISTRATOR: &str = "root";

/// The policy path asked for: `OFFICE_BRIDGE_POLICY`, else the OS-wide location. Whether an
/// override is honoured is decided when reading ([`PolicySources::for_path`]).
pub fn managed_path() -> PathBuf {
    if let Some(p) = std::env::var_os(POLICY_ENV).filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    os_path()
}

/// The OS-wide policy path. On Windows ProgramData comes from the OS's known folder, not
/// from the `ProgramData` environment variable, which the user sets.
#[cfg(target_os = "windows")]
pub fn os_path() -> PathBuf {
    windows_acl::sys::program_data()
        .join("office-bridge")
        .join("policy.json")
}

#[cfg(target_os = "macos")]
pub fn os_path() -> PathBuf {
    PathBuf::from("/Library/Application Support/office-bridge/policy.json")
}

#[cfg(not(any(target_os = "windows", target_os = "macos")))]
pub fn os_path() -> PathBuf {
    PathBuf::from("/etc/office-bridge/policy.json")
}

/// Whether an override path may stand in for the OS path (when its file also passes the
/// checks): an administrator may point the bridge anywhere, and where the administrator
/// set no policy there is nothing to loosen; otherwise a user could replace the
/// administrator's policy with their own.
pub fn override_permitted(elevated: bool, os_file_present: bool) -> bool {
    elevated || !os_file_present
}

/// Where the policy may come from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PolicySources {
    /// `OFFICE_BRIDGE_POLICY` (or a path given in its place), when it is not the OS path.
    pub override_path: Option<PathBuf>,
    pub os_path: PathBuf,
    /// Whether the bridge runs as root / an elevated administrator.
    pub elevated: bool,
}

impl PolicySources {
    /// The sources for a policy path asked for: any path but the OS one is an override.
    pub fn for_path(asked: &Path) -> Self {
        let os_path = os_path();
        PolicySources {
            override_path: (asked != os_path).then(|| asked.to_path_buf()),
            os_path,
            elevated: running_elevated(),
        }
    }

    /// The files whose changes can change the policy in force.
    pub fn watched(&self) -> Vec<PathBuf> {
        self.override_path
            .iter()
            .chain(Some(&self.os_path))
            .cloned()
            .collect()
    }
}

/// A file at a policy path that is not used, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IgnoredFile {
    pub path: PathBuf,
    pub why: String,
}

/// The policy in force, where it came from, and why a file is not used if one is not.
#[derive(Clone, Debug, Serialize)]
pub struct PolicyState {
    /// The file the policy comes from: the override when honoured, else the OS path.
    pub path: PathBuf,
    /// Whether a file is at `path` (false: the defaults apply).
    pub file_found: bool,
    pub policy: AdminPolicy,
    /// Every setting with its value and whether the file set it or it is the default.
    pub values: Vec<PolicyValue>,
    /// Set when the file at `path` exists but cannot be used (it does not parse, or it is
    /// refused); `policy` is then the last good one.
    pub error: Option<String>,
    /// Files at the policy paths that are not used, and why: a refused or unpermitted
    /// override, a missing override, a refused OS-wide file.
    pub ignored: Vec<IgnoredFile>,
    pub sources: PolicySources,
}

/// What `/v1/status` says of the policy file.
#[derive(Serialize)]
pub struct FileStatus<'a> {
    pub path: &'a Path,
    pub found: bool,
    pub error: Option<&'a str>,
    pub ignored: &'a [IgnoredFile],
}

impl PolicyState {
    /// Reads the policy asked for at `path` (see [`PolicySources::for_path`]). A missing
    /// file means defaults; one that cannot be used gives `last_good` and the error, which
    /// the caller logs and announces.
    pub fn load(path: &Path, last_good: AdminPolicy) -> PolicyState {
        Self::resolve(PolicySources::for_path(path), last_good)
    }

    /// Reads the files again; a file that cannot be used keeps `self`'s policy. Logs the
    /// files newly ignored.
    pub fn reload(&self) -> PolicyState {
        let next = Self::resolve(self.sources.clone(), self.policy.clone());
        next.warn_ignored(Some(self));
        next
    }

    /// The override when it is permitted and its file passes the checks, else the OS path's
    /// file when it passes them; a refused file is listed in `ignored` and never used.
    pub fn resolve(sources: PolicySources, last_good: AdminPolicy) -> PolicyState {
        let mut ignored = Vec::new();
        if let Some(path) = &sources.override_path {
            match override_text(&sources, path) {
                Ok(text) => {
                    let path = path.clone();
                    return Self::parsed(path, &text, last_good, ignored, sources);
                }
                Err(why) => ignored.push(IgnoredFile {
                    path: path.clone(),
                    why,
                }),
            }
        }
        let path = sources.os_path.clone();
        match read_trusted(&path) {
            Ok(Some(text)) => Self::parsed(path, &text, last_good, ignored, sources),
            Ok(None) => Self::state(path, false, AdminPolicy::default(), None, ignored, sources),
            Err(why) => {
                let error = format!("{} {why}", path.display());
                ignored.push(IgnoredFile {
                    path: path.clone(),
                    why: why.to_string(),
                });
                Self::state(path, true, last_good, Some(error), ignored, sources)
            }
        }
    }

    fn parsed(
        path: PathBuf,
        text: &str,
        last_good: AdminPolicy,
        ignored: Vec<IgnoredFile>,
        sources: PolicySources,
    ) -> PolicyState {
        let (policy, error) = match AdminPolicy::parse_named(text, &path.display().to_string()) {
            Ok(p) => (p, None),
            Err(e) => (last_good, Some(e.to_string())),
        };
        Self::state(path, true, policy, error, ignored, sources)
    }

    fn state(
        path: PathBuf,
        file_found: bool,
        policy: AdminPolicy,
        error: Option<String>,
        ignored: Vec<IgnoredFile>,
        sources: PolicySources,
    ) -> PolicyState {
        PolicyState {
            path,
            file_found,
            values: policy.provenance(),
            policy,
            error,
            ignored,
            sources,
        }
    }

    /// Logs each ignored file not already ignored (for the same reason) in `before`. The
    /// file in force is left out: its problem is `error`, which the caller logs.
    pub fn warn_ignored(&self, before: Option<&PolicyState>) {
        for file in &self.ignored {
            if file.path == self.path || before.is_some_and(|b| b.ignored.contains(file)) {
                continue;
            }
            tracing::warn!(path = %file.path.display(), "policy file ignored: {}", file.why);
        }
    }

    /// What `/v1/status` says of the policy file.
    pub fn file_status(&self) -> FileStatus<'_> {
        FileStatus {
            path: &self.path,
            found: self.file_found,
            error: self.error.as_deref(),
            ignored: &self.ignored,
        }
    }

    /// One line on the file in force, for the banner and `admin status`.
    pub fn summary(&self) -> String {
        match (&self.error, self.file_found) {
            (Some(e), _) => format!("NOT USED, the last good policy applies: {e}"),
            (None, true) => "in force".to_string(),
            (None, false) => "absent: the defaults apply".to_string(),
        }
    }

    /// What the panes and the MCP tool list follow of the policy.
    pub fn pane_policy(&self) -> PanePolicy {
        pane_policy(&self.policy)
    }
}

/// The override's text when it may be used, else why not.
fn override_text(sources: &PolicySources, path: &Path) -> Result<String, String> {
    const ABSENT: &str = "there is no file there; the OS-wide policy applies";
    if !trusted::is_present(path) {
        return Err(ABSENT.to_string());
    }
    // Decided before the file is even opened: a file the rule excludes is never read.
    if !override_permitted(sources.elevated, trusted::is_present(&sources.os_path)) {
        return Err(format!(
            "{POLICY_ENV} is honoured only for a bridge running as {ADMINISTRATOR}, or when \
             there is no policy file at {}; the administrator's policy there applies",
            sources.os_path.display()
        ));
    }
    match read_trusted(path) {
        Ok(Some(text)) => Ok(text),
        Ok(None) => Err(ABSENT.to_string()),
        Err(why) => Err(why.to_string()),
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

/// What can change whether a file is used: content, size, identity, and (unix) owner and
/// mode, whose changes move only ctime, not mtime.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    #[cfg(unix)]
    inode: u64,
    #[cfg(unix)]
    owner_and_mode: (u32, u32),
    #[cfg(unix)]
    changed: (i64, i64),
}

fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    use std::os::unix::fs::MetadataExt;
    Some(Stamp {
        modified: meta.modified().ok(),
        len: meta.len(),
        #[cfg(unix)]
        inode: meta.ino(),
        #[cfg(unix)]
        owner_and_mode: (meta.uid(), meta.mode()),
        #[cfg(unix)]
        changed: (meta.ctime(), meta.ctime_nsec()),
    })
}

/// A folder's owner, mode and identity (unix): what decides whether it is trusted. Not its
/// times, which move with every file created beside the policy (a database, say).
#[cfg(unix)]
type FolderStamp = (u32, u32, u64);
#[cfg(not(unix))]
type FolderStamp = ();

#[cfg(unix)]
fn folder_stamp(path: &Path) -> Option<FolderStamp> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.uid(), meta.mode(), meta.ino()))
}

#[cfg(not(unix))]
fn folder_stamp(_path: &Path) -> Option<FolderStamp> {
    None
}

/// A cheap fingerprint of the files and their folders: changes whenever whether and what
/// they say can have changed.
fn fingerprint(paths: &[PathBuf]) -> Vec<(Option<Stamp>, Option<FolderStamp>)> {
    paths
        .iter()
        .map(|p| (stamp(p), p.parent().and_then(folder_stamp)))
        .collect()
}

/// How often the files are also checked without a file-system event: a safety net for
/// folders created after start, network drives, links to files elsewhere and editors that
/// defeat inotify.
pub const POLL_INTERVAL: Duration = Duration::from_millis(1000);

/// Watches the policy files (the override and the OS path: either can change which policy
/// is in force) and sends a tick whenever one may have changed: file-system events on their
/// folders (the `notify` crate; editors and deployment tools replace the file rather than
/// write it in place, so folders are watched, not files), and a periodic fingerprint check.
/// The receiver reloads; spurious ticks are harmless.
pub fn watch(paths: &[PathBuf]) -> (mpsc::Receiver<()>, Option<notify::RecommendedWatcher>) {
    use notify::Watcher;
    let (tx, rx) = mpsc::channel(8);
    let names: Vec<_> = paths
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_os_string()))
        .collect();
    let mut folders: Vec<PathBuf> = paths
        .iter()
        .filter_map(|p| p.parent())
        .filter(|d| d.is_dir())
        .map(Path::to_path_buf)
        .collect();
    folders.dedup();
    let watcher = (!folders.is_empty())
        .then(|| {
            let tx = tx.clone();
            let own_folders = folders.clone();
            let mut w = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                // The files themselves, or a folder's own owner or mode.
                if let Ok(event) = event
                    && event.paths.iter().any(|p| {
                        p.file_name().is_some_and(|n| names.iter().any(|m| m == n))
                            || own_folders.contains(p)
                    })
                {
                    let _ = tx.try_send(());
                }
            })
            .map_err(|e| tracing::warn!("cannot watch the policy folder, polling instead: {e}"))
            .ok()?;
            for dir in &folders {
                if let Err(e) = w.watch(dir, notify::RecursiveMode::NonRecursive) {
                    tracing::warn!("cannot watch {}: {e}; polling instead", dir.display());
                }
            }
            Some(w)
        })
        .flatten();
    let poll_paths = paths.to_vec();
    tokio::spawn(async move {
        let mut last = fingerprint(&poll_paths);
        let mut tick = tokio::time::interval(POLL_INTERVAL);
        loop {
            tick.tick().await;
            let now = fingerprint(&poll_paths);
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

    /// Sources in a temporary folder standing in for the OS path, with the privilege as a
    /// parameter.
    fn sources(override_path: Option<&Path>, os_path: &Path, elevated: bool) -> PolicySources {
        PolicySources {
            override_path: override_path.map(Path::to_path_buf),
            os_path: os_path.to_path_buf(),
            elevated,
        }
    }

    #[test]
    fn an_override_stands_in_only_for_an_administrator_or_where_there_is_no_policy() {
        assert!(override_permitted(true, true), "root, an OS file");
        assert!(override_permitted(true, false), "root, no OS file");
        assert!(override_permitted(false, false), "a user, no OS file");
        assert!(!override_permitted(false, true), "a user, an OS file");
    }

    #[test]
    fn any_path_but_the_os_one_is_an_override() {
        let os = PolicySources::for_path(&os_path());
        assert_eq!(os.override_path, None);
        assert_eq!(os.watched(), vec![os_path()]);
        let other = PolicySources::for_path(Path::new("/tmp/mine.json"));
        assert_eq!(
            other.override_path.as_deref(),
            Some(Path::new("/tmp/mine.json"))
        );
        assert_eq!(other.watched().len(), 2);
    }

    #[test]
    fn the_defaults_are_in_force_when_there_is_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let os = dir.path().join("etc").join("policy.json");
        let state = PolicyState::resolve(sources(None, &os, false), AdminPolicy::default());
        assert_eq!(state.policy, AdminPolicy::default());
        assert!(!state.file_found && state.error.is_none() && state.ignored.is_empty());
        assert_eq!(state.summary(), "absent: the defaults apply");
    }

    /// The tests below read real files, which pass only when root owns them (and their
    /// folders): they need root. CI runs as root and fails rather than skip.
    #[cfg(unix)]
    fn running_as_root(test: &str) -> bool {
        if running_elevated() {
            return true;
        }
        assert!(
            std::env::var_os("CI").is_none(),
            "{test} must run as root in CI (files owned by root and by others)"
        );
        eprintln!("NOT RUN: {test} needs root");
        false
    }

    #[cfg(unix)]
    mod as_root {
        use std::os::unix::fs::{PermissionsExt, symlink};
        use std::time::{Duration, Instant};

        use super::*;

        const ADMIN_POLICY: &str =
            r#"{"addins": {"powerpoint": {"enabled": false}}, "flows": {"enabled": false}}"#;

        fn write(path: &Path, text: &str, mode: u32) {
            std::fs::write(path, text).unwrap();
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
        }

        fn chown(path: &Path, uid: u32) {
            std::os::unix::fs::chown(path, Some(uid), Some(uid)).unwrap();
        }

        /// `read_trusted` on another thread: a FIFO or a device must not hang the test.
        fn read_within(path: &Path, limit: Duration) -> Result<Option<String>, Untrusted> {
            let (tx, rx) = std::sync::mpsc::channel();
            let path = path.to_path_buf();
            std::thread::spawn(move || {
                let _ = tx.send(read_trusted(&path));
            });
            rx.recv_timeout(limit)
                .expect("read_trusted returned in time (it must never block)")
        }

        #[test]
        fn a_root_owned_file_is_read_and_through_a_link_too() {
            if !running_as_root("a_root_owned_file_is_read_and_through_a_link_too") {
                return;
            }
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("policy.json");
            write(&path, ADMIN_POLICY, 0o644);
            assert_eq!(read_trusted(&path).unwrap().as_deref(), Some(ADMIN_POLICY));
            write(&path, ADMIN_POLICY, 0o600);
            assert!(read_trusted(&path).unwrap().is_some(), "0600 is fine");
            // Configuration management deploys links: followed, and the target checked.
            let link = dir.path().join("link.json");
            symlink(&path, &link).unwrap();
            assert_eq!(read_trusted(&link).unwrap().as_deref(), Some(ADMIN_POLICY));
        }

        #[test]
        fn a_file_owned_by_another_user_is_refused() {
            if !running_as_root("a_file_owned_by_another_user_is_refused") {
                return;
            }
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("policy.json");
            write(&path, ADMIN_POLICY, 0o644);
            chown(&path, 65534);
            let e = read_trusted(&path).unwrap_err();
            assert!(matches!(e, Untrusted::Owner { .. }), "{e:?}");
            assert_eq!(
                e.to_string(),
                "is owned by uid 65534; only root may own a policy file"
            );
            // Also through a link: the target is what counts.
            let link = dir.path().join("link.json");
            symlink(&path, &link).unwrap();
            assert!(matches!(read_trusted(&link), Err(Untrusted::Owner { .. })));
        }

        #[test]
        fn a_file_its_group_or_others_may_write_is_refused() {
            if !running_as_root("a_file_its_group_or_others_may_write_is_refused") {
                return;
            }
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("policy.json");
            for mode in [0o664, 0o646, 0o666] {
                write(&path, ADMIN_POLICY, mode);
                let e = read_trusted(&path).unwrap_err();
                assert!(matches!(e, Untrusted::Writable(_)), "{mode:o}: {e:?}");
                assert!(e.to_string().contains(&format!("{mode:04o}")), "{e}");
            }
        }

        #[test]
        fn a_folder_others_may_write_is_refused_unless_sticky() {
            if !running_as_root("a_folder_others_may_write_is_refused_unless_sticky") {
                return;
            }
            let dir = tempfile::tempdir().unwrap();
            let folder = dir.path().join("etc");
            std::fs::create_dir(&folder).unwrap();
            let path = folder.join("policy.json");
            write(&path, ADMIN_POLICY, 0o644);
            for mode in [0o777, 0o775, 0o757] {
                std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(mode)).unwrap();
                let e = read_trusted(&path).unwrap_err();
                assert!(matches!(e, Untrusted::Folder { .. }), "{mode:o}: {e:?}");
                assert!(e.to_string().contains(&folder.display().to_string()), "{e}");
            }
            // Sticky, as /tmp: others may not remove or rename root's file.
            std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o1777)).unwrap();
            assert!(read_trusted(&path).unwrap().is_some());
            // A folder someone else owns, higher up.
            std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755)).unwrap();
            chown(dir.path(), 65534);
            let e = read_trusted(&path).unwrap_err();
            assert!(e.to_string().contains("owned by uid 65534"), "{e}");
            chown(dir.path(), 0);
            // A link from a good folder into a bad one: the checks follow the target.
            let bad = dir.path().join("bad");
            std::fs::create_dir(&bad).unwrap();
            std::fs::set_permissions(&bad, std::fs::Permissions::from_mode(0o777)).unwrap();
            write(&bad.join("real.json"), ADMIN_POLICY, 0o644);
            let link = folder.join("link.json");
            symlink(bad.join("real.json"), &link).unwrap();
            assert!(matches!(read_trusted(&link), Err(Untrusted::Folder { .. })));
        }

        #[test]
        fn a_fifo_is_refused_at_once() {
            if !running_as_root("a_fifo_is_refused_at_once") {
                return;
            }
            let dir = tempfile::tempdir().unwrap();
            let fifo = dir.path().join("policy.json");
            let status = std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .expect("mkfifo runs");
            assert!(status.success());
            let started = Instant::now();
            let e = read_within(&fifo, Duration::from_secs(5)).unwrap_err();
            assert!(
                matches!(e, Untrusted::NotRegular("FIFO (named pipe)")),
                "{e:?}"
            );
            assert!(started.elapsed() < Duration::from_secs(1));
            // Through a link as well.
            let link = dir.path().join("link.json");
            symlink(&fifo, &link).unwrap();
            assert!(matches!(
                read_within(&link, Duration::from_secs(5)),
                Err(Untrusted::NotRegular(_))
            ));
        }

        #[test]
        fn a_link_to_dev_zero_is_refused_without_reading_it() {
            if !running_as_root("a_link_to_dev_zero_is_refused_without_reading_it") {
                return;
            }
            let dir = tempfile::tempdir().unwrap();
            let link = dir.path().join("policy.json");
            symlink("/dev/zero", &link).unwrap();
            let e = read_within(&link, Duration::from_secs(5)).unwrap_err();
            assert!(
                matches!(e, Untrusted::NotRegular("character device")),
                "{e:?}"
            );
        }

        #[test]
        fn a_file_over_one_mebibyte_is_refused() {
            if !running_as_root("a_file_over_one_mebibyte_is_refused") {
                return;
            }
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("policy.json");
            let mut big = String::from("{}");
            big.push_str(&" ".repeat(2 * 1024 * 1024));
            write(&path, &big, 0o644);
            let e = read_trusted(&path).unwrap_err();
            assert!(
                matches!(e, Untrusted::TooLarge { size } if size == 2 * 1024 * 1024 + 2),
                "{e:?}"
            );
            // Exactly the limit is fine.
            write(&path, &big[..MAX_POLICY_BYTES as usize], 0o644);
            assert!(read_trusted(&path).unwrap().is_some());
        }

        #[test]
        fn a_folder_is_refused() {
            if !running_as_root("a_folder_is_refused") {
                return;
            }
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("policy.json");
            std::fs::create_dir(&path).unwrap();
            let e = read_trusted(&path).unwrap_err();
            assert!(matches!(e, Untrusted::NotRegular("folder")), "{e:?}");
        }

        /// The OS path in a root-owned temporary folder, the override beside it.
        struct Setup {
            _dir: tempfile::TempDir,
            os: PathBuf,
            mine: PathBuf,
        }

        fn setup() -> Setup {
            let dir = tempfile::tempdir().unwrap();
            let etc = dir.path().join("etc");
            std::fs::create_dir(&etc).unwrap();
            let os = etc.join("policy.json");
            let mine = dir.path().join("mine.json");
            Setup {
                _dir: dir,
                os,
                mine,
            }
        }

        #[test]
        fn a_users_override_never_replaces_the_administrators_policy() {
            if !running_as_root("a_users_override_never_replaces_the_administrators_policy") {
                return;
            }
            let s = setup();
            write(&s.os, ADMIN_POLICY, 0o644);
            // Even a root-owned override: the rule is decided before the file is read.
            write(&s.mine, "{}", 0o644);
            let state =
                PolicyState::resolve(sources(Some(&s.mine), &s.os, false), AdminPolicy::default());
            assert_eq!(state.path, s.os);
            assert!(!state.policy.addins.powerpoint.enabled);
            assert!(!state.policy.flows.enabled);
            assert!(state.error.is_none());
            assert_eq!(state.ignored.len(), 1);
            assert_eq!(state.ignored[0].path, s.mine);
            assert!(
                state.ignored[0]
                    .why
                    .contains("honoured only for a bridge running as root"),
                "{:?}",
                state.ignored
            );
            // Run by root, the same override is honoured.
            let state =
                PolicyState::resolve(sources(Some(&s.mine), &s.os, true), AdminPolicy::default());
            assert_eq!(state.path, s.mine);
            assert!(state.policy.addins.powerpoint.enabled);
            assert!(state.ignored.is_empty());
            // Where the administrator set no policy, a user's root-owned override is.
            std::fs::remove_file(&s.os).unwrap();
            let state =
                PolicyState::resolve(sources(Some(&s.mine), &s.os, false), AdminPolicy::default());
            assert_eq!(state.path, s.mine);
            assert!(state.ignored.is_empty());
        }

        #[test]
        fn a_refused_or_missing_override_falls_back_to_the_os_path() {
            if !running_as_root("a_refused_or_missing_override_falls_back_to_the_os_path") {
                return;
            }
            let s = setup();
            write(&s.os, ADMIN_POLICY, 0o644);
            // Missing: the OS path, never the defaults while an administrator's file exists.
            let state =
                PolicyState::resolve(sources(Some(&s.mine), &s.os, true), AdminPolicy::default());
            assert_eq!(state.path, s.os);
            assert!(!state.policy.flows.enabled);
            assert!(
                state.ignored[0].why.contains("no file"),
                "{:?}",
                state.ignored
            );
            // Refused (another user's), even for root: the OS path.
            write(&s.mine, "{}", 0o644);
            chown(&s.mine, 65534);
            let state =
                PolicyState::resolve(sources(Some(&s.mine), &s.os, true), AdminPolicy::default());
            assert_eq!(state.path, s.os);
            assert!(!state.policy.flows.enabled);
            assert!(
                state.ignored[0].why.contains("owned by uid 65534"),
                "{:?}",
                state.ignored
            );
            assert!(state.summary() == "in force");
        }

        #[test]
        fn a_refused_os_file_keeps_the_last_good_policy_and_says_why() {
            if !running_as_root("a_refused_os_file_keeps_the_last_good_policy_and_says_why") {
                return;
            }
            let s = setup();
            write(&s.os, ADMIN_POLICY, 0o644);
            let good = PolicyState::resolve(sources(None, &s.os, false), AdminPolicy::default());
            assert!(!good.policy.flows.enabled && good.error.is_none());
            // Someone loosened the permissions (or replaced the file with their own).
            write(&s.os, "{}", 0o666);
            let refused = good.reload();
            assert!(!refused.policy.flows.enabled, "the last good policy stays");
            let error = refused.error.as_deref().unwrap();
            assert!(
                error.contains("policy.json") && error.contains("0666"),
                "{error}"
            );
            assert_eq!(refused.ignored[0].path, s.os);
            assert!(refused.summary().starts_with("NOT USED"));
            // At start the caller's last good policy applies, never the refused file's.
            let start = PolicyState::resolve(sources(None, &s.os, false), AdminPolicy::default());
            assert_eq!(start.policy, AdminPolicy::default());
            assert!(start.error.is_some());
        }

        #[test]
        fn a_broken_file_keeps_the_last_good_policy_and_a_missing_one_means_defaults() {
            if !running_as_root(
                "a_broken_file_keeps_the_last_good_policy_and_a_missing_one_means_defaults",
            ) {
                return;
            }
            let s = setup();
            let start = PolicyState::resolve(sources(None, &s.os, false), AdminPolicy::default());
            assert_eq!(start.policy, AdminPolicy::default());
            assert!(start.error.is_none());
            write(&s.os, r#"{"addins": {"excel": {"enabled": false}}}"#, 0o644);
            let good = start.reload();
            assert!(!good.policy.addins.excel.enabled);
            assert!(good.error.is_none());
            assert!(!good.pane_policy().excel_enabled);
            write(&s.os, r#"{"addins": {"excel": {"enabled": fals"#, 0o644);
            let broken = good.reload();
            assert!(!broken.policy.addins.excel.enabled, "last good policy kept");
            assert!(
                broken.error.as_deref().unwrap().contains("policy.json"),
                "{broken:?}"
            );
            std::fs::remove_file(&s.os).unwrap();
            let gone = broken.reload();
            assert_eq!(gone.policy, AdminPolicy::default());
            assert!(gone.error.is_none());
        }
    }
}

#[cfg(test)]
mod schema_tests {
    use serde_json::Value;
    use tracker::policy::{AdminPolicy, POLICY_PATHS};

    const SCHEMA: &str = include_str!("../../docs/policy.schema.json");
    const EXAMPLES: [&str; 3] = [
        include_str!("../../docs/examples/policy-strict.json"),
        include_str!("../../docs/examples/policy-transfers-off.json"),
        include_str!("../../docs/examples/policy-after-instructions.json"),
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
