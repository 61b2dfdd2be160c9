//! `office-bridge monitor [--open]`: the link to the monitor page of the running bridge,
//! `https://localhost:PORT/monitor/#token=<desktop token>`. The desktop token, not the
//! agent's: the page answers approvals, which the agent's token cannot. It travels in the
//! fragment, which a browser never sends to a server and the bridge therefore never logs;
//! the page keeps it for the tab and removes it from the address bar.
//!
//! `--open` does not put the link on a command line (another user of the machine could read
//! it in the process list, for as long as a freshly started browser runs): it writes an
//! owner-only page into the data directory that forwards the browser to the link, and opens
//! that file instead.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result};

use crate::client::{choose_port, read_run_file};
use crate::datadir::{DataDir, write_secret};
use crate::token::Token;

/// The monitor's address for a bridge on `port` with this token.
pub fn url(port: u16, token: &str) -> String {
    format!("https://localhost:{port}/monitor/#token={token}")
}

/// The forwarding page `--open` hands to the browser.
pub fn launcher_file(data_dir: &DataDir) -> PathBuf {
    data_dir.root().join("monitor.html")
}

/// A page that sends the browser on to `url` at once (and offers the link, should the
/// browser not follow refreshes of local files).
pub fn launcher_html(url: &str) -> String {
    let url = escape_html(url);
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <meta http-equiv=\"refresh\" content=\"0;url={url}\">\
         <title>office-bridge monitor</title></head>\
         <body><p><a href=\"{url}\">Open the office-bridge monitor</a></p></body></html>\n"
    )
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Prints the link; with `open`, opens it in the default browser too. Exit code 0, or 1
/// when the browser could not be started (the link is printed either way).
pub fn run(data_dir: &DataDir, port: Option<u16>, open: bool) -> Result<i32> {
    if port == Some(0) {
        anyhow::bail!("--port 0 is not a port a bridge listens on; give the bridge's port");
    }
    data_dir.ensure()?;
    let run_file = read_run_file(&data_dir.run_file());
    let port = choose_port(port, run_file.as_ref());
    let token = Token::load_or_create(&data_dir.desktop_token_file())?;
    let link = url(port, token.expose());
    println!("{link}");
    if run_file.is_none() {
        eprintln!(
            "office-bridge: no running bridge recorded in {} (start one with `office-bridge serve`); this link is for port {port}",
            data_dir.root().display()
        );
    }
    if !open {
        return Ok(0);
    }
    let launcher = launcher_file(data_dir);
    write_secret(&launcher, launcher_html(&link).as_bytes())
        .with_context(|| format!("writing {}", launcher.display()))?;
    match open_in_browser(&launcher) {
        Ok(how) => {
            eprintln!("office-bridge: opened the monitor in your browser ({how})");
            Ok(0)
        }
        Err(e) => {
            eprintln!(
                "office-bridge: could not open a browser ({e}); open the link above yourself"
            );
            Ok(1)
        }
    }
}

/// The OS's "open this with the default application" command.
fn opener() -> (&'static str, &'static [&'static str]) {
    if cfg!(target_os = "windows") {
        // `start` is a cmd built-in; its first quoted argument is a window title.
        ("cmd", &["/C", "start", ""])
    } else if cfg!(target_os = "macos") {
        ("open", &[])
    } else {
        ("xdg-open", &[])
    }
}

fn open_in_browser(file: &Path) -> Result<String> {
    let (program, args) = opener();
    let status = Command::new(program)
        .args(args)
        .arg(file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .with_context(|| format!("{program} could not be started"))?;
    if status.success() {
        Ok(program.to_string())
    } else {
        anyhow::bail!("{program} failed ({status})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_carries_the_token_in_the_fragment_only() {
        let u = url(29443, "00ff");
        assert_eq!(u, "https://localhost:29443/monitor/#token=00ff");
        let (before, fragment) = u.split_once('#').unwrap();
        assert!(
            !before.contains("00ff"),
            "the token is never in the part sent to the server"
        );
        assert_eq!(fragment, "token=00ff");
    }

    #[test]
    fn launcher_forwards_to_the_link() {
        let html = launcher_html("https://localhost:1/monitor/#token=ab");
        assert!(html.contains("content=\"0;url=https://localhost:1/monitor/#token=ab\""));
        assert!(html.contains("href=\"https://localhost:1/monitor/#token=ab\""));
        assert!(html.contains("no-referrer"));
        assert_eq!(escape_html("a\"<&>"), "a&quot;&lt;&amp;&gt;");
    }

    #[test]
    fn port_and_token_come_from_the_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::at(dir.path());
        data.ensure().unwrap();
        let token = Token::load_or_create(&data.desktop_token_file()).unwrap();
        std::fs::write(data.run_file(), r#"{"port":31234,"pid":1,"version":"0"}"#).unwrap();
        let run = read_run_file(&data.run_file());
        assert_eq!(
            url(choose_port(None, run.as_ref()), token.expose()),
            format!("https://localhost:31234/monitor/#token={}", token.expose())
        );
        assert_eq!(choose_port(Some(9), run.as_ref()), 9, "--port wins");
        assert_eq!(choose_port(None, None), crate::server::DEFAULT_PORT);
    }
}
