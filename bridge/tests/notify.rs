//! `office-bridge notify --print` as a person or a script runs it: the built binary follows
//! a real bridge's event stream over TLS and prints one line per transfer and approval.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use std::time::Duration;

use common::office::{ClientImpl, Desk, call, call_ok, reformatted_table};
use common::{TestBridge, WAIT};
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// The flow every test makes: the revenue table read in Excel, written reformatted
/// ("$1.23M") into slide 3 of the deck.
const FLOW_LINE: &str = "9 values from Q3.xlsx > Revenue!B2:D4 moved into Board.pptx slide 3";

/// The built binary running `notify --print` against a data directory, its stdout and
/// stderr read line by line. Killed when dropped.
struct Notifier {
    child: Child,
    stdout: mpsc::UnboundedReceiver<String>,
    stderr: mpsc::UnboundedReceiver<String>,
    seen_stderr: Vec<String>,
}

fn lines_of(reader: impl std::io::Read + Send + 'static) -> mpsc::UnboundedReceiver<String> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in BufReader::new(reader).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

impl Notifier {
    fn start(data_dir: &Path) -> Notifier {
        Notifier::start_with(data_dir, &[])
    }

    /// With more arguments after `notify --print`.
    fn start_with(data_dir: &Path, extra: &[&str]) -> Notifier {
        let mut child = Command::new(env!("CARGO_BIN_EXE_office-bridge"))
            .arg("--data-dir")
            .arg(data_dir)
            .args(["notify", "--print"])
            .args(extra)
            .env_remove("RUST_LOG")
            .env_remove("OFFICE_BRIDGE_DATA_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary runs");
        let stdout = lines_of(child.stdout.take().unwrap());
        let stderr = lines_of(child.stderr.take().unwrap());
        Notifier {
            child,
            stdout,
            stderr,
            seen_stderr: Vec::new(),
        }
    }

    /// Waits for a stderr line containing `text`.
    async fn stderr_says(&mut self, text: &str) {
        let found = tokio::time::timeout(WAIT, async {
            while let Some(line) = self.stderr.recv().await {
                self.seen_stderr.push(line.clone());
                if line.contains(text) {
                    return true;
                }
            }
            false
        })
        .await;
        assert!(
            matches!(found, Ok(true)),
            "no {text:?} on stderr; it said {:?}",
            self.seen_stderr
        );
    }

    /// The next line on stdout.
    async fn line(&mut self) -> String {
        match tokio::time::timeout(WAIT, self.stdout.recv()).await {
            Ok(Some(line)) => line,
            other => {
                while let Ok(l) = self.stderr.try_recv() {
                    self.seen_stderr.push(l);
                }
                panic!(
                    "no line on stdout ({other:?}); stderr: {:?}",
                    self.seen_stderr
                )
            }
        }
    }

    /// Nothing more on stdout for a while.
    async fn quiet_for(&mut self, wait: Duration) {
        if let Ok(Some(line)) = tokio::time::timeout(wait, self.stdout.recv()).await {
            panic!("unexpected line {line:?}");
        }
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What `office-bridge serve` writes for local tools (the harness runs the library
/// server, not the binary, so the test writes it).
fn write_run_file(bridge: &TestBridge) {
    let body = json!({"port": bridge.port(), "pid": std::process::id(), "version": env!("CARGO_PKG_VERSION")});
    std::fs::write(bridge.data_dir.path().join("bridge.json"), body.to_string()).unwrap();
}

async fn bridge_with_policy(dir: tempfile::TempDir, policy: Value) -> TestBridge {
    std::fs::write(dir.path().join("policy.json"), policy.to_string()).unwrap();
    let bridge =
        TestBridge::start_configured(dir, |o| o.approval_timeout = Some(Duration::from_secs(60)))
            .await;
    write_run_file(&bridge);
    bridge
}

#[tokio::test]
#[cfg_attr(
    windows,
    ignore = "needs an administrator's policy file: Wine reports every file as owned by the Wine user, so none is trusted"
)]
async fn prints_the_line_for_a_flow_and_leaves_out_the_read() {
    let dir = tempfile::tempdir().unwrap();
    let bridge = bridge_with_policy(dir, json!({"flows": {"default": "notify"}})).await;
    let mut notifier = Notifier::start(bridge.data_dir.path());
    notifier
        .stderr_says(&format!(
            "connected to https://localhost:{}/v1/events",
            bridge.port()
        ))
        .await;
    let s = Desk::open(&bridge, ClientImpl::default()).await;
    let result = call_ok(&s.client, "ppt_add_table", reformatted_table()).await;
    assert_eq!(result["flows"][0]["line"], FLOW_LINE);
    // The read came first but is not shown: the flow's line is the first and only one.
    assert_eq!(notifier.line().await, FLOW_LINE);
    notifier.quiet_for(Duration::from_millis(500)).await;
    drop(notifier);
    bridge.stop().await;
}

/// One figure of the read table, rounded, in a sentence: a weak match (possible), which
/// never blocks and is not a desktop notification unless `--possible` asks for it.
#[tokio::test]
#[cfg_attr(
    windows,
    ignore = "needs an administrator's policy file: Wine reports every file as owned by the Wine user, so none is trusted"
)]
async fn possible_flows_only_with_the_possible_flag() {
    let dir = tempfile::tempdir().unwrap();
    let bridge = bridge_with_policy(dir, json!({"flows": {"default": "notify"}})).await;
    let mut quiet = Notifier::start(bridge.data_dir.path());
    let mut told = Notifier::start_with(bridge.data_dir.path(), &["--possible"]);
    quiet.stderr_says("connected to").await;
    told.stderr_says("connected to").await;
    let s = Desk::open(&bridge, ClientImpl::default()).await;
    let result = call_ok(
        &s.client,
        "ppt_add_text",
        json!({"slide": 2, "text": "EMEA closed Q2 at about $1.5M."}),
    )
    .await;
    let flow = &result["flows"][0];
    assert_eq!(flow["strength"], "possible", "{result:#}");
    assert_eq!(
        told.line().await,
        format!("possibly {}", flow["line"].as_str().unwrap())
    );
    // Printed by now had it been shown (told's line came after the coalescing window):
    // the confirmed flow that follows is the first line the default notifier prints.
    call_ok(&s.client, "ppt_add_table", reformatted_table()).await;
    assert_eq!(quiet.line().await, FLOW_LINE);
    drop((quiet, told));
    bridge.stop().await;
}

/// The approval's notice carries the commands that answer it; running the printed allow
/// line (as a person would paste it) releases the write.
#[tokio::test]
#[cfg_attr(
    windows,
    ignore = "needs an administrator's policy file: Wine reports every file as owned by the Wine user, so none is trusted"
)]
async fn prints_approval_asked_with_the_commands_that_answer_it_and_the_answer() {
    let dir = tempfile::tempdir().unwrap();
    let bridge = bridge_with_policy(dir, json!({"flows": {"default": "ask"}})).await;
    let mut notifier = Notifier::start(bridge.data_dir.path());
    notifier.stderr_says("connected to").await;
    let mut s = Desk::open(&bridge, ClientImpl::default()).await;
    let client = s.client.clone();
    let write =
        tokio::spawn(async move { call(&client, "ppt_add_table", reformatted_table()).await });
    // Shown at once, not after the coalescing window; the held flow itself is not shown.
    let asked = tokio::time::timeout(Duration::from_millis(1500), notifier.line())
        .await
        .expect("the approval is not delayed");
    let prefix = format!("Approval needed: {FLOW_LINE} (answer within ");
    let seconds: u64 = asked
        .strip_prefix(&prefix)
        .and_then(|rest| rest.strip_suffix(" s in the pane, on the monitor, or with one of:)"))
        .unwrap_or_else(|| panic!("{asked}"))
        .parse()
        .unwrap();
    assert!((55..=60).contains(&seconds), "{asked}");
    let request = s.ppt.next("approval.request").await;
    let id = request["approval_id"].as_str().unwrap();
    // This notifier was started with --data-dir: the commands say it too.
    let command = format!(
        "office-bridge --data-dir {} approvals",
        bridge.data_dir.path().display()
    );
    let allow = notifier.line().await;
    assert_eq!(allow, format!("  {command} allow {id}"));
    assert_eq!(notifier.line().await, format!("  {command} deny {id}"));
    // Run the printed line: the write goes through, answered on the desktop.
    let words: Vec<String> = allow.split_whitespace().map(str::to_string).collect();
    assert_eq!(words[0], "office-bridge");
    let ran = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_office-bridge"))
            .args(&words[1..])
            .env_remove("OFFICE_BRIDGE_DATA_DIR")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    let (err, text, result) = write.await.unwrap();
    assert!(!err, "{text}");
    assert_eq!(result["approvals"][0]["allowed_by"], "desktop", "{result}");
    assert_eq!(notifier.line().await, format!("Allowed: {FLOW_LINE}"));
    notifier.quiet_for(Duration::from_millis(500)).await;
    drop(notifier);
    bridge.stop().await;
}

/// notify reads the stream with the desktop token: pointed at a bridge (trusting its CA)
/// from a data directory whose desktop token is not that bridge's, it is refused and says
/// which file it presented.
#[tokio::test]
async fn follows_the_stream_with_the_desktop_token() {
    let dir = tempfile::tempdir().unwrap();
    let bridge = bridge_with_policy(dir, json!({})).await;
    let other = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(other.path().join("tls")).unwrap();
    std::fs::copy(
        bridge.data_dir.path().join("tls/ca.pem"),
        other.path().join("tls/ca.pem"),
    )
    .unwrap();
    // Its agent token is the bridge's: that alone does not get it in.
    std::fs::copy(
        bridge.data_dir.path().join("token"),
        other.path().join("token"),
    )
    .unwrap();
    let port = bridge.port().to_string();
    let mut refused = Notifier::start_with(other.path(), &["--port", &port]);
    refused
        .stderr_says(&format!(
            "refused the desktop token in {} (HTTP 401)",
            other.path().join("desktop-token").display()
        ))
        .await;
    // With the bridge's desktop token it connects.
    std::fs::copy(
        bridge.data_dir.path().join("desktop-token"),
        other.path().join("desktop-token"),
    )
    .unwrap();
    refused.stderr_says("connected to").await;
    drop(refused);
    bridge.stop().await;
}

#[tokio::test]
#[cfg_attr(
    windows,
    ignore = "needs an administrator's policy file: Wine reports every file as owned by the Wine user, so none is trusted"
)]
async fn reconnects_when_the_bridge_restarts_on_another_port() {
    let dir = tempfile::tempdir().unwrap();
    let first = bridge_with_policy(dir, json!({"flows": {"default": "notify"}})).await;
    let mut notifier = Notifier::start(first.data_dir.path());
    notifier
        .stderr_says(&format!(
            "connected to https://localhost:{}/v1/events",
            first.port()
        ))
        .await;
    let dir = first.stop().await;
    notifier.stderr_says("lost the event stream").await;
    let second = TestBridge::start_configured(dir, |_| {}).await;
    write_run_file(&second);
    notifier
        .stderr_says(&format!(
            "connected to https://localhost:{}/v1/events",
            second.port()
        ))
        .await;
    let s = Desk::open(&second, ClientImpl::default()).await;
    call_ok(&s.client, "ppt_add_table", reformatted_table()).await;
    assert_eq!(notifier.line().await, FLOW_LINE);
    drop(notifier);
    second.stop().await;
}
