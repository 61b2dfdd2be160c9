//! The administrator's live toggles: editing the policy file while panes and an MCP client
//! are connected changes what they may do within a second, with no restart.

mod common;

use std::time::Duration;

use common::office::{ClientImpl, Desk, SimPane, call, call_ok, reformatted_table, workbook};
use common::{TestBridge, WAIT};
use office_bridge::events::BridgeEvent;
use serde_json::{Value, json};
use tokio::sync::mpsc;

async fn bridge_with_policy(policy: &str) -> TestBridge {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("policy.json"), policy).unwrap();
    TestBridge::start_configured(dir, |o| o.approval_timeout = Some(WAIT)).await
}

fn write_policy(bridge: &TestBridge, policy: &str) {
    // Replace, as deployment tools do: write a temporary file and rename it over.
    let dir = bridge.data_dir.path();
    let tmp = dir.join(".policy.json.tmp");
    std::fs::write(&tmp, policy).unwrap();
    std::fs::rename(&tmp, dir.join("policy.json")).unwrap();
}

/// Waits for the next `policy_changed` event.
async fn next_policy_event(
    events: &mut tokio::sync::broadcast::Receiver<BridgeEvent>,
) -> (Value, Option<String>) {
    loop {
        let e = tokio::time::timeout(WAIT, events.recv())
            .await
            .expect("policy_changed within the wait")
            .unwrap();
        if let BridgeEvent::PolicyChanged { policy, error, .. } = e {
            return (policy, error);
        }
    }
}

async fn tool_names(client: &common::office::Client) -> Vec<String> {
    client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect()
}

#[tokio::test]
#[cfg_attr(
    windows,
    ignore = "needs an administrator's policy file: Wine reports every file as owned by the Wine user, so none is trusted"
)]
async fn disabling_and_reenabling_each_addin_applies_live() {
    for (app, name, tool, args) in [
        (
            "excel",
            "Q3.xlsx",
            "excel_read_range",
            json!({"sheet": "Revenue", "range": "A1:D4"}),
        ),
        ("powerpoint", "Board.pptx", "ppt_list_slides", json!({})),
    ] {
        let bridge = bridge_with_policy("{}").await;
        let (changed_tx, mut changed) = mpsc::unbounded_channel();
        let client = bridge
            .mcp_with(ClientImpl {
                tools_changed: Some(changed_tx),
                ..ClientImpl::default()
            })
            .await;
        let mut events = bridge.state.events.subscribe();
        let mut pane = bridge.pane(app, name).await;
        assert!(tool_names(&client).await.contains(&tool.to_string()));

        let started = std::time::Instant::now();
        write_policy(
            &bridge,
            &format!(r#"{{"addins": {{"{app}": {{"enabled": false}}}}}}"#),
        );
        // The pane is told, then closed with 4003.
        let told = loop {
            let m = pane
                .next_json()
                .await
                .expect("policy.changed before the close");
            if m["method"] == "policy.changed" {
                break m;
            }
        };
        assert_eq!(told["params"]["policy"]["addin_enabled"], json!(false));
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "applied in {:?}",
            started.elapsed()
        );
        assert_eq!(pane.close_code().await, Some(4003));
        let (policy, error) = next_policy_event(&mut events).await;
        assert_eq!(policy["addins"][app]["enabled"], json!(false));
        assert!(error.is_none());
        // The tool list changed and no longer has the app's tools; calling one anyway is a
        // clear error.
        tokio::time::timeout(WAIT, changed.recv())
            .await
            .expect("tools/list_changed within the wait");
        let names = tool_names(&client).await;
        assert!(!names.contains(&tool.to_string()), "{names:?}");
        assert!(names.contains(&"office_status".to_string()));
        let (err, text, _) = call(&client, tool, args.clone()).await;
        assert!(
            err && text.contains("disabled by your administrator"),
            "{text}"
        );
        // New registrations are refused.
        let mut again = bridge
            .ws(Some(&bridge.origin()))
            .await
            .map(common::Pane::new)
            .unwrap();
        let refused = again
            .call(
                "register",
                json!({"app": app, "document": {"name": name, "url": ""}}),
            )
            .await
            .unwrap_err();
        assert_eq!(refused["code"], json!(-32002));

        // Re-enabled: all of it comes back.
        write_policy(&bridge, "{}");
        tokio::time::timeout(WAIT, changed.recv())
            .await
            .expect("tools/list_changed again");
        assert!(tool_names(&client).await.contains(&tool.to_string()));
        let office = match app {
            "excel" => workbook(),
            _ => common::office::deck(Default::default()),
        };
        let _pane = SimPane::open(&bridge, app, name, office).await;
        let (err, text, _) = call(&client, tool, args).await;
        assert!(!err, "{app}: {text}");
    }
}

#[tokio::test]
#[cfg_attr(
    windows,
    ignore = "needs an administrator's policy file: Wine reports every file as owned by the Wine user, so none is trusted"
)]
async fn a_broken_policy_file_keeps_the_last_good_policy() {
    let bridge = bridge_with_policy(r#"{"addins": {"excel": {"enabled": false}}}"#).await;
    let client = bridge.mcp().await;
    let mut events = bridge.state.events.subscribe();
    write_policy(&bridge, r#"{"addins": {"excel": {"enabled": tru"#);
    let (policy, error) = next_policy_event(&mut events).await;
    let error = error.expect("the error is announced");
    assert!(error.contains("policy.json"), "{error}");
    assert_eq!(
        policy["addins"]["excel"]["enabled"],
        json!(false),
        "last good policy"
    );
    let (err, text, _) = call(&client, "excel_list_sheets", json!({})).await;
    assert!(
        err && text.contains("disabled by your administrator"),
        "{text}"
    );
    // The desktop API says which file and why.
    let http = bridge.https_client();
    let status: Value = http
        .get(format!("https://localhost:{}/v1/policy", bridge.port()))
        .bearer_auth(&bridge.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(status["error"].as_str().unwrap().contains("policy.json"));
    assert_eq!(status["policy"]["addins"]["excel"]["enabled"], json!(false));
    // An unknown key is an error too (a misspelt key must not silently weaken the policy).
    write_policy(&bridge, r#"{"adins": {}}"#);
    let (_, error) = next_policy_event(&mut events).await;
    assert!(error.unwrap().contains("adins"));
    // Removing the file means defaults.
    std::fs::remove_file(bridge.data_dir.path().join("policy.json")).unwrap();
    let (policy, error) = next_policy_event(&mut events).await;
    assert!(error.is_none());
    assert_eq!(policy["addins"]["excel"]["enabled"], json!(true));
}

#[tokio::test]
#[cfg_attr(
    windows,
    ignore = "needs an administrator's policy file: Wine reports every file as owned by the Wine user, so none is trusted"
)]
async fn a_policy_file_broken_while_the_bridge_was_stopped_keeps_the_last_good_policy() {
    let bridge = bridge_with_policy(r#"{"flows": {"enabled": false}}"#).await;
    let dir = bridge.stop().await;
    std::fs::write(
        dir.path().join("policy.json"),
        r#"{"flows": {"enabled": tru"#,
    )
    .unwrap();
    let bridge = TestBridge::start_configured(dir, |_| {}).await;
    let policy = bridge.state.admin.borrow().clone();
    assert!(
        policy
            .error
            .as_deref()
            .is_some_and(|e| e.contains("policy.json")),
        "{policy:?}"
    );
    assert!(
        !policy.policy.flows.enabled,
        "the last good policy, not the defaults"
    );
    assert!(!bridge.state.pane_policy.borrow().flows_enabled);
    // Transfers stay off for the agent too.
    let desk = Desk::open(&bridge, ClientImpl::default()).await;
    let (err, text, _) = call(&desk.client, "ppt_add_table", reformatted_table()).await;
    assert!(
        err && text.contains("cross-app transfers are switched off"),
        "{text}"
    );
}

#[tokio::test]
#[cfg_attr(
    windows,
    ignore = "needs an administrator's policy file: Wine reports every file as owned by the Wine user, so none is trusted"
)]
async fn a_standing_choice_never_loosens_an_administrators_block() {
    let bridge = bridge_with_policy(r#"{"flows": {"default": "ask"}}"#).await;
    let mut desk = Desk::open(&bridge, ClientImpl::default()).await;
    let (client, table) = (desk.client.clone(), reformatted_table());
    let ppt = &mut desk.ppt;
    // The person says "Always for this deck".
    let c = client.clone();
    let t = table.clone();
    let first = tokio::spawn(async move { call(&c, "ppt_add_table", t).await });
    let request = ppt.next("approval.request").await;
    ppt.call(
        "approval.decide",
        json!({"approval_id": request["approval_id"], "decision": "allow", "scope": "document"}),
    )
    .await
    .unwrap();
    assert!(!first.await.unwrap().0);
    // From now on that pair is no longer held...
    let (err, text, result) = call(&client, "ppt_add_table", table.clone()).await;
    assert!(!err, "{text}");
    assert_eq!(result["flows"][0]["decision"], "notify");
    // ...until the administrator blocks transfers: the standing choice does not lift it.
    let mut events = bridge.state.events.subscribe();
    write_policy(&bridge, r#"{"flows": {"default": "block"}}"#);
    next_policy_event(&mut events).await;
    let (err, text, _) = call(&client, "ppt_add_table", table).await;
    assert!(err, "{text}");
    assert!(text.starts_with("Blocked"), "{text}");
    assert_eq!(desk.tables_written(), 2);
    bridge.assert_audit_intact().await;
}

#[tokio::test]
#[cfg_attr(
    windows,
    ignore = "needs an administrator's policy file: Wine reports every file as owned by the Wine user, so none is trusted"
)]
async fn an_administrator_can_keep_approvals_from_the_agents_client() {
    use std::sync::atomic::Ordering;
    let bridge =
        bridge_with_policy(r#"{"flows": {"default": "ask"}, "agent_client_may_approve": false}"#)
            .await;
    // A client that would allow everything it is asked, at once.
    let handler = ClientImpl {
        elicitation: Some(true),
        ..ClientImpl::default()
    };
    let asked = handler.elicitations.clone();
    let mut desk = Desk::open(&bridge, handler).await;
    let (client, table) = (desk.client.clone(), reformatted_table());
    let ppt = &mut desk.ppt;
    // Held for the pane: the client is not asked, and only the deck's pane answers.
    let c = client.clone();
    let t = table.clone();
    let held = tokio::spawn(async move { call(&c, "ppt_add_table", t).await });
    let request = ppt.next("approval.request").await;
    ppt.call(
        "approval.decide",
        json!({"approval_id": request["approval_id"], "decision": "allow", "scope": "once"}),
    )
    .await
    .unwrap();
    let (err, text, result) = held.await.unwrap();
    assert!(!err, "{text}");
    assert_eq!(result["approvals"][0]["allowed_by"], "pane", "{result}");
    assert_eq!(asked.load(Ordering::SeqCst), 0, "the client was asked");
    // Switched back on, live: the client's answer counts again.
    let mut events = bridge.state.events.subscribe();
    write_policy(&bridge, r#"{"flows": {"default": "ask"}}"#);
    next_policy_event(&mut events).await;
    let result = call_ok(&client, "ppt_add_table", table).await;
    assert_eq!(
        result["approvals"][0]["allowed_by"], "elicitation",
        "{result}"
    );
    assert_eq!(asked.load(Ordering::SeqCst), 1);
    assert_eq!(desk.tables_written(), 2);
}

/// The reported defect: any local user could replace the administrator's policy by
/// starting the bridge with `OFFICE_BRIDGE_POLICY` pointing at a file of their own that
/// allows everything; PowerPoint and transfers came back on, with no warning.
///
/// Reproduced with the real binary run as `nobody`, with an administrator's policy
/// (PowerPoint off, transfers off) at the real OS path /etc/office-bridge/policy.json.
/// The test never writes to the /etc/office-bridge other tests and programs see: the
/// bridge runs in a private mount namespace (`unshare --mount`) where a temporary,
/// root-owned folder is bind-mounted over it (an empty /etc/office-bridge is created first
/// if the machine has none, as a mount point). The bridge refuses connections from other OS
/// users, so it is asked as `nobody` too (curl with the bridge's CA). Needs root to mount
/// and to switch users: CI runs as root and fails rather than skip.
#[cfg(target_os = "linux")]
#[test]
#[cfg_attr(
    windows,
    ignore = "needs an administrator's policy file: Wine reports every file as owned by the Wine user, so none is trusted"
)]
fn a_users_override_does_not_replace_the_administrators_policy() {
    use std::io::BufRead;
    use std::os::unix::fs::PermissionsExt;
    use std::process::{Command, Stdio};
    use std::time::Instant;

    const NOBODY: u32 = 65534;
    const OS_FOLDER: &str = "/etc/office-bridge";
    // /proc/self is owned by the process's effective user.
    let own_uid = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self").unwrap());
    if own_uid != 0 {
        assert!(
            std::env::var_os("CI").is_none(),
            "this test must run as root in CI to mount a private /etc/office-bridge and run the bridge as nobody"
        );
        eprintln!(
            "NOT RUN: a_users_override_does_not_replace_the_administrators_policy needs root"
        );
        return;
    }
    let as_nobody = |program: &str| {
        let mut c = Command::new("setpriv");
        c.args([
            &format!("--reuid={NOBODY}"),
            &format!("--regid={NOBODY}"),
            "--clear-groups",
            program,
        ]);
        c
    };
    let mode = |path: &std::path::Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    let root = tempfile::tempdir().unwrap();
    mode(root.path(), 0o755);
    // The administrator's folder and policy, root's, mode 0644.
    let etc = root.path().join("etc");
    std::fs::create_dir(&etc).unwrap();
    mode(&etc, 0o755);
    std::fs::write(
        etc.join("policy.json"),
        r#"{"addins": {"powerpoint": {"enabled": false}}, "flows": {"enabled": false}}"#,
    )
    .unwrap();
    mode(&etc.join("policy.json"), 0o644);
    // The user's home: their data dir and their own allow-everything policy.
    let home = root.path().join("home");
    let files = home.join("files");
    std::fs::create_dir_all(&files).unwrap();
    let mine = home.join("mine.json");
    std::fs::write(
        &mine,
        r#"{"addins": {"excel": {"enabled": true}, "powerpoint": {"enabled": true}}, "flows": {"enabled": true, "default": "allow", "confidential": "allow"}}"#,
    )
    .unwrap();
    for p in [&home, &files, &mine] {
        std::os::unix::fs::chown(p, Some(NOBODY), Some(NOBODY)).unwrap();
    }
    let data = home.join("data");
    // nobody must be able to run the binary; copy it where they can if not.
    let mut bin = std::path::PathBuf::from(env!("CARGO_BIN_EXE_office-bridge"));
    let runs = as_nobody(bin.to_str().unwrap())
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !runs {
        let copy = root.path().join("office-bridge");
        std::fs::copy(&bin, &copy).unwrap();
        mode(&copy, 0o755);
        bin = copy;
    }
    // The mount point. Empty, so a bridge outside the namespace sees no policy either way.
    std::fs::create_dir_all(OS_FOLDER).expect("creating the mount point /etc/office-bridge");

    let log_path = root.path().join("bridge.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let script = r#"mount --make-rprivate / && mount --bind "$1" /etc/office-bridge && shift && exec setpriv --reuid=65534 --regid=65534 --clear-groups "$@""#;
    let mut child = Command::new("unshare")
        .args(["--mount", "sh", "-c", script, "sh"])
        .arg(&etc)
        .arg(&bin)
        .arg("--data-dir")
        .arg(&data)
        .args(["serve", "--port", "0", "--allow-dir"])
        .arg(&files)
        .env("OFFICE_BRIDGE_POLICY", &mine)
        .env("HOME", &home)
        .env_remove("OFFICE_BRIDGE_DATA_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("unshare runs (util-linux)");
    // The whole banner, up to its last line.
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut banner = String::new();
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            banner.push_str(&line);
            banner.push('\n');
            if line.contains("Stop with Ctrl-C.") {
                let _ = tx.send(banner.clone());
            }
        }
    });
    let banner = match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(b) => b,
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the bridge did not start as nobody: {}",
                std::fs::read_to_string(&log_path).unwrap_or_default()
            );
        }
    };
    let port: u16 = banner
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("URL:")?
                .trim()
                .strip_prefix("https://localhost:")?
                .trim_end_matches('/')
                .parse()
                .ok()
        })
        .expect("the banner has the URL");
    let token = std::fs::read_to_string(data.join("token")).unwrap();
    let ca = data.join("tls").join("ca.pem");
    let get = |path: &str| -> Value {
        let out = as_nobody("curl")
            .args(["-sS", "--max-time", "10", "--cacert"])
            .arg(&ca)
            .arg("-H")
            .arg(format!("Authorization: Bearer {}", token.trim()))
            .arg(format!("https://localhost:{port}{path}"))
            .output()
            .expect("curl runs");
        assert!(
            out.status.success(),
            "GET {path}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let status = get("/v1/status");
    let policy = get("/v1/policy");
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(15);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    let log = std::fs::read_to_string(&log_path).unwrap();

    // The administrator's policy is in force...
    assert_eq!(
        status["policy"]["powerpoint_enabled"],
        json!(false),
        "{status}"
    );
    assert_eq!(status["policy"]["flows_enabled"], json!(false), "{status}");
    assert_eq!(
        status["policy_file"]["path"],
        json!("/etc/office-bridge/policy.json"),
        "{status}"
    );
    assert_eq!(
        policy["policy"]["addins"]["powerpoint"]["enabled"],
        json!(false)
    );
    assert_eq!(policy["policy"]["flows"]["enabled"], json!(false));
    // ...and the user's file is ignored, saying why: in /v1/status, /v1/policy, the banner
    // and the log.
    let mine = mine.display().to_string();
    let ignored = &status["policy_file"]["ignored"];
    assert_eq!(ignored[0]["path"], json!(mine), "{status}");
    let why = ignored[0]["why"].as_str().unwrap();
    assert!(
        why.contains("OFFICE_BRIDGE_POLICY is honoured only for a bridge running as root"),
        "{why}"
    );
    assert_eq!(policy["ignored"], *ignored);
    let line = banner
        .lines()
        .find(|l| l.contains("IGNORED:"))
        .unwrap_or_else(|| panic!("the banner says so:\n{banner}"));
    assert!(line.contains(&mine) && line.contains(why), "{line}");
    assert!(
        banner.contains("Policy:        /etc/office-bridge/policy.json (in force)"),
        "{banner}"
    );
    assert!(
        log.lines()
            .any(|l| l.contains("WARN") && l.contains("ignored") && l.contains(&mine)),
        "{log}"
    );
}

/// A policy file others may write is refused on every reload, and is said to be; the moment
/// its permissions are fixed (a chmod alone, no new content) it applies. Needs root: the
/// file must be root's to be used (CI runs as root and fails rather than skip).
#[cfg(unix)]
#[tokio::test]
#[cfg_attr(
    windows,
    ignore = "needs an administrator's policy file: Wine reports every file as owned by the Wine user, so none is trusted"
)]
async fn a_policy_file_others_may_write_is_refused_until_fixed() {
    use std::os::unix::fs::PermissionsExt;
    if !office_bridge::policy_file::running_elevated() {
        assert!(
            std::env::var_os("CI").is_none(),
            "this test must run as root in CI (only root's policy files are used)"
        );
        eprintln!("NOT RUN: a_policy_file_others_may_write_is_refused_until_fixed needs root");
        return;
    }
    let bridge = bridge_with_policy("{}").await;
    let path = bridge.data_dir.path().join("policy.json");
    let mut events = bridge.state.events.subscribe();
    let status = || async {
        let s = bridge
            .get("/v1/status", &[("authorization", &bridge.bearer())])
            .await;
        serde_json::from_str::<Value>(&s.body).unwrap()
    };
    assert_eq!(status().await["policy_file"]["path"], json!(path));
    // Replaced by a world-writable file disabling Excel: refused, nothing changes but the
    // reason, shown in /v1/status.
    let tmp = bridge.data_dir.path().join(".policy.json.tmp");
    std::fs::write(&tmp, r#"{"addins": {"excel": {"enabled": false}}}"#).unwrap();
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o666)).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    let deadline = std::time::Instant::now() + WAIT;
    let refused = loop {
        let s = status().await;
        if s["policy_file"]["ignored"][0]["path"] == json!(path) {
            break s;
        }
        assert!(std::time::Instant::now() < deadline, "refusal shown: {s}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let why = refused["policy_file"]["ignored"][0]["why"]
        .as_str()
        .unwrap();
    assert!(why.contains("mode 0666"), "{why}");
    assert_eq!(refused["policy"]["excel_enabled"], json!(true), "{refused}");
    // Fixed with a chmod: applied.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    // (The refusal was announced too, with the policy unchanged: skip to the change.)
    loop {
        let (policy, error) = next_policy_event(&mut events).await;
        assert!(error.is_none(), "{error:?}");
        if policy["addins"]["excel"]["enabled"] == json!(false) {
            break;
        }
    }
    let fixed = status().await;
    assert_eq!(fixed["policy"]["excel_enabled"], json!(false), "{fixed}");
    assert_eq!(fixed["policy_file"]["ignored"], json!([]), "{fixed}");
}
