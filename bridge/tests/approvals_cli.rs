//! The desktop's own credential as a person uses it: `office-bridge approvals` listing and
//! answering held writes, `token … --desktop`, and `monitor`'s link, with the built binary
//! against a real bridge over TLS.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use common::TestBridge;
use common::office::{ClientImpl, Desk, call, call_ok, reformatted_table};
use serde_json::{Value, json};

/// The flow of the held write: the revenue table read in Excel, written reformatted into
/// slide 3 of the deck.
const FLOW_LINE: &str = "9 values from Q3.xlsx > Revenue!B2:D4 moved into Board.pptx slide 3";

/// The built binary with `--data-dir`, as a person runs it.
fn office_bridge(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_office-bridge"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("OFFICE_BRIDGE_DATA_DIR")
        .output()
        .expect("the binary runs")
}

/// Runs the binary off the async runtime's threads (it blocks until the bridge answers,
/// and the bridge runs on this runtime).
async fn run(data_dir: &Path, args: &[&str]) -> Output {
    let data_dir = data_dir.to_path_buf();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        office_bridge(&data_dir, &args)
    })
    .await
    .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// What `office-bridge serve` writes for local tools (the harness runs the library
/// server, not the binary, so the test writes it).
fn write_run_file(bridge: &TestBridge) {
    let body = json!({"port": bridge.port(), "pid": std::process::id(), "version": env!("CARGO_PKG_VERSION")});
    std::fs::write(bridge.data_dir.path().join("bridge.json"), body.to_string()).unwrap();
}

async fn bridge_with_policy(policy: Value) -> TestBridge {
    let dir = tempfile::tempdir().unwrap();
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
async fn approvals_lists_and_answers_with_the_desktop_token() {
    let bridge = bridge_with_policy(json!({"flows": {"default": "ask"}})).await;
    let data = bridge.data_dir.path().to_path_buf();
    let o = run(&data, &["approvals"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "Nothing is waiting for your approval.\n");

    let mut desk = Desk::open(&bridge, ClientImpl::default()).await;
    let c = desk.client.clone();
    let write = tokio::spawn(async move { call(&c, "ppt_add_table", reformatted_table()).await });
    let request = desk.ppt.next("approval.request").await;
    let id = request["approval_id"].as_str().unwrap().to_string();

    // The list names it, says what it holds and how to answer it on this bridge.
    let o = run(&data, &["approvals"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let listed = stdout(&o);
    let command = format!("office-bridge --data-dir {} approvals", data.display());
    assert!(
        listed.starts_with(&format!("{id}: {FLOW_LINE} (denied in ")),
        "{listed}"
    );
    assert!(
        listed.contains(&format!(
            "\n  {command} allow {id}\n  {command} deny {id}\n"
        )),
        "{listed}"
    );
    let o = run(&data, &["approvals", "--json"]).await;
    let listed: Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    assert_eq!(listed["approvals"][0]["approval_id"], id.as_str());

    // Allowed for the document: written, recorded as answered on the desktop, and the
    // next transfer of the same kind is not held.
    let o = run(&data, &["approvals", "allow", &id, "--always"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o).trim(),
        format!("Allowed {id}, and from now on for the same source into the same document.")
    );
    let (err, text, result) = write.await.unwrap();
    assert!(!err, "{text}");
    assert_eq!(result["approvals"][0]["allowed_by"], "desktop", "{result}");
    assert_eq!(desk.tables_written(), 1);
    call_ok(&desk.client, "ppt_add_table", reformatted_table()).await;
    assert_eq!(desk.tables_written(), 2);

    // Answering again: nothing to answer, exit 1.
    let o = run(&data, &["approvals", "deny", &id]).await;
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stderr(&o).contains(&format!("approval {id} was already answered, expired")),
        "{}",
        stderr(&o)
    );
    // Not an id at all: said, nothing sent.
    let o = run(&data, &["approvals", "allow", "../status"]).await;
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("is not an approval id"),
        "{}",
        stderr(&o)
    );

    // A deletion (held by default), denied once: nothing deleted.
    let c = desk.client.clone();
    let delete =
        tokio::spawn(async move { call(&c, "ppt_delete_slide", json!({"slide": 1})).await });
    let request = desk.ppt.next("approval.request").await;
    let id = request["approval_id"].as_str().unwrap().to_string();
    let o = run(&data, &["approvals", "deny", &id]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), format!("Denied {id}."));
    let (err, text, _) = delete.await.unwrap();
    assert!(err && text.starts_with("Not deleted"), "{text}");
    assert!(
        !desk
            .writes
            .lock()
            .unwrap()
            .iter()
            .any(|(m, _)| m == "powerpoint.deleteSlide")
    );
    bridge.assert_audit_intact().await;
    bridge.stop().await;
}

#[tokio::test]
#[cfg_attr(
    windows,
    ignore = "needs an administrator's policy file: Wine reports every file as owned by the Wine user, so none is trusted"
)]
async fn approvals_says_why_it_cannot_answer() {
    let bridge = bridge_with_policy(json!({"flows": {"default": "ask"}})).await;
    let port = bridge.port().to_string();
    // Another data directory trusting the same CA: its desktop token is not this bridge's.
    let other = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(other.path().join("tls")).unwrap();
    std::fs::copy(
        bridge.data_dir.path().join("tls/ca.pem"),
        other.path().join("tls/ca.pem"),
    )
    .unwrap();
    let o = run(other.path(), &["approvals", "--port", &port]).await;
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("refused the desktop token") && stderr(&o).contains("HTTP 401"),
        "{}",
        stderr(&o)
    );

    // The bridge gone: said so.
    let dir = bridge.stop().await;
    let o = run(dir.path(), &["approvals"]).await;
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let said = stderr(&o);
    assert!(
        said.contains(&format!("no bridge answered at https://localhost:{port}"))
            && said.contains("is it running?"),
        "{said}"
    );
    // A data directory no bridge ever used.
    let empty = tempfile::tempdir().unwrap();
    let o = run(empty.path(), &["approvals"]).await;
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no bridge has run with the data directory"),
        "{}",
        stderr(&o)
    );
}

#[tokio::test]
async fn token_rotate_desktop_takes_effect_live() {
    let bridge = bridge_with_policy(json!({})).await;
    let data = bridge.data_dir.path().to_path_buf();
    let old = bridge.desktop_bearer();
    let status = |auth: String| {
        let bridge = &bridge;
        async move {
            bridge
                .get("/v1/approvals", &[("authorization", &auth)])
                .await
                .status
        }
    };
    assert_eq!(status(old.clone()).await, 200);
    // Modification times must differ for the bridge to notice (as an editor's would).
    tokio::time::sleep(Duration::from_millis(20)).await;
    let o = run(&data, &["token", "rotate", "--desktop"]).await;
    assert!(o.status.success(), "{}", stderr(&o));
    let new = stdout(&run(&data, &["token", "show", "--desktop"]).await)
        .trim()
        .to_string();
    assert_ne!(format!("Bearer {new}"), old);
    assert_eq!(status(old).await, 401, "the old desktop token is refused");
    assert_eq!(status(format!("Bearer {new}")).await, 200);
    assert_eq!(
        status(bridge.bearer()).await,
        200,
        "the agent's token is untouched"
    );
    // The new one answers approvals (none by that id: 404 means it got through).
    let r = bridge
        .https_client()
        .post(format!(
            "https://localhost:{}/v1/approvals/apr_0123456789abcdef0123456789abcdef",
            bridge.port()
        ))
        .bearer_auth(&new)
        .header("content-type", "application/json")
        .body(r#"{"decision":"deny"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // The monitor's link carries the desktop token, never the agent's.
    let o = run(&data, &["monitor"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o).trim(),
        format!("https://localhost:{}/monitor/#token={new}", bridge.port())
    );
    assert!(!stdout(&o).contains(&bridge.token));
    #[cfg(unix)]
    for file in ["token", "desktop-token"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join(file))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{file}");
    }
    bridge.stop().await;
}
