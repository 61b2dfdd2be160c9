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
