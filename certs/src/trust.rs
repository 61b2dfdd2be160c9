//! Installing the local CA into the current user's trust stores, and checking whether it is.
//!
//! office-addin-dev-certs' most common failure is an install that silently did nothing. Every
//! function here therefore ends in a [`TrustReport`] that says, per store, what happened and,
//! whenever something is left to do, the exact one-line command to do it by hand.
//!
//! All contact with the machine goes through [`TrustEnv`], so tests run against temporary
//! directories and a fake command runner.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::{CertError, CertPaths, TrustState, TrustStoreState, parse_cert_pem};

/// File name of the CA copy in the Linux system anchor directory. `.crt` because
/// update-ca-certificates ignores anything else.
pub const LINUX_ANCHOR_NAME: &str = "office-bridge-local-ca.crt";
/// Nickname of the CA in the NSS database (Chrome/Chromium on Linux).
pub const NSS_NICKNAME: &str = "office-bridge local CA";

/// The system whose trust stores are handled: each has its own stores and commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    /// The system anchor directory, the NSS database (Chrome) and Firefox profiles.
    Linux,
    /// The login keychain (`security`).
    MacOs,
    /// The CurrentUser Root store (`certutil -user`).
    Windows,
}

impl Os {
    /// The system this was built for (any unix other than macOS counts as Linux).
    pub fn current() -> Self {
        if cfg!(target_os = "windows") {
            Os::Windows
        } else if cfg!(target_os = "macos") {
            Os::MacOs
        } else {
            Os::Linux
        }
    }
}

/// What a finished command said.
#[derive(Debug, Clone, Default)]
pub struct CommandOutput {
    /// Whether it exited with status 0.
    pub success: bool,
    /// Its standard output, decoded lossily.
    pub stdout: String,
    /// Its standard error, decoded lossily: the reason when it failed.
    pub stderr: String,
}

/// Runs external programs. The real one uses `std::process::Command`; tests record calls.
pub trait CommandRunner: Send + Sync {
    /// Runs `program` with `args` (no shell, no stdin) and waits for it.
    fn run(&self, program: &str, args: &[String]) -> io::Result<CommandOutput>;
    /// Whether `program` can be found on PATH.
    fn which(&self, program: &str) -> bool;
}

/// The runner for the real machine.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemRunner;

impl CommandRunner for SystemRunner {
    fn run(&self, program: &str, args: &[String]) -> io::Result<CommandOutput> {
        let out = std::process::Command::new(program)
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()?;
        Ok(CommandOutput {
            success: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    fn which(&self, program: &str) -> bool {
        let Some(path) = std::env::var_os("PATH") else {
            return false;
        };
        std::env::split_paths(&path).any(|dir| {
            let candidate = dir.join(program);
            candidate.is_file() || (cfg!(windows) && candidate.with_extension("exe").is_file())
        })
    }
}

/// Everything the trust functions may look at or touch.
pub struct TrustEnv {
    /// Which stores exist and which commands manage them.
    pub os: Os,
    /// Linux: where system CA anchors go (Debian family: /usr/local/share/ca-certificates).
    pub linux_anchor_dir: PathBuf,
    /// Linux: the program that rebuilds the system bundle from the anchor directory.
    pub linux_update_command: String,
    /// Linux: the user's NSS database (Chrome/Chromium), when it exists.
    pub nss_db: Option<PathBuf>,
    /// Linux: Firefox profiles (each has its own NSS database; Firefox on Linux does not
    /// read the system store). Found under ~/.mozilla, the snap and the flatpak.
    pub firefox_profiles: Vec<PathBuf>,
    /// The user's home, for the macOS login keychain.
    pub home: Option<PathBuf>,
    /// Whether we may write system locations (Unix: effective uid 0).
    pub is_privileged: bool,
    /// Runs the store commands (`update-ca-certificates`, `certutil`, `security`).
    pub runner: Box<dyn CommandRunner>,
}

impl fmt::Debug for TrustEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustEnv")
            .field("os", &self.os)
            .field("linux_anchor_dir", &self.linux_anchor_dir)
            .field("linux_update_command", &self.linux_update_command)
            .field("nss_db", &self.nss_db)
            .field("firefox_profiles", &self.firefox_profiles)
            .field("home", &self.home)
            .field("is_privileged", &self.is_privileged)
            .finish_non_exhaustive()
    }
}

impl TrustEnv {
    /// The real machine.
    pub fn system() -> Self {
        let home = std::env::var_os("HOME")
            .or_else(|| std::env::var_os("USERPROFILE"))
            .map(PathBuf::from);
        let runner = SystemRunner;
        // Fedora/RHEL keep anchors elsewhere and rebuild with update-ca-trust; prefer the
        // Debian layout whenever it is present since that is what most desktops use.
        let debian = Path::new("/usr/local/share/ca-certificates");
        let (linux_anchor_dir, linux_update_command) =
            if !debian.is_dir() && runner.which("update-ca-trust") {
                (
                    PathBuf::from("/etc/pki/ca-trust/source/anchors"),
                    "update-ca-trust".to_string(),
                )
            } else {
                (debian.to_path_buf(), "update-ca-certificates".to_string())
            };
        let nss_db = home
            .as_ref()
            .map(|h| h.join(".pki").join("nssdb"))
            .filter(|p| p.is_dir());
        let firefox_profiles = home.as_deref().map(firefox_profiles).unwrap_or_default();
        Self {
            os: Os::current(),
            linux_anchor_dir,
            linux_update_command,
            nss_db,
            firefox_profiles,
            home,
            is_privileged: effective_uid_is_root(),
            runner: Box::new(runner),
        }
    }

    fn anchor_path(&self) -> PathBuf {
        self.linux_anchor_dir.join(LINUX_ANCHOR_NAME)
    }

    fn login_keychain(&self) -> PathBuf {
        match &self.home {
            Some(h) => h.join("Library/Keychains/login.keychain-db"),
            None => PathBuf::from("~/Library/Keychains/login.keychain-db"),
        }
    }

    fn nss_usable(&self) -> Option<&Path> {
        match &self.nss_db {
            Some(db) if self.runner.which("certutil") => Some(db.as_path()),
            _ => None,
        }
    }

    /// Each Firefox profile as (store name, database folder).
    fn firefox_stores(&self) -> Vec<(String, &Path)> {
        self.firefox_profiles
            .iter()
            .map(|p| {
                let name = p.file_name().map_or_else(
                    || p.display().to_string(),
                    |n| n.to_string_lossy().into_owned(),
                );
                (format!("Firefox profile {name}"), p.as_path())
            })
            .collect()
    }
}

/// Firefox profiles under `home` that have a certificate database: the usual place, the
/// snap's and the flatpak's, in name order.
pub fn firefox_profiles(home: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for base in [
        ".mozilla/firefox",
        "snap/firefox/common/.mozilla/firefox",
        ".var/app/org.mozilla.firefox/.mozilla/firefox",
    ] {
        let Ok(entries) = std::fs::read_dir(home.join(base)) else {
            continue;
        };
        let mut here: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.join("cert9.db").is_file())
            .collect();
        here.sort();
        found.extend(here);
    }
    found
}

/// Reads the effective uid from /proc so no libc binding is needed; where /proc does not
/// exist (macOS) nothing we do needs root anyway.
fn effective_uid_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

/// Quotes for a POSIX shell, so a printed command can be pasted as is.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-:=,+@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

fn display_command(os: Os, program: &str, args: &[String]) -> String {
    let mut parts = vec![program.to_string()];
    parts.extend(args.iter().map(|a| match os {
        Os::Windows if a.contains(' ') => format!("\"{a}\""),
        Os::Windows => a.clone(),
        _ => shell_quote(a),
    }));
    parts.join(" ")
}

/// What happened in one store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustOutcome {
    /// The change was made.
    Done,
    /// Nothing to do: already in the wanted state.
    AlreadyDone,
    /// Store not present or not applicable on this machine.
    Skipped {
        /// Why, in words.
        reason: String,
    },
    /// We may not do it ourselves (privileges): run `command`.
    NeedsManual {
        /// Why it was not done (e.g. the system store needs root).
        reason: String,
        /// The one line that does it by hand.
        command: String,
    },
    /// We tried and it failed: `command` retries by hand.
    Failed {
        /// What went wrong: the command's error output or the OS error.
        error: String,
        /// The one line that retries it by hand.
        command: String,
    },
}

/// What happened in one trust store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustAction {
    /// The store, as shown to the person (e.g. `macOS login keychain`).
    pub store: String,
    /// What was done there, or is left to do.
    pub outcome: TrustOutcome,
}

/// The result of [`install`] or [`uninstall`]: one action per store.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrustReport {
    /// True for an install, false for an uninstall (the wording of the report).
    pub installing: bool,
    /// Each store's outcome, in the order they were handled.
    pub actions: Vec<TrustAction>,
}

impl TrustReport {
    /// True when nothing is left for the person to do.
    pub fn is_complete(&self) -> bool {
        self.actions.iter().all(|a| {
            matches!(
                a.outcome,
                TrustOutcome::Done | TrustOutcome::AlreadyDone | TrustOutcome::Skipped { .. }
            )
        })
    }

    /// The commands the person still has to run, in order.
    pub fn commands_to_run(&self) -> Vec<&str> {
        self.actions
            .iter()
            .filter_map(|a| match &a.outcome {
                TrustOutcome::NeedsManual { command, .. }
                | TrustOutcome::Failed { command, .. } => Some(command.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The report as lines, one per store, then one per command to run.
    pub fn lines(&self) -> Vec<String> {
        let verb = if self.installing {
            "trusted"
        } else {
            "removed"
        };
        let mut lines = Vec::new();
        for a in &self.actions {
            lines.push(match &a.outcome {
                TrustOutcome::Done => format!("{}: {verb}", a.store),
                TrustOutcome::AlreadyDone => format!("{}: already {verb}", a.store),
                TrustOutcome::Skipped { reason } => format!("{}: skipped ({reason})", a.store),
                TrustOutcome::NeedsManual { reason, command } => {
                    format!("{}: NOT DONE ({reason}); run: {command}", a.store)
                }
                TrustOutcome::Failed { error, command } => {
                    format!("{}: FAILED ({error}); retry by hand: {command}", a.store)
                }
            });
        }
        lines
    }
}

impl fmt::Display for TrustReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in self.lines() {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

/// Facts about the CA needed to find it again in a store.
struct CaRef {
    pem_path: PathBuf,
    bytes: Vec<u8>,
    cn: String,
    serial_hex: String,
}

fn load_ca_ref(paths: &CertPaths) -> Result<CaRef, CertError> {
    let pem_path = paths.ca_cert();
    let bytes = std::fs::read(&pem_path).map_err(|e| {
        CertError::Trust(format!(
            "cannot read the CA certificate {} ({e}); run `office-bridge serve` once to create it",
            pem_path.display()
        ))
    })?;
    let text = String::from_utf8_lossy(&bytes);
    let info = parse_cert_pem(&text).map_err(|r| {
        CertError::Trust(format!(
            "{} is not a valid certificate ({r}); remove {} and run `office-bridge serve` to start over",
            pem_path.display(),
            paths.dir.display()
        ))
    })?;
    let cn = info
        .common_name
        .clone()
        .unwrap_or_else(|| crate::CA_CN_PREFIX.to_string());
    Ok(CaRef {
        pem_path,
        bytes,
        cn,
        serial_hex: info.serial_hex,
    })
}

fn run_step(env: &TrustEnv, store: &str, program: &str, args: Vec<String>) -> TrustAction {
    let command = display_command(env.os, program, &args);
    let outcome = match env.runner.run(program, &args) {
        Ok(out) if out.success => TrustOutcome::Done,
        Ok(out) => TrustOutcome::Failed {
            error: first_line(&out.stderr, &out.stdout),
            command,
        },
        Err(e) => TrustOutcome::Failed {
            error: format!("cannot start {program}: {e}"),
            command,
        },
    };
    TrustAction {
        store: store.to_string(),
        outcome,
    }
}

fn first_line(stderr: &str, stdout: &str) -> String {
    let text = if stderr.trim().is_empty() {
        stdout
    } else {
        stderr
    };
    let joined: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if joined.is_empty() {
        "exited with an error and no message".into()
    } else {
        joined.join(" | ")
    }
}

const LINUX_STORE: &str = "Linux system store";
const NSS_STORE: &str = "NSS database (Chrome/Chromium)";
const MAC_STORE: &str = "macOS login keychain";
const WIN_STORE: &str = "Windows CurrentUser Root store";

fn linux_install_command(env: &TrustEnv, ca: &CaRef) -> String {
    format!(
        "sudo cp {} {} && sudo {}",
        shell_quote(&ca.pem_path.to_string_lossy()),
        shell_quote(&env.anchor_path().to_string_lossy()),
        env.linux_update_command
    )
}

fn linux_update_args(env: &TrustEnv) -> Vec<String> {
    // --fresh makes update-ca-certificates drop links to anchors that no longer exist;
    // update-ca-trust always rebuilds from scratch and has no such flag.
    if env.linux_update_command == "update-ca-certificates" {
        vec!["--fresh".to_string()]
    } else {
        Vec::new()
    }
}

fn linux_uninstall_command(env: &TrustEnv) -> String {
    format!(
        "sudo rm -f {} && sudo {}",
        shell_quote(&env.anchor_path().to_string_lossy()),
        display_command(
            Os::Linux,
            &env.linux_update_command,
            &linux_update_args(env)
        )
    )
}

fn nss_install_args(db: &Path, ca: &CaRef) -> Vec<String> {
    vec![
        "-d".into(),
        format!("sql:{}", db.display()),
        "-A".into(),
        "-t".into(),
        "C,,".into(),
        "-n".into(),
        NSS_NICKNAME.into(),
        "-i".into(),
        ca.pem_path.to_string_lossy().into_owned(),
    ]
}

fn nss_args(db: &Path, op: &str) -> Vec<String> {
    vec![
        "-d".into(),
        format!("sql:{}", db.display()),
        op.into(),
        "-n".into(),
        NSS_NICKNAME.into(),
    ]
}

fn already(store: &str) -> TrustAction {
    TrustAction {
        store: store.into(),
        outcome: TrustOutcome::AlreadyDone,
    }
}

fn mac_find_args(env: &TrustEnv, ca: &CaRef) -> Vec<String> {
    vec![
        "find-certificate".into(),
        "-c".into(),
        ca.cn.clone(),
        env.login_keychain().to_string_lossy().into_owned(),
    ]
}

fn mac_install_args(env: &TrustEnv, ca: &CaRef) -> Vec<String> {
    vec![
        "add-trusted-cert".into(),
        "-r".into(),
        "trustRoot".into(),
        "-k".into(),
        env.login_keychain().to_string_lossy().into_owned(),
        ca.pem_path.to_string_lossy().into_owned(),
    ]
}

fn win_install_args(ca: &CaRef) -> Vec<String> {
    vec![
        "-user".into(),
        "-addstore".into(),
        "Root".into(),
        ca.pem_path.to_string_lossy().into_owned(),
    ]
}

/// Whether the CurrentUser Root store lists our CA (`certutil -verifystore` by serial).
/// Exit status 0 alone is not enough: the answer must show the serial, as certutil's
/// listing of a found certificate does ("Serial Number: ..."); a certutil that answers 0
/// with nothing (Wine's stub) is an error, not a yes.
fn win_lists(env: &TrustEnv, ca: &CaRef) -> Result<bool, String> {
    let out = env
        .runner
        .run("certutil", &win_args("-verifystore", ca))
        .map_err(|e| format!("cannot run certutil: {e}"))?;
    if !out.success {
        return Ok(false);
    }
    if lists_serial(&out.stdout, &ca.serial_hex) {
        Ok(true)
    } else {
        Err("certutil exited 0 without listing the CA (a certutil that does nothing?)".into())
    }
}

/// Whether `listing` shows `serial_hex`, ignoring case, spacing and leading zero bytes
/// (certutil may print the serial in groups, and DER keeps a leading 00 that some
/// printers drop).
pub fn lists_serial(listing: &str, serial_hex: &str) -> bool {
    let squash = |s: &str| {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase()
    };
    let mut serial = squash(serial_hex);
    while serial.len() > 2 && serial.starts_with("00") {
        serial.drain(..2);
    }
    !serial.is_empty() && squash(listing).contains(&serial)
}

// The serial, not the common name, identifies our CA in the Windows store: it is unique per
// CA key, so a stale CA with the same name is never touched by mistake.
fn win_args(op: &str, ca: &CaRef) -> Vec<String> {
    vec![
        "-user".into(),
        op.into(),
        "Root".into(),
        ca.serial_hex.clone(),
    ]
}

/// Trusts the CA in the current user's stores.
pub fn install(paths: &CertPaths, env: &TrustEnv) -> Result<TrustReport, CertError> {
    let ca = load_ca_ref(paths)?;
    let mut report = TrustReport {
        installing: true,
        actions: Vec::new(),
    };
    match env.os {
        Os::Linux => {
            report.actions.push(linux_install(env, &ca));
            report.actions.push(match env.nss_usable() {
                Some(db) => nss_install(env, NSS_STORE, db, &ca),
                None => nss_skipped(env),
            });
            for (store, db) in env.firefox_stores() {
                report.actions.push(nss_install(env, &store, db, &ca));
            }
        }
        Os::MacOs => report.actions.push(run_step(
            env,
            MAC_STORE,
            "security",
            mac_install_args(env, &ca),
        )),
        Os::Windows => {
            let mut action = run_step(env, WIN_STORE, "certutil", win_install_args(&ca));
            // Believed only when the store then lists the CA: a certutil that does nothing
            // and exits 0 (Wine's is such a stub) must not pass for an install.
            if action.outcome == TrustOutcome::Done && win_lists(env, &ca) != Ok(true) {
                action.outcome = TrustOutcome::Failed {
                    error: "certutil reported success but the store does not list the CA".into(),
                    command: display_command(env.os, "certutil", &win_install_args(&ca)),
                };
            }
            report.actions.push(action)
        }
    }
    Ok(report)
}

fn linux_install(env: &TrustEnv, ca: &CaRef) -> TrustAction {
    let anchor = env.anchor_path();
    let command = linux_install_command(env, ca);
    let store = LINUX_STORE.to_string();
    if std::fs::read(&anchor).is_ok_and(|b| b == ca.bytes) {
        return TrustAction {
            store,
            outcome: TrustOutcome::AlreadyDone,
        };
    }
    if !env.is_privileged {
        return TrustAction {
            store,
            outcome: TrustOutcome::NeedsManual {
                reason: "needs root".into(),
                command,
            },
        };
    }
    if let Err(e) = std::fs::write(&anchor, &ca.bytes) {
        return TrustAction {
            store,
            outcome: TrustOutcome::Failed {
                error: format!("cannot write {}: {e}", anchor.display()),
                command,
            },
        };
    }
    let mut action = run_step(env, LINUX_STORE, &env.linux_update_command, Vec::new());
    if let TrustOutcome::Failed { command: c, .. } = &mut action.outcome {
        *c = command;
    }
    action
}

/// Whether `certutil -L` finds our nickname in the database.
fn nss_holds_ca(env: &TrustEnv, db: &Path) -> bool {
    env.runner
        .run("certutil", &nss_args(db, "-L"))
        .is_ok_and(|o| o.success)
}

/// Adds the CA to one NSS database (Chrome's or a Firefox profile's).
fn nss_install(env: &TrustEnv, store: &str, db: &Path, ca: &CaRef) -> TrustAction {
    if !env.runner.which("certutil") {
        return certutil_missing(store);
    }
    if nss_holds_ca(env, db) {
        // Re-adding under the same nickname would fail; drop the old entry so a recreated
        // CA replaces it.
        let _ = env.runner.run("certutil", &nss_args(db, "-D"));
    }
    run_step(env, store, "certutil", nss_install_args(db, ca))
}

/// Removes the CA from one NSS database; "already removed" when it is not there.
fn nss_uninstall(env: &TrustEnv, store: &str, db: &Path) -> TrustAction {
    if !env.runner.which("certutil") {
        return certutil_missing(store);
    }
    if nss_holds_ca(env, db) {
        run_step(env, store, "certutil", nss_args(db, "-D"))
    } else {
        already(store)
    }
}

const CERTUTIL_MISSING: &str = "certutil not found; install it (Debian/Ubuntu: sudo apt install libnss3-tools) and run `office-bridge certs install` again";

fn certutil_missing(store: &str) -> TrustAction {
    TrustAction {
        store: store.into(),
        outcome: TrustOutcome::Skipped {
            reason: CERTUTIL_MISSING.into(),
        },
    }
}

/// Whether one NSS database trusts the CA, and the command that would fix it.
fn nss_state(env: &TrustEnv, db: &Path, ca: &CaRef) -> (TrustState, Option<String>) {
    match env.runner.run("certutil", &nss_args(db, "-L")) {
        Ok(o) if o.success => (TrustState::Trusted, None),
        Ok(_) => (
            TrustState::NotTrusted(format!("no '{NSS_NICKNAME}' in {}", db.display())),
            Some(display_command(
                env.os,
                "certutil",
                &nss_install_args(db, ca),
            )),
        ),
        Err(e) => (
            TrustState::Unknown(format!("cannot run certutil: {e}")),
            None,
        ),
    }
}

fn nss_skipped(env: &TrustEnv) -> TrustAction {
    let reason = match &env.nss_db {
        None => "no NSS database at ~/.pki/nssdb (Chrome/Chromium not set up)".to_string(),
        Some(_) => CERTUTIL_MISSING.to_string(),
    };
    TrustAction {
        store: NSS_STORE.into(),
        outcome: TrustOutcome::Skipped { reason },
    }
}

/// Removes the CA from the current user's stores.
pub fn uninstall(paths: &CertPaths, env: &TrustEnv) -> Result<TrustReport, CertError> {
    let ca = load_ca_ref(paths)?;
    let mut report = TrustReport {
        installing: false,
        actions: Vec::new(),
    };
    match env.os {
        Os::Linux => {
            report.actions.push(linux_uninstall(env));
            report.actions.push(match env.nss_usable() {
                Some(db) => nss_uninstall(env, NSS_STORE, db),
                None => nss_skipped(env),
            });
            for (store, db) in env.firefox_stores() {
                report.actions.push(nss_uninstall(env, &store, db));
            }
        }
        // Asking first turns "not there" into "already removed" instead of a scary failure.
        Os::MacOs => {
            let present = env
                .runner
                .run("security", &mac_find_args(env, &ca))
                .is_ok_and(|o| o.success);
            report.actions.push(if present {
                let args = vec![
                    "delete-certificate".into(),
                    "-c".into(),
                    ca.cn.clone(),
                    env.login_keychain().to_string_lossy().into_owned(),
                ];
                run_step(env, MAC_STORE, "security", args)
            } else {
                already(MAC_STORE)
            });
        }
        Os::Windows => {
            let present = win_lists(env, &ca) == Ok(true);
            report.actions.push(if present {
                run_step(env, WIN_STORE, "certutil", win_args("-delstore", &ca))
            } else {
                already(WIN_STORE)
            });
        }
    }
    Ok(report)
}

fn linux_uninstall(env: &TrustEnv) -> TrustAction {
    let anchor = env.anchor_path();
    let command = linux_uninstall_command(env);
    let store = LINUX_STORE.to_string();
    if !anchor.exists() {
        return TrustAction {
            store,
            outcome: TrustOutcome::AlreadyDone,
        };
    }
    if !env.is_privileged {
        return TrustAction {
            store,
            outcome: TrustOutcome::NeedsManual {
                reason: "needs root".into(),
                command,
            },
        };
    }
    if let Err(e) = std::fs::remove_file(&anchor) {
        return TrustAction {
            store,
            outcome: TrustOutcome::Failed {
                error: format!("cannot remove {}: {e}", anchor.display()),
                command,
            },
        };
    }
    let mut action = run_step(
        env,
        LINUX_STORE,
        &env.linux_update_command,
        linux_update_args(env),
    );
    if let TrustOutcome::Failed { command: c, .. } = &mut action.outcome {
        *c = command;
    }
    action
}

/// Trust state per store. Read-only: only query commands are run.
pub(crate) fn check(paths: &CertPaths, env: &TrustEnv) -> Vec<TrustStoreState> {
    let ca = match load_ca_ref(paths) {
        Ok(ca) => ca,
        Err(_) => {
            return vec![TrustStoreState {
                store: "all stores".into(),
                state: TrustState::Unknown("no valid CA yet".into()),
                fix: Some(
                    "office-bridge serve   (creates the CA), then: office-bridge certs install"
                        .into(),
                ),
            }];
        }
    };
    let install_fix = "office-bridge certs install".to_string();
    let mut out = Vec::new();
    match env.os {
        Os::Linux => {
            let anchor = env.anchor_path();
            let (state, fix) = match std::fs::read(&anchor) {
                Ok(b) if b == ca.bytes => (TrustState::Trusted, None),
                Ok(_) => (
                    TrustState::NotTrusted(format!("{} holds a different CA", anchor.display())),
                    Some(linux_install_command(env, &ca)),
                ),
                Err(_) => (
                    TrustState::NotTrusted(format!("{} does not exist", anchor.display())),
                    Some(linux_install_command(env, &ca)),
                ),
            };
            out.push(TrustStoreState {
                store: LINUX_STORE.into(),
                state,
                fix,
            });
            let (state, fix) = match (&env.nss_db, env.nss_usable()) {
                (None, _) => (
                    TrustState::Unknown(
                        "no NSS database at ~/.pki/nssdb (Chrome/Chromium not set up)".into(),
                    ),
                    None,
                ),
                (Some(_), None) => (
                    TrustState::Unknown("certutil not found".into()),
                    Some("sudo apt install libnss3-tools && office-bridge certs install".into()),
                ),
                (Some(_), Some(db)) => nss_state(env, db, &ca),
            };
            out.push(TrustStoreState {
                store: NSS_STORE.into(),
                state,
                fix,
            });
            for (store, db) in env.firefox_stores() {
                let (state, fix) = if env.runner.which("certutil") {
                    nss_state(env, db, &ca)
                } else {
                    (
                        TrustState::Unknown("certutil not found".into()),
                        Some(
                            "sudo apt install libnss3-tools && office-bridge certs install".into(),
                        ),
                    )
                };
                out.push(TrustStoreState { store, state, fix });
            }
        }
        Os::MacOs => {
            out.push(query(
                env,
                MAC_STORE,
                "security",
                mac_find_args(env, &ca),
                &install_fix,
            ));
        }
        Os::Windows => {
            let (state, fix) = match win_lists(env, &ca) {
                Ok(true) => (TrustState::Trusted, None),
                Ok(false) => (
                    TrustState::NotTrusted("CA not found in the store".into()),
                    Some(install_fix.clone()),
                ),
                Err(why) => (TrustState::Unknown(why), Some(install_fix.clone())),
            };
            out.push(TrustStoreState {
                store: WIN_STORE.into(),
                state,
                fix,
            });
        }
    }
    out
}

fn query(
    env: &TrustEnv,
    store: &str,
    program: &str,
    args: Vec<String>,
    fix: &str,
) -> TrustStoreState {
    let (state, fix) = match env.runner.run(program, &args) {
        Ok(o) if o.success => (TrustState::Trusted, None),
        Ok(_) => (
            TrustState::NotTrusted("CA not found in the store".into()),
            Some(fix.to_string()),
        ),
        Err(e) => (
            TrustState::Unknown(format!("cannot run {program}: {e}")),
            Some(fix.to_string()),
        ),
    };
    TrustStoreState {
        store: store.into(),
        state,
        fix,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quote_leaves_plain_paths_and_quotes_the_rest() {
        assert_eq!(shell_quote("/home/a/tls/ca.pem"), "/home/a/tls/ca.pem");
        assert_eq!(shell_quote("/home/a b/ca.pem"), "'/home/a b/ca.pem'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn windows_commands_quote_with_double_quotes() {
        let args = vec!["-user".to_string(), "C:\\Users\\A B\\ca.pem".to_string()];
        assert_eq!(
            display_command(Os::Windows, "certutil", &args),
            "certutil -user \"C:\\Users\\A B\\ca.pem\""
        );
    }
}
