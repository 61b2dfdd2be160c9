//! Finding the bridge for the relay, or starting one.
//!
//! A client such as Claude Desktop starts `office-bridge mcp` and expects it to work;
//! nobody may have started the bridge. So the relay probes the bridge the run file names
//! (`/healthz`, over TLS trusting only the bridge's CA) and, when none answers, starts
//! `office-bridge serve` detached: in its own process group, so that closing the relay
//! does not take down a bridge other clients may use.

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};

use super::Relay;
use crate::client::{RunFile, choose_port, error_chain, https_client_builder, read_run_file};

/// How long a freshly started bridge may take to answer `/healthz`.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// The requested folders a running bridge does not allow (a relay's `--allow-dir` only
/// reaches a bridge the relay starts itself). A folder inside an allowed one is allowed.
/// Nothing when the bridge did not say what it allows.
fn folders_not_in_effect(requested: &[PathBuf], run_file: Option<&RunFile>) -> Vec<PathBuf> {
    let Some(allowed) = run_file.and_then(|r| r.allowed_folders.as_ref()) else {
        return Vec::new();
    };
    requested
        .iter()
        .filter(|dir| {
            let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
            !allowed
                .iter()
                .any(|root| crate::files::inside::inside(&dir, root))
        })
        .cloned()
        .collect()
}

impl Relay {
    /// Finds a bridge that answers `/healthz` over TLS trusting only its own CA, or
    /// starts one in the background; returns its port.
    pub(super) async fn ensure_bridge(&self) -> Result<u16, String> {
        let _guard = self.recover.lock().await;
        let run_file = read_run_file(&self.data_dir.run_file());
        let port = choose_port(self.explicit_port, run_file.as_ref());
        if let Some(client) = self.probe(port).await {
            *self.bridge.lock().unwrap() = Some((port, client));
            let ignored = folders_not_in_effect(&self.allow_dirs, run_file.as_ref());
            if !ignored.is_empty() && !self.warned_folders.swap(true, Ordering::Relaxed) {
                let shown: Vec<String> = ignored.iter().map(|p| p.display().to_string()).collect();
                tracing::warn!(
                    "a bridge was already running on port {port}; --allow-dir {} is not in effect for it (stop that bridge and this relay starts one with these folders)",
                    shown.join(", ")
                );
            }
            return Ok(port);
        }
        let log_path = self.data_dir.root().join("bridge.log");
        tracing::info!(port, log = %log_path.display(), "no bridge answers; starting `office-bridge serve` in the background");
        let child = self.spawn_bridge(port, &log_path).map_err(|e| {
            format!("office-bridge is not reachable at https://localhost:{port} and could not be started: {e:#}")
        })?;
        let started = tokio::time::Instant::now();
        while started.elapsed() < START_TIMEOUT {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if let Some(client) = self.probe(port).await {
                *self.bridge.lock().unwrap() = Some((port, client));
                tracing::info!(port, "office-bridge is up");
                return Ok(port);
            }
            if let Some(status) = *child.lock().unwrap() {
                return Err(format!(
                    "office-bridge is not reachable at https://localhost:{port}: the bridge started for it exited ({status}); see {}",
                    log_path.display()
                ));
            }
        }
        Err(format!(
            "office-bridge is not reachable at https://localhost:{port}: a bridge was started but did not answer within {} s; see {}",
            START_TIMEOUT.as_secs(),
            log_path.display()
        ))
    }

    /// A client for the bridge on `port` if it answers `/healthz`. Trusts only the
    /// bridge's CA: anything else on that port (or a proxy) fails the handshake.
    async fn probe(&self, port: u16) -> Option<reqwest::Client> {
        let ca = fs::read_to_string(self.data_dir.certs().ca_cert()).ok()?;
        let client = match bridge_client(&ca) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("cannot use the bridge's CA: {e:#}");
                return None;
            }
        };
        let answer = client
            .get(format!("https://localhost:{port}/healthz"))
            .timeout(Duration::from_secs(3))
            .send()
            .await;
        match answer {
            Ok(r) if r.status().is_success() => Some(client),
            Ok(r) => {
                tracing::debug!(port, status = %r.status(), "healthz refused");
                None
            }
            Err(e) => {
                tracing::debug!(port, "healthz: {}", error_chain(&e));
                None
            }
        }
    }

    /// Starts `office-bridge serve` detached: its own process group (closing the relay
    /// must not take the bridge down with it, other clients may use it), stdin null,
    /// output appended to `<data dir>/bridge.log`. A thread reaps it so an early exit is
    /// reported at once instead of after the whole wait.
    fn spawn_bridge(
        &self,
        port: u16,
        log_path: &Path,
    ) -> Result<Arc<Mutex<Option<std::process::ExitStatus>>>> {
        self.data_dir.ensure()?;
        let exe = std::env::current_exe().context("finding this executable")?;
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_path)
            .with_context(|| format!("opening {}", log_path.display()))?;
        let mut command = std::process::Command::new(exe);
        command
            .arg("--data-dir")
            .arg(self.data_dir.root())
            .arg("serve")
            .arg("--port")
            .arg(port.to_string());
        for dir in &self.allow_dirs {
            command.arg("--allow-dir").arg(dir);
        }
        command
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone().context("duplicating the log handle")?)
            .stderr(log);
        detach(&mut command);
        let mut child = command.spawn().context("starting `office-bridge serve`")?;
        let status = Arc::new(Mutex::new(None));
        let reaped = status.clone();
        std::thread::spawn(move || {
            if let Ok(s) = child.wait() {
                *reaped.lock().unwrap() = Some(s);
            }
        });
        Ok(status)
    }
}

#[cfg(unix)]
fn detach(command: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    command.process_group(0);
}

/// No console at all (`DETACHED_PROCESS`): no window flashes up when an MCP client starts
/// the relay, no hidden console host is left running for the bridge, and neither the
/// relay's console closing nor a Ctrl+C in it reaches the bridge (a process group of its
/// own as well). Its output goes to `bridge.log` (`spawn_bridge`), not to a console.
#[cfg(windows)]
fn detach(command: &mut std::process::Command) {
    use std::os::windows::process::CommandExt;
    use windows_sys::Win32::System::Threading::{CREATE_NEW_PROCESS_GROUP, DETACHED_PROCESS};
    command.creation_flags(DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP);
}

#[cfg(not(any(unix, windows)))]
fn detach(_command: &mut std::process::Command) {}

/// The relay's HTTPS client for the bridge (see [`https_client_builder`]): no overall
/// timeout, answers may wait minutes for a person's approval.
fn bridge_client(ca_pem: &str) -> Result<reqwest::Client> {
    https_client_builder(ca_pem)?
        .build()
        .context("building the HTTPS client")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_a_running_bridge_does_not_allow_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let (inside, outside) = (root.join("reports"), root.join("elsewhere"));
        fs::create_dir_all(&inside).unwrap();
        fs::create_dir_all(&outside).unwrap();
        let run = RunFile {
            port: 1,
            pid: None,
            version: None,
            allowed_folders: Some(vec![inside.clone()]),
        };
        let asked = vec![inside.join("."), outside.clone()];
        assert_eq!(folders_not_in_effect(&asked, Some(&run)), vec![outside]);
        assert!(folders_not_in_effect(std::slice::from_ref(&inside), Some(&run)).is_empty());
        // An older bridge that does not say, or no run file: nothing to warn about.
        let silent = RunFile {
            allowed_folders: None,
            ..run
        };
        assert!(folders_not_in_effect(&asked, Some(&silent)).is_empty());
        assert!(folders_not_in_effect(&asked, None).is_empty());
        // The run file written by `serve` carries the folders.
        let path = dir.path().join("bridge.json");
        fs::write(
            &path,
            serde_json::json!({"port": 2, "allowed_folders": [inside]}).to_string(),
        )
        .unwrap();
        assert_eq!(
            read_run_file(&path).unwrap().allowed_folders,
            Some(vec![root.join("reports")])
        );
    }
}
