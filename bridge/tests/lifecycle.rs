//! One lifecycle per transfer, and who may decide it, seen from every surface: the panes
//! of the source and the target, the event stream, `/v1/flows`, the agent's client. The
//! restart side of the same promises is in `restart.rs`.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::office::{
    ClientImpl, Desk, Office, SimPane, call, call_ok, deck, reformatted_table, revenue_answer,
    workbook,
};
use common::{TestBridge, WAIT};
use office_bridge::events::BridgeEvent;
use serde_json::{Value, json};

async fn bridge_with_policy(policy: Value) -> TestBridge {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("policy.json"), policy.to_string()).unwrap();
    TestBridge::start_configured(dir, |o| o.approval_timeout = Some(Duration::from_secs(20))).await
}

/// The next event of `kind` for which `keep` holds.
async fn next_event(
    events: &mut tokio::sync::broadcast::Receiver<BridgeEvent>,
    kind: &str,
    keep: impl Fn(&Value) -> bool,
) -> Value {
    loop {
        let event = tokio::time::timeout(WAIT, events.recv())
            .await
            .unwrap_or_else(|_| panic!("no {kind} event within the wait"))
            .expect("event bus open");
        let v = json!(event);
        if event.name() == kind && keep(&v) {
            return v;
        }
    }
}

#[tokio::test]
#[cfg_attr(
    windows,
    ignore = "needs an administrator's policy file: Wine reports every file as owned by the Wine user, so none is trusted"
)]
async fn a_held_transfer_keeps_one_id_from_detection_to_its_outcome_on_every_surface() {
    let bridge = bridge_with_policy(json!({"flows": {"default": "ask"}})).await;
    let mut events = bridge.state.events.subscribe();
    let mut desk = Desk::open(&bridge, ClientImpl::default()).await;
    let client = desk.client.clone();
    let write =
        tokio::spawn(async move { call(&client, "ppt_add_table", reformatted_table()).await });
    // The source's pane and the target's pane hear of the transfer, still pending, before
    // the target's pane is asked about it, all under one id.
    let mut notices = Vec::new();
    for pane in [&mut desk.excel, &mut desk.ppt] {
        let notice = pane.next("flow.notice").await;
        assert_eq!(notice["outcome"], "pending");
        assert_eq!(notice["written"], Value::Null);
        notices.push(notice);
    }
    let request = desk.ppt.next("approval.request").await;
    let (flow_id, write_id) = (request["flow_id"].clone(), request["write_id"].clone());
    assert!(flow_id.is_i64() && write_id.as_str().is_some_and(|w| w.starts_with("wr_")));
    for notice in notices {
        assert_eq!(
            (&notice["flow_id"], &notice["write_id"]),
            (&flow_id, &write_id)
        );
    }
    let flow_event = next_event(&mut events, "flow", |_| true).await;
    assert_eq!(flow_event["flow"]["flow_id"], flow_id);
    // Denied on the deck's pane: both panes get the outcome, as do the stream and /v1/flows.
    let answered = desk
        .ppt
        .call(
            "approval.decide",
            json!({"approval_id": request["approval_id"], "decision": "deny"}),
        )
        .await
        .unwrap();
    assert_eq!(answered, json!({"accepted": true}));
    let (err, text, _) = write.await.unwrap();
    assert!(
        err && text.starts_with("Not written: the person denied it"),
        "{text}"
    );
    for pane in [&mut desk.excel, &mut desk.ppt] {
        let outcome = pane.next("flow.outcome").await;
        assert_eq!(outcome["flow_id"], flow_id);
        assert_eq!(
            (
                &outcome["outcome"],
                &outcome["written"],
                &outcome["decided_by"]
            ),
            (&json!("denied"), &json!(false), &json!("pane"))
        );
    }
    let resolved = next_event(&mut events, "approval_resolved", |_| true).await;
    assert_eq!(
        (&resolved["flow_id"], &resolved["write_id"]),
        (&flow_id, &write_id)
    );
    let outcome = next_event(&mut events, "flow_outcome", |_| true).await;
    assert_eq!(
        (&outcome["flow_id"], &outcome["outcome"]),
        (&flow_id, &json!("denied"))
    );
    let flows = bridge.state.gate.recent_flows(1).await.unwrap();
    assert_eq!(flows[0].id, flow_id.as_i64().unwrap());
    assert_eq!(flows[0].outcome.as_str(), "denied");
    assert_eq!(desk.tables_written(), 0);
    bridge.assert_audit_intact().await;
}

#[tokio::test]
async fn an_allowed_transfer_ends_notified_and_written_in_both_panes() {
    let bridge = TestBridge::start().await;
    let mut desk = Desk::open(&bridge, ClientImpl::default()).await;
    let result = call_ok(&desk.client, "ppt_add_table", reformatted_table()).await;
    let flow_id = result["flows"][0]["flow_id"].clone();
    assert_eq!(result["write_id"], result["flows"][0]["write_id"]);
    // The tool result says how it ended too.
    assert_eq!(
        (
            &result["flows"][0]["outcome"],
            &result["flows"][0]["written"]
        ),
        (&json!("notified"), &json!(true))
    );
    for pane in [&mut desk.excel, &mut desk.ppt] {
        let outcome = pane.next("flow.outcome").await;
        assert_eq!(outcome["flow_id"], flow_id);
        assert_eq!(
            (&outcome["outcome"], &outcome["written"]),
            (&json!("notified"), &json!(true))
        );
    }
    let (_, _, recent) = call(&desk.client, "flows_recent", json!({"limit": 1})).await;
    assert_eq!(
        (
            &recent["flows"][0]["outcome"],
            &recent["flows"][0]["written"]
        ),
        (&json!("notified"), &json!(true))
    );
}

#[tokio::test]
#[cfg_attr(
    windows,
    ignore = "needs an administrator's policy file: Wine reports every file as owned by the Wine user, so none is trusted"
)]
async fn a_pane_lists_the_open_approvals_of_its_own_document() {
    let bridge = bridge_with_policy(json!({"flows": {"default": "ask"}})).await;
    let mut desk = Desk::open(&bridge, ClientImpl::default()).await;
    let client = desk.client.clone();
    let write =
        tokio::spawn(async move { call(&client, "ppt_add_table", reformatted_table()).await });
    let request = desk.ppt.next("approval.request").await;
    let listed = desk.ppt.call("approval.list", json!({})).await.unwrap();
    assert_eq!(listed["approvals"].as_array().unwrap().len(), 1);
    assert_eq!(
        listed["approvals"][0], request,
        "listed as it was requested"
    );
    let elsewhere = desk.excel.call("approval.list", json!({})).await.unwrap();
    assert_eq!(
        elsewhere["approvals"],
        json!([]),
        "not the workbook's to answer"
    );
    desk.ppt
        .call(
            "approval.decide",
            json!({"approval_id": request["approval_id"], "decision": "allow"}),
        )
        .await
        .unwrap();
    let (err, text, _) = write.await.unwrap();
    assert!(!err, "{text}");
    let listed = desk.ppt.call("approval.list", json!({})).await.unwrap();
    assert_eq!(listed["approvals"], json!([]));
}

#[tokio::test]
async fn the_excel_pane_lists_its_marks_and_removes_one() {
    let bridge = TestBridge::start().await;
    let desk = Desk::open(&bridge, ClientImpl::default()).await;
    for address in ["B2:D4", "A1:XFD1048576"] {
        desk.excel
            .call(
                "label.set",
                json!({"sheet": "Revenue", "address": address, "sensitivity": "confidential"}),
            )
            .await
            .unwrap();
    }
    let marks = desk.excel.call("label.list", json!({})).await.unwrap();
    assert_eq!(
        marks["marks"],
        json!([{"sheet": "Revenue", "address": "B2:D4"}, {"sheet": "Revenue", "address": "A1:XFD1048576"}])
    );
    desk.excel
        .call(
            "label.set",
            json!({"sheet": "Revenue", "address": "A1:XFD1048576", "sensitivity": "normal"}),
        )
        .await
        .unwrap();
    let marks = desk.excel.call("label.list", json!({})).await.unwrap();
    assert_eq!(
        marks["marks"],
        json!([{"sheet": "Revenue", "address": "B2:D4"}])
    );
    let deck_marks = desk.ppt.call("label.list", json!({})).await.unwrap_err();
    assert_eq!(deck_marks["code"], -32602);
}

/// A workbook whose host cannot read document properties (no ExcelApi 1.7).
fn old_excel() -> Office {
    Arc::new(|method, _| match method {
        "excel.readRange" => Ok(revenue_answer("A1:D4")),
        "excel.getProperties" => Err(json!({"code": -32004, "message": "needs ExcelApi 1.7"})),
        other => Err(json!({"code": -32601, "message": format!("no {other}")})),
    })
}

#[tokio::test]
#[cfg_attr(
    windows,
    ignore = "needs an administrator's policy file: Wine reports every file as owned by the Wine user, so none is trusted"
)]
async fn data_whose_label_cannot_be_learned_is_treated_as_confidential() {
    let bridge = bridge_with_policy(json!({"flows": {"confidential": "block"}})).await;
    let writes = Arc::new(Mutex::new(Vec::new()));
    let _excel = SimPane::open(&bridge, "excel", "Q3.xlsx", old_excel()).await;
    let _ppt = SimPane::open(&bridge, "powerpoint", "Board.pptx", deck(writes.clone())).await;
    let client = bridge.mcp().await;
    call_ok(
        &client,
        "excel_read_range",
        json!({"sheet": "Revenue", "range": "A1:D4"}),
    )
    .await;
    let (err, text, _) = call(&client, "ppt_add_table", reformatted_table()).await;
    assert!(err, "{text}");
    assert!(
        text.contains("sensitivity label could not be read") && text.contains("needs ExcelApi 1.7"),
        "the decision says why: {text}"
    );
    let status = call_ok(&client, "office_status", json!({})).await;
    let q3 = status["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "Q3.xlsx")
        .unwrap();
    assert_eq!(q3["sensitivity_label"]["state"], "unknown");
}

#[tokio::test]
#[cfg_attr(
    windows,
    ignore = "needs an administrator's policy file: Wine reports every file as owned by the Wine user, so none is trusted"
)]
async fn always_for_this_deck_settles_every_open_approval_of_the_pair() {
    let bridge = bridge_with_policy(json!({"flows": {"default": "ask"}})).await;
    let mut desk = Desk::open(&bridge, ClientImpl::default()).await;
    let (c1, c2) = (desk.client.clone(), desk.client.clone());
    let first = tokio::spawn(async move { call(&c1, "ppt_add_table", reformatted_table()).await });
    let one = desk.ppt.next("approval.request").await;
    let second = tokio::spawn(async move { call(&c2, "ppt_add_table", reformatted_table()).await });
    let two = desk.ppt.next("approval.request").await;
    assert_ne!(one["approval_id"], two["approval_id"]);
    desk.ppt
        .call(
            "approval.decide",
            json!({"approval_id": one["approval_id"], "decision": "allow", "scope": "document"}),
        )
        .await
        .unwrap();
    for (name, write) in [("first", first), ("second", second)] {
        let (err, text, _) = write.await.unwrap();
        assert!(!err, "{name}: {text}");
    }
    let resolved = desk.ppt.next("approval.resolved").await;
    let other = if resolved["approval_id"] == two["approval_id"] {
        resolved
    } else {
        desk.ppt.next("approval.resolved").await
    };
    assert_eq!(
        (&other["state"], &other["decided_by"]),
        (&json!("allowed"), &json!("standing choice"))
    );
    assert_eq!(desk.tables_written(), 2);
    // And the next one is not held at all.
    call_ok(&desk.client, "ppt_add_table", reformatted_table()).await;
    assert_eq!(desk.tables_written(), 3);
}

#[tokio::test]
#[cfg_attr(
    windows,
    ignore = "needs an administrator's policy file: Wine reports every file as owned by the Wine user, so none is trusted"
)]
async fn a_client_that_asks_for_progress_hears_that_its_call_is_held() {
    let bridge = bridge_with_policy(json!({"flows": {"default": "ask"}})).await;
    let (tx, mut progress) = tokio::sync::mpsc::unbounded_channel();
    let mut desk = Desk::open(
        &bridge,
        ClientImpl {
            progress: Some(tx),
            ..ClientImpl::default()
        },
    )
    .await;
    let client = desk.client.clone();
    let write = tokio::spawn(async move {
        let mut params = rmcp::model::CallToolRequestParams::new("ppt_add_table")
            .with_arguments(reformatted_table().as_object().cloned().unwrap());
        let mut meta = serde_json::Map::new();
        meta.insert("progressToken".into(), json!("table-1"));
        params.meta = Some(rmcp::model::RequestMetaObject::from(meta));
        client.call_tool(params).await
    });
    let held = tokio::time::timeout(WAIT, progress.recv())
        .await
        .expect("progress within the wait")
        .unwrap();
    let held = json!(held);
    // (rmcp's client sends a token of its own making in place of ours)
    assert!(!held["progressToken"].is_null(), "{held}");
    assert_eq!(held["_meta"]["office-bridge/hold"], "held", "{held}");
    assert!(
        held["message"]
            .as_str()
            .unwrap()
            .starts_with("Waiting for approval in Board.pptx, 20 s left: "),
        "{held}"
    );
    let total = held["total"].as_f64().unwrap();
    assert!((19.0..=20.0).contains(&total), "{held}");
    // While it waits, the client hears so with the time left (every 20/6 s here), and the
    // progress grows toward the total.
    let waiting = json!(
        tokio::time::timeout(Duration::from_secs(6), progress.recv())
            .await
            .expect("a waiting notification")
            .unwrap()
    );
    assert_eq!(waiting["_meta"]["office-bridge/hold"], "held", "{waiting}");
    let message = waiting["message"].as_str().unwrap();
    assert!(
        message.starts_with("Waiting for approval in Board.pptx, ") && message.ends_with(" s left"),
        "{waiting}"
    );
    let (p0, p1) = (
        held["progress"].as_f64().unwrap(),
        waiting["progress"].as_f64().unwrap(),
    );
    assert!(
        p1 > p0 && (3.0..20.0).contains(&p1),
        "{held} then {waiting}"
    );
    let request = desk.ppt.next("approval.request").await;
    desk.ppt
        .call(
            "approval.decide",
            json!({"approval_id": request["approval_id"], "decision": "allow"}),
        )
        .await
        .unwrap();
    let released = loop {
        let p = json!(progress.recv().await.unwrap());
        if p["_meta"]["office-bridge/hold"] == "released" {
            break p;
        }
    };
    assert!(released["progress"].as_f64().unwrap() > p1, "{released}");
    let result = write.await.unwrap().unwrap();
    assert_eq!(result.is_error, Some(false));
}

#[tokio::test]
#[cfg_attr(
    windows,
    ignore = "needs an administrator's policy file: Wine reports every file as owned by the Wine user, so none is trusted"
)]
async fn the_agents_client_cannot_answer_where_the_administrator_says_so() {
    // The client would answer yes to anything; the policy keeps it out, so the write
    // waits for a person and is denied when nobody answers.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("policy.json"),
        json!({"flows": {"default": "ask"}, "agent_client_may_approve": false}).to_string(),
    )
    .unwrap();
    let bridge = TestBridge::start_configured(dir, |o| {
        o.approval_timeout = Some(Duration::from_millis(700))
    })
    .await;
    let handler = ClientImpl {
        elicitation: Some(true),
        ..ClientImpl::default()
    };
    let desk = Desk::open(&bridge, handler.clone()).await;
    let (err, text, _) = call(&desk.client, "ppt_add_table", reformatted_table()).await;
    assert!(err && text.contains("nobody answered"), "{text}");
    assert_eq!(
        handler
            .elicitations
            .load(std::sync::atomic::Ordering::SeqCst),
        0
    );
    assert_eq!(desk.tables_written(), 0);
}

#[tokio::test]
async fn a_workbook_pane_never_asked_for_its_label_is_asked_at_register() {
    let bridge = TestBridge::start().await;
    let mut excel = SimPane::open(&bridge, "excel", "Q3.xlsx", workbook()).await;
    let asked = excel.next("excel.getProperties").await;
    assert_eq!(asked, json!({}));
    // The answer is recorded right after it arrives.
    let client = bridge.mcp().await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let status = call_ok(&client, "office_status", json!({})).await;
        if status["documents"][0]["sensitivity_label"]["state"] == "unlabelled" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{status}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_pane_back_from_away_asks_how_its_transfers_ended() {
    let bridge = TestBridge::start().await;
    let desk = Desk::open(&bridge, ClientImpl::default()).await;
    let result = call_ok(&desk.client, "ppt_add_table", reformatted_table()).await;
    let flow_id = result["flows"][0]["flow_id"].as_i64().unwrap();
    let listed = desk
        .excel
        .call("flow.list", json!({"flow_ids": [flow_id, 99_999]}))
        .await
        .unwrap();
    assert_eq!(listed["flows"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(
        (
            &listed["flows"][0]["outcome"],
            &listed["flows"][0]["written"]
        ),
        (&json!("notified"), &json!(true))
    );
    // A pane of a document the transfer did not touch is told nothing of it.
    let other = SimPane::open(&bridge, "excel", "Other.xlsx", workbook()).await;
    let listed = other
        .call("flow.list", json!({"flow_ids": [flow_id]}))
        .await
        .unwrap();
    assert_eq!(listed["flows"], json!([]));
    let too_many: Vec<i64> = (0..501).collect();
    let refused = other
        .call("flow.list", json!({"flow_ids": too_many}))
        .await
        .unwrap_err();
    assert_eq!(refused["code"], -32602);
}

#[tokio::test]
async fn a_reloaded_pane_asks_for_the_latest_transfers_of_its_document() {
    let bridge = TestBridge::start().await;
    let desk = Desk::open(&bridge, ClientImpl::default()).await;
    let first = call_ok(&desk.client, "ppt_add_table", reformatted_table()).await;
    let second = call_ok(&desk.client, "ppt_add_table", reformatted_table()).await;
    let ids = |r: &Value| -> Vec<i64> {
        r["flows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["flow_id"].as_i64().unwrap())
            .collect()
    };
    // Newest first, each with how it ended, from either end of the transfer.
    for pane in [&desk.excel, &desk.ppt] {
        let listed = pane.call("flow.list", json!({"recent": 50})).await.unwrap();
        let mut expected = ids(&second);
        expected.extend(ids(&first));
        assert_eq!(ids(&listed), expected, "{listed}");
        assert_eq!(listed["flows"][0]["outcome"], "notified", "{listed}");
        assert_eq!(listed["flows"][0]["written"], true);
        assert!(listed["flows"][0]["at"].as_i64().unwrap() > 0);
    }
    let one = desk
        .ppt
        .call("flow.list", json!({"recent": 1}))
        .await
        .unwrap();
    assert_eq!(ids(&one), ids(&second));
    // Another document's pane sees none of them.
    let other = SimPane::open(&bridge, "excel", "Other.xlsx", workbook()).await;
    let listed = other
        .call("flow.list", json!({"recent": 50}))
        .await
        .unwrap();
    assert_eq!(listed["flows"], json!([]));
    for bad in [
        json!({"recent": 0}),
        json!({"recent": 201}),
        json!({}),
        json!({"recent": 5, "flow_ids": [1]}),
    ] {
        let refused = other.call("flow.list", bad.clone()).await.unwrap_err();
        assert_eq!(refused["code"], -32602, "{bad}");
    }
}

#[tokio::test]
#[cfg_attr(
    windows,
    ignore = "needs an administrator's policy file: Wine reports every file as owned by the Wine user, so none is trusted"
)]
async fn a_held_write_says_what_it_would_do_and_previews_it_to_the_person_only() {
    let bridge = bridge_with_policy(json!({"flows": {"default": "ask"}})).await;
    let mut events = bridge.state.events.subscribe();
    let mut desk = Desk::open(&bridge, ClientImpl::default()).await;
    let client = desk.client.clone();
    let write =
        tokio::spawn(async move { call(&client, "ppt_add_table", reformatted_table()).await });
    let request = desk.ppt.next("approval.request").await;
    // What the card's headline says, and the start of what would be written.
    assert_eq!(request["action"], "add a table to slide 3", "{request}");
    assert_eq!(
        request["preview"]["rows"][0],
        json!(["Region", "Q1", "Q2", "Q3"])
    );
    assert_eq!(
        request["preview"]["rows"][1],
        json!(["EMEA", "$1.23M", "$1.46M", "$1.61M"])
    );
    assert_eq!(request["preview"]["more"], false);
    // The pane's list and GET /v1/approvals say the same.
    let listed = desk.ppt.call("approval.list", json!({})).await.unwrap();
    let pending = bridge.state.gate.pending().await.unwrap();
    for item in [&listed["approvals"][0], &pending[0]] {
        for field in ["approval_id", "action", "preview"] {
            assert_eq!(item[field], request[field], "{field}");
        }
    }
    // The event stream says what, never the values.
    let event = next_event(&mut events, "approval_requested", |_| true).await;
    assert_eq!(event["action"], "add a table to slide 3");
    assert!(event.get("preview").is_none(), "{event}");
    assert!(!event.to_string().contains("$1.23M"), "{event}");
    desk.ppt
        .call(
            "approval.decide",
            json!({"approval_id": request["approval_id"], "decision": "deny"}),
        )
        .await
        .unwrap();
    let (err, _, _) = write.await.unwrap();
    assert!(err);
    assert_eq!(
        bridge.state.gate.pending().await.unwrap(),
        Vec::<Value>::new()
    );
    // A held deletion says what too, with no preview.
    let client = desk.client.clone();
    let deletion =
        tokio::spawn(async move { call(&client, "ppt_delete_slide", json!({"slide": 2})).await });
    let request = desk.ppt.next("approval.request").await;
    assert_eq!(request["action"], "delete slide 2");
    assert!(request.get("preview").is_none(), "{request}");
    desk.ppt
        .call(
            "approval.decide",
            json!({"approval_id": request["approval_id"], "decision": "deny"}),
        )
        .await
        .unwrap();
    assert!(deletion.await.unwrap().0);
}
