//! The bridge under test: the real `office-bridge serve` started as a child process on a
//! free port with its own data directory, or one already running. Its memory is read from
//! /proc, its audit chain checked with its own `audit verify`, and its records counted in
//! its SQLite store after the run.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;

use crate::pane::Endpoint;

pub struct Bridge {
    pub bin: PathBuf,
    pub port: u16,
    pub pid: u32,
    pub data_dir: PathBuf,
    child: Option<Child>,
    started: bool,
    /// Removed when the tool ends, unless kept.
    pub temp: Option<tempfile::TempDir>,
    /// The file tools' one (empty) folder, so they do not default to the current one. Not
    /// inside the data directory: the bridge refuses that.
    _files: Option<tempfile::TempDir>,
}

/// How the bridge ended when asked to stop.
#[derive(Debug)]
pub enum Stopped {
    /// SIGTERM, then it exited by itself (with this status).
    Clean(std::process::ExitStatus),
    /// It did not exit within the grace period and was killed.
    Killed,
    /// Attached to a bridge the tool did not start: left running.
    LeftRunning,
}

/// The `office-bridge` binary: `--bin`, else OFFICE_BRIDGE_BIN, else next to this tool
/// (both built by the same `cargo build`).
pub fn find_binary(given: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(p) = given {
        return Ok(p);
    }
    let here = std::env::current_exe().context("locating this program")?;
    let sibling = here
        .parent()
        .map(|d| d.join(format!("office-bridge{}", std::env::consts::EXE_SUFFIX)));
    match sibling {
        Some(p) if p.exists() => Ok(p),
        _ => bail!(
            "cannot find the office-bridge binary next to {}; build it (cargo build -p office-bridge) or pass --bin / OFFICE_BRIDGE_BIN",
            here.display()
        ),
    }
}

impl Bridge {
    /// Starts `office-bridge serve --port 0` in `data_dir` and waits for its banner.
    /// The administrator's policy file points into the data directory and holds the
    /// defaults (transfers notified), so no policy on this machine changes the run when it
    /// runs as root. Run as another user on a machine with a policy at the OS path, the
    /// bridge ignores the override and applies that policy (its banner says so).
    /// `fd_limit`: the bridge's open-file limit (RLIMIT_NOFILE, soft and hard), as a shell's
    /// `ulimit -n` would set it (`--bridge-fd-limit`).
    pub fn start(
        bin: PathBuf,
        data_dir: PathBuf,
        temp: Option<tempfile::TempDir>,
        fd_limit: Option<u64>,
    ) -> Result<Self> {
        let files = tempfile::Builder::new()
            .prefix("office-bridge-load-files-")
            .tempdir()?;
        // The policy file's folder is watched: keep it apart from the busy database.
        let policy = data_dir.join("policy");
        std::fs::create_dir_all(&policy)?;
        std::fs::write(policy.join("policy.json"), "{}")?;
        let log = std::fs::File::create(data_dir.join("bridge.log"))?;
        let mut command = Command::new(&bin);
        if let Some(limit) = fd_limit {
            set_fd_limit(&mut command, limit)?;
        }
        let mut child = command
            .arg("--data-dir")
            .arg(&data_dir)
            .args([
                "--log-format",
                "json",
                "serve",
                "--port",
                "0",
                "--allow-dir",
            ])
            .arg(files.path())
            .env("OFFICE_BRIDGE_POLICY", policy.join("policy.json"))
            .env_remove("OFFICE_BRIDGE_DATA_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if !sent && let Some(port) = banner_port(&line) {
                    let _ = tx.send(port);
                    sent = true;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let port = loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(port) => break port,
                Err(_) => {
                    if let Some(status) = child.try_wait()? {
                        bail!(
                            "office-bridge exited ({status}) before serving; its log:\n{}",
                            tail(&data_dir.join("bridge.log"))
                        );
                    }
                    if Instant::now() > deadline {
                        let _ = child.kill();
                        bail!("office-bridge printed no URL within 60 s");
                    }
                }
            }
        };
        Ok(Bridge {
            bin,
            port,
            pid: child.id(),
            data_dir,
            child: Some(child),
            started: true,
            temp,
            _files: Some(files),
        })
    }

    /// A bridge already serving `data_dir` (its pid from the run file `bridge.json`, unless
    /// `pid` says how this system sees it: a Windows bridge under Wine records its Windows
    /// process id, which /proc does not know).
    pub fn attach(
        bin: PathBuf,
        port: Option<u16>,
        data_dir: PathBuf,
        pid: Option<u32>,
    ) -> Result<Self> {
        let run: Value = serde_json::from_str(
            &std::fs::read_to_string(data_dir.join("bridge.json"))
                .context("reading bridge.json: is a bridge running with this --data-dir?")?,
        )?;
        let pid = match pid {
            Some(p) => p,
            None => run["pid"]
                .as_u64()
                .ok_or_else(|| anyhow!("no pid in bridge.json"))? as u32,
        };
        let port = match port {
            Some(p) => p,
            None => run["port"]
                .as_u64()
                .ok_or_else(|| anyhow!("no port in bridge.json"))? as u16,
        };
        Ok(Bridge {
            bin,
            port,
            pid,
            data_dir,
            child: None,
            started: false,
            temp: None,
            _files: None,
        })
    }

    pub fn started_here(&self) -> bool {
        self.started
    }

    pub fn endpoint(&self) -> Result<Endpoint> {
        let ca = std::fs::read_to_string(self.data_dir.join("tls").join("ca.pem"))
            .context("reading the bridge's CA")?;
        let token = std::fs::read_to_string(self.data_dir.join("token"))
            .context("reading the bridge's token")?;
        Endpoint::new(self.port, ca, token.trim().to_string())
    }

    pub fn database(&self) -> PathBuf {
        self.data_dir.join("office-bridge.sqlite3")
    }

    /// Resident memory of the bridge process (VmRSS), in KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    pub fn alive(&mut self) -> bool {
        match &mut self.child {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => Path::new(&format!("/proc/{}", self.pid)).exists(),
        }
    }

    /// SIGTERM and wait for a graceful exit (at most `grace`), else SIGKILL.
    pub fn stop(&mut self, grace: Duration) -> Result<Stopped> {
        let Some(child) = &mut self.child else {
            return Ok(Stopped::LeftRunning);
        };
        #[cfg(unix)]
        signal(self.pid, rustix::process::Signal::TERM);
        #[cfg(not(unix))]
        let _ = child.kill();
        let deadline = Instant::now() + grace;
        loop {
            if let Some(status) = child.try_wait()? {
                self.child = None;
                return Ok(Stopped::Clean(status));
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                self.child = None;
                return Ok(Stopped::Killed);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `office-bridge audit verify --json`: (intact, its report).
    pub fn audit_verify(&self) -> Result<(bool, Value)> {
        let out = Command::new(&self.bin)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(["audit", "verify", "--json"])
            .env_remove("OFFICE_BRIDGE_DATA_DIR")
            .output()
            .context("running office-bridge audit verify")?;
        let report: Value = serde_json::from_slice(&out.stdout).with_context(|| {
            format!(
                "audit verify printed no JSON (exit {}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
        let intact = out.status.success() && report["first_broken"].is_null();
        Ok((intact, report))
    }

    /// Warnings and errors in the bridge's log (children started here only).
    pub fn log_levels(&self) -> Option<(usize, usize, Vec<String>)> {
        if !self.started {
            return None;
        }
        let text = std::fs::read_to_string(self.data_dir.join("bridge.log")).ok()?;
        let (mut warn, mut error, mut first) = (0, 0, Vec::new());
        for line in text.lines() {
            let level = serde_json::from_str::<Value>(line)
                .ok()
                .and_then(|v| v["level"].as_str().map(str::to_string));
            match level.as_deref() {
                Some("WARN") => warn += 1,
                Some("ERROR") => error += 1,
                _ => continue,
            }
            if first.len() < 5 {
                first.push(line.chars().take(300).collect());
            }
        }
        Some((warn, error, first))
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Sends `sig` to a process this tool started (or was given); best effort, as `kill`.
#[cfg(unix)]
pub fn signal(pid: u32, sig: rustix::process::Signal) {
    // No pid 0 or negative pid here: those would signal a process group.
    if let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process(pid, sig);
    }
}

/// `  URL:           https://localhost:PORT/` -> PORT
fn banner_port(line: &str) -> Option<u16> {
    let rest = line.trim_start().strip_prefix("URL:")?.trim();
    let rest = rest.strip_prefix("https://localhost:")?;
    rest.trim_end_matches('/').parse().ok()
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// The audit records after `after_seq`, counted by kind, and `read`/`write` records by
/// document name.
#[derive(Default, Debug)]
pub struct AuditCounts {
    pub last_seq: i64,
    pub by_kind: BTreeMap<String, u64>,
    pub writes_by_document: BTreeMap<String, u64>,
    pub reads_by_document: BTreeMap<String, u64>,
}

pub fn audit_counts(db: &Path, after_seq: i64) -> Result<AuditCounts> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .with_context(|| format!("opening {}", db.display()))?;
    let mut out = AuditCounts {
        last_seq: after_seq,
        ..AuditCounts::default()
    };
    let mut stmt = conn.prepare("SELECT seq, kind, body FROM audit WHERE seq > ?1 ORDER BY seq")?;
    let mut rows = stmt.query([after_seq])?;
    while let Some(row) = rows.next()? {
        let seq: i64 = row.get(0)?;
        let kind: String = row.get(1)?;
        let body: String = row.get(2)?;
        out.last_seq = seq;
        let body = serde_json::from_str::<Value>(&body).unwrap_or_default();
        // Every checked write ends with a `write` record; only those that landed count as
        // writes here.
        let by_doc = match kind.as_str() {
            "write" if body["written"] == Value::Bool(true) => Some(&mut out.writes_by_document),
            "read" => Some(&mut out.reads_by_document),
            _ => None,
        };
        if let Some(map) = by_doc {
            let doc = body["document"].as_str().unwrap_or_default().to_string();
            *map.entry(doc).or_default() += 1;
        }
        *out.by_kind.entry(kind).or_default() += 1;
    }
    Ok(out)
}

/// The last audit record's seq (0 for an empty chain), before the run.
pub fn audit_head(db: &Path) -> Result<i64> {
    if !db.exists() {
        return Ok(0);
    }
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    Ok(conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM audit", [], |r| r.get(0))?)
}

/// The one `unsafe` of this crate: std offers no safe way to run code in the child between
/// fork and exec, and the limit must be in place before the bridge reads it at start.
#[cfg(unix)]
#[allow(unsafe_code)]
fn set_fd_limit(command: &mut Command, limit: u64) -> Result<()> {
    use rustix::process::{Resource, Rlimit, setrlimit};
    use std::os::unix::process::CommandExt;
    let rlimit = Rlimit {
        current: Some(limit),
        maximum: Some(limit),
    };
    // SAFETY: between fork and exec the closure only makes the setrlimit system call
    // (async-signal-safe, no allocation) on a value it owns.
    unsafe {
        command.pre_exec(move || Ok(setrlimit(Resource::Nofile, rlimit)?));
    }
    Ok(())
}

#[cfg(not(unix))]
fn set_fd_limit(_command: &mut Command, _limit: u64) -> Result<()> {
    bail!("--bridge-fd-limit works on unix only")
}

#[cfg(test)]
mod tests {
    #[test]
    fn banner() {
        assert_eq!(
            super::banner_port("  URL:           https://localhost:41234/"),
            Some(41234)
        );
        assert_eq!(
            super::banner_port("  MCP endpoint:  https://localhost:1/mcp"),
            None
        );
    }
}
