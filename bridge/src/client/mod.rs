//! The client side of a running bridge, shared by the commands that talk to it from the
//! same machine: `office-bridge mcp` (the stdio relay), `notify`, `approvals` and
//! `monitor`.
//!
//! Each of them has to find the bridge (its run file, else the default port), reach it
//! over HTTPS trusting nothing but the bridge's own CA, and say in words why a request
//! failed; the relay and `notify` also read its event streams ([`sse`]). Written once
//! here, so that a change to how the bridge is found or trusted reaches every command.

pub mod sse;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::server::DEFAULT_PORT;

/// `<data dir>/bridge.json`, written by a running `serve`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RunFile {
    pub port: u16,
    #[serde(default)]
    pub pid: Option<u32>,
    #[serde(default)]
    pub version: Option<String>,
    /// The running bridge's folders for the file tools (absent from older bridges).
    #[serde(default)]
    pub allowed_folders: Option<Vec<PathBuf>>,
}

/// Reads the run file; a missing, half-written or foreign file is "no information"
/// (the probe decides whether a bridge is really there).
pub fn read_run_file(path: &Path) -> Option<RunFile> {
    let text = fs::read_to_string(path).ok()?;
    match serde_json::from_str::<RunFile>(&text) {
        Ok(run) if run.port != 0 => Some(run),
        Ok(_) => None,
        Err(e) => {
            tracing::warn!(path = %path.display(), "ignoring unreadable run file: {e}");
            None
        }
    }
}

/// `--port` wins, then the run file of a running (or crashed) bridge, then the default.
pub fn choose_port(explicit: Option<u16>, run_file: Option<&RunFile>) -> u16 {
    explicit
        .or(run_file.map(|r| r.port))
        .unwrap_or(DEFAULT_PORT)
}

/// The start of every HTTPS client for the bridge: it trusts only the bridge's CA, never
/// the system roots, and no proxy (a proxy would see the token); 5 s to connect. No
/// overall timeout unless the caller sets one: an answer may wait minutes for a person's
/// approval, and an event stream is meant to last. Each caller builds it and words a
/// failure for its own command.
pub fn https_client_builder(ca_pem: &str) -> Result<reqwest::ClientBuilder, certs::CertError> {
    let tls = certs::client_config_trusting(ca_pem)?;
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .no_proxy()
        .connect_timeout(Duration::from_secs(5)))
}

/// reqwest's top-level errors say little ("error sending request"); the causes say why.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_file_and_port_choice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bridge.json");
        assert_eq!(read_run_file(&path), None);
        fs::write(&path, r#"{"port": 40123, "pid": 77, "version": "0.1.0"}"#).unwrap();
        let run = read_run_file(&path).unwrap();
        assert_eq!(
            run,
            RunFile {
                port: 40123,
                pid: Some(77),
                version: Some("0.1.0".into()),
                allowed_folders: None,
            }
        );
        assert_eq!(choose_port(None, Some(&run)), 40123);
        assert_eq!(choose_port(Some(5000), Some(&run)), 5000);
        assert_eq!(choose_port(None, None), DEFAULT_PORT);
        fs::write(&path, r#"{"port": 41000}"#).unwrap();
        assert_eq!(read_run_file(&path).unwrap().port, 41000);
        for bad in [
            "",
            "{",
            r#"{"port": "x"}"#,
            r#"{"port": 0}"#,
            r#"{"port": 70000}"#,
        ] {
            fs::write(&path, bad).unwrap();
            assert_eq!(read_run_file(&path), None, "{bad}");
        }
    }
}
