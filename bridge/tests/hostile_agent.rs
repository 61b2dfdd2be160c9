//! An agent under a policy that blocks transfers, trying to get figures past the decision
//! a little at a time through the real MCP tools: one value per call, then a fresh MCP
//! session to shed what the bridge knows. Evidence accumulates per target document
//! (tracker::trail, docs/security.md "A trickle of writes").

mod common;

use common::office::{ClientImpl, Desk, call};
use common::{TestBridge, WAIT};
use serde_json::json;

#[tokio::test]
async fn one_value_per_call_is_blocked_and_a_new_session_does_not_shed_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("policy.json"),
        r#"{"flows": {"default": "block", "confidential": "block"}}"#,
    )
    .unwrap();
    let bridge = TestBridge::start_configured(dir, |o| o.approval_timeout = Some(WAIT)).await;
    let desk = Desk::open(&bridge, ClientImpl::default()).await;
    let texts_written = || {
        desk.writes
            .lock()
            .unwrap()
            .iter()
            .filter(|(m, _)| m == "powerpoint.addTextBox")
            .count()
    };
    // The first figure alone is at most a possible flow: written.
    let (err, text, result) = call(
        &desk.client,
        "ppt_add_text",
        json!({"slide": 2, "text": "1,456,789"}),
    )
    .await;
    assert!(!err, "{text}");
    assert_ne!(result["flows"][0]["strength"], "confirmed", "{result}");
    // The second, from the same sheet, makes the trickle a confirmed flow: blocked, and
    // the flow names the write before it.
    let (err, text, _) = call(
        &desk.client,
        "ppt_add_text",
        json!({"slide": 2, "text": "2,567,890"}),
    )
    .await;
    assert!(err, "{text}");
    assert!(text.starts_with("Blocked"), "{text}");
    assert!(text.contains("with the write before it"), "{text}");
    assert_eq!(texts_written(), 1);
    // A new MCP session is the same agent to the target: still blocked.
    let again = bridge.mcp().await;
    let (err, text, _) = call(
        &again,
        "ppt_add_text",
        json!({"slide": 2, "text": "1,098,765"}),
    )
    .await;
    assert!(err, "{text}");
    assert_eq!(texts_written(), 1);
    bridge.assert_audit_intact().await;
}
