//! Promises that must hold across a restart of the real `office-bridge serve` process:
//! what is known of a document's sensitivity is not forgotten; a transfer held for
//! approval when the bridge stops is closed (expired) at the next start, never written by
//! a stale answer, and its agent is told that nothing was written; every surface carries
//! the transfer's one id and its final outcome.
#![cfg(unix)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::audit_records;
use common::office::{Office, deck, revenue_answer};
use common::served::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

fn write_policy(dir: &Path, policy: Value) {
    let folder = dir.join("policy");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("policy.json"), policy.to_string()).unwrap();
}

/// A workbook whose custom properties carry a Microsoft Purview label (as Office.js
/// reports them to the pane).
fn labelled_workbook(label: &'static str) -> Office {
    Arc::new(move |method, _params| match method {
        "excel.readRange" => Ok(revenue_answer("A1:D4")),
        "excel.getProperties" => Ok(json!({"name": "Q3.xlsx", "url": "", "custom": {
            "MSIP_Label_f42aa342-8706-4288-bd11-ebb85995028c_Enabled": "true",
            "MSIP_Label_f42aa342-8706-4288-bd11-ebb85995028c_Name": label,
        }})),
        other => Err(json!({"code": -32601, "message": format!("no {other}")})),
    })
}

fn tables(writes: &Mutex<Vec<(String, Value)>>) -> usize {
    writes
        .lock()
        .unwrap()
        .iter()
        .filter(|(m, _)| m == "powerpoint.addTable")
        .count()
}

fn kill(served: &mut Served) {
    served.child.kill().unwrap();
    served.child.wait().unwrap();
}

/// GET a bridge route with the agent's token.
async fn get_json(ep: &Endpoint, path: &str) -> Value {
    let tls = certs::client_config_trusting(&ep.ca_pem).unwrap();
    let http = reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .build()
        .unwrap();
    http.get(format!("https://localhost:{}{path}", ep.port()))
        .bearer_auth(&ep.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The issue's case: policy `flows.confidential: block`; the agent reads a workbook whose
/// Purview label is "Confidential"; the bridge restarts; the agent writes those figures,
/// reformatted, into a deck without reading the workbook again (it is closed by then).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_documents_sensitivity_label_survives_a_restart() {
    let temp = tempfile::tempdir().unwrap();
    let data = temp.path().join("data");
    let dir = data.as_path();
    write_policy(dir, json!({"flows": {"confidential": "block"}}));
    let mut bridge = serve(dir, 0);
    let port = bridge.port;
    let ep = Endpoint::of(dir, port);
    let writes = Arc::new(Mutex::new(Vec::new()));
    let excel = LivePane::start(
        ep.clone(),
        "excel",
        "Q3.xlsx",
        labelled_workbook("Confidential"),
    );
    let ppt = LivePane::start(ep.clone(), "powerpoint", "Board.pptx", deck(writes.clone()));
    excel.wait_registered(1, "workbook").await;
    ppt.wait_registered(1, "deck").await;
    // The bridge asks a pane for its document's label when it registers.
    excel.wait_for("excel.getProperties", |_| true).await;
    let client = ep.mcp().await;
    let (err, text, _) = try_call(
        &client,
        "excel_read_range",
        json!({"sheet": "Revenue", "range": "A1:D4"}),
    )
    .await
    .unwrap();
    assert!(!err, "{text}");
    drop(client);
    excel.end();
    kill(&mut bridge);

    let mut bridge = serve(dir, port);
    ppt.wait_registered(2, "deck after the restart").await;
    let client = ep.mcp().await;
    let (err, text, result) = try_call(
        &client,
        "ppt_add_table",
        json!({"slide": 3, "rows": reformatted_rows()}),
    )
    .await
    .unwrap();
    assert!(err, "written after a restart: {text}");
    assert!(
        text.starts_with("Blocked, nothing was written")
            && text.contains("Purview label \"Confidential\""),
        "{text}"
    );
    assert_eq!(result["flows"][0]["outcome"], "blocked");
    assert_eq!(tables(&writes), 0);
    drop(client);
    ppt.end();
    terminate(&mut bridge);
    audit_verify(dir);
}

/// The relay (`office-bridge mcp`, Claude Desktop's way in) as a child process: MCP over
/// its stdin and stdout.
struct Relay {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<Value>,
}

impl Relay {
    fn start(dir: &Path) -> Relay {
        let mut child = Command::new(BIN)
            .arg("--data-dir")
            .arg(dir)
            .arg("mcp")
            .env_remove("OFFICE_BRIDGE_DATA_DIR")
            .env("OFFICE_BRIDGE_POLICY", dir.join("policy/policy.json"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    let _ = tx.send(v);
                }
            }
        });
        Relay { child, lines }
    }

    fn send(&mut self, message: Value) {
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "{message}").unwrap();
        stdin.flush().unwrap();
    }

    /// The next message answering `id` within `wait` (notifications are skipped; the
    /// relay passes none of its own on).
    fn answer(&self, id: i64, wait: Duration) -> Value {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let v = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no answer to {id} within {wait:?}"));
            assert_ne!(
                v["method"], "notifications/progress",
                "the relay's own progress token leaked to the client: {v}"
            );
            if v["id"] == json!(id) {
                return v;
            }
        }
    }

    fn initialize(&mut self) {
        self.send(
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "restart-test", "version": "0"}}}),
        );
        let init = self.answer(1, Duration::from_secs(30));
        assert!(init["result"]["serverInfo"].is_object(), "{init}");
        self.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A write held for approval when the bridge is killed: the agent (through the relay)
/// hears that nothing was written; at the next start the approval is closed as expired,
/// the transfer's outcome says so everywhere, a stale answer writes nothing, and the
/// deck's pane gets an empty list to reconcile its cards with.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_held_when_the_bridge_dies_is_never_written_after_it() {
    let temp = tempfile::tempdir().unwrap();
    let data = temp.path().join("data");
    let dir = data.as_path();
    write_policy(dir, json!({"flows": {"default": "ask"}}));
    let mut bridge = serve(dir, 0);
    let port = bridge.port;
    let ep = Endpoint::of(dir, port);
    let writes = Arc::new(Mutex::new(Vec::new()));
    let excel = LivePane::start(ep.clone(), "excel", "Q3.xlsx", labelled_workbook("General"));
    let ppt = LivePane::start(ep.clone(), "powerpoint", "Board.pptx", deck(writes.clone()));
    excel.wait_registered(1, "workbook").await;
    ppt.wait_registered(1, "deck").await;

    let mut relay = Relay::start(dir);
    relay.initialize();
    relay.send(
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
        "name": "excel_read_range", "arguments": {"sheet": "Revenue", "range": "A1:D4"}}}),
    );
    let read = relay.answer(2, Duration::from_secs(30));
    assert_eq!(read["result"]["isError"], json!(false), "{read}");
    relay.send(
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {
        "name": "ppt_add_table", "arguments": {"slide": 3, "rows": reformatted_rows()}}}),
    );
    let request = ppt.wait_for("approval.request", |_| true).await;
    let approval_id = request["approval_id"].as_str().unwrap().to_string();
    let flow_id = request["flow_id"].as_i64().expect("the held transfer's id");
    assert_eq!(request["flow"]["flow_id"], flow_id);
    let write_id = request["write_id"].as_str().unwrap().to_string();
    // The source's pane hears of the transfer too, with the same ids.
    let notice = excel
        .wait_for("flow.notice", |f| f["flow_id"] == flow_id)
        .await;
    assert_eq!(notice["write_id"], write_id.as_str());
    assert_eq!(notice["outcome"], "pending");

    kill(&mut bridge);
    let answer = relay.answer(3, Duration::from_secs(30));
    assert_eq!(answer["result"]["isError"], true, "{answer}");
    let text = answer["result"]["content"][0]["text"].as_str().unwrap();
    assert!(
        text.contains("held for the person's approval") && text.contains("nothing was written"),
        "{text}"
    );

    let mut bridge = serve(dir, port);
    let said = bridge.banner_line(|l| l.trim_start().starts_with("Restarted:"));
    assert!(
        said.as_deref()
            .is_some_and(|l| l.contains("1 approval the previous run held closed as expired")),
        "the banner says so: {said:?}"
    );
    ppt.wait_registered(2, "deck after the restart").await;
    // Every surface says how it ended: /v1/flows with the same id, and the audit chain.
    let flows = get_json(&ep, "/v1/flows?limit=5").await;
    let flow = flows["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["flow_id"] == flow_id)
        .unwrap_or_else(|| panic!("flow {flow_id} in /v1/flows: {flows}"))
        .clone();
    assert_eq!(
        (&flow["outcome"], &flow["written"], &flow["write_id"]),
        (&json!("expired"), &json!(false), &json!(write_id))
    );
    assert_eq!(get_json(&ep, "/v1/approvals").await["approvals"], json!([]));
    // The deck's pane reconciles its cards with the bridge's list, and a stale answer
    // changes nothing. The live pane goes first: registering the same deck from here
    // would supersede it, and its reconnect would then supersede this connection.
    ppt.end();
    let mut pane = ep.ws().await.unwrap();
    let call = |id: &str, method: &str, params: Value| {
        json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string()
    };
    pane.send(Message::Text(
        call(
            "r",
            "register",
            json!({"app": "powerpoint", "document": {"name": "Board.pptx", "url": "https://contoso.example/Board.pptx"}}),
        )
        .into(),
    ))
    .await
    .unwrap();
    pane.send(Message::Text(call("l", "approval.list", json!({})).into()))
        .await
        .unwrap();
    pane.send(Message::Text(
        call(
            "d",
            "approval.decide",
            json!({"approval_id": approval_id, "decision": "allow", "scope": "document"}),
        )
        .into(),
    ))
    .await
    .unwrap();
    let mut list = None;
    let mut decided = None;
    while list.is_none() || decided.is_none() {
        let msg = tokio::time::timeout(Duration::from_secs(10), pane.next())
            .await
            .expect("the bridge answers")
            .unwrap()
            .unwrap();
        let Message::Text(t) = msg else { continue };
        let v: Value = serde_json::from_str(t.as_str()).unwrap();
        if v["id"] == "l" {
            list = Some(v);
        } else if v["id"] == "d" {
            decided = Some(v);
        } else if v["method"]
            .as_str()
            .is_some_and(|m| m.ends_with("getProperties"))
        {
            let reply = json!({"jsonrpc": "2.0", "id": v["id"], "result": {"custom": {}}});
            pane.send(Message::Text(reply.to_string().into()))
                .await
                .unwrap();
        }
    }
    assert_eq!(list.unwrap()["result"]["approvals"], json!([]));
    let decided = decided.unwrap();
    assert!(
        decided["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("was already expired")),
        "{decided}"
    );
    assert_eq!(tables(&writes), 0, "nothing held was ever written");
    let records = audit_records(dir);
    let closed = records
        .iter()
        .find(|(k, b)| k == "approval" && b["approval_id"] == approval_id.as_str())
        .expect("the approval's closing is in the chain");
    assert_eq!(closed.1["state"], "expired");
    assert!(
        closed.1["reason"]
            .as_str()
            .unwrap()
            .contains("bridge restarted"),
        "{}",
        closed.1
    );
    let ended = records
        .iter()
        .find(|(k, b)| k == "write" && b["write_id"] == write_id.as_str())
        .expect("the write's final record");
    assert_eq!(
        (&ended.1["outcome"], &ended.1["written"]),
        (&json!("expired"), &json!(false))
    );
    drop(relay);
    excel.end();
    terminate(&mut bridge);
    audit_verify(dir);
}

/// SIGTERM while a write is held: the bridge refuses it before it stops, so an agent on
/// HTTP gets a tool error saying nothing was written rather than a broken stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_the_bridge_tells_a_held_agent_that_nothing_was_written() {
    let temp = tempfile::tempdir().unwrap();
    let data = temp.path().join("data");
    let dir = data.as_path();
    write_policy(dir, json!({"flows": {"default": "ask"}}));
    let mut bridge = serve(dir, 0);
    let ep = Endpoint::of(dir, bridge.port);
    let writes = Arc::new(Mutex::new(Vec::new()));
    let excel = LivePane::start(ep.clone(), "excel", "Q3.xlsx", labelled_workbook("General"));
    let ppt = LivePane::start(ep.clone(), "powerpoint", "Board.pptx", deck(writes.clone()));
    excel.wait_registered(1, "workbook").await;
    ppt.wait_registered(1, "deck").await;
    let client = ep.mcp().await;
    let (err, text, _) = try_call(
        &client,
        "excel_read_range",
        json!({"sheet": "Revenue", "range": "A1:D4"}),
    )
    .await
    .unwrap();
    assert!(!err, "{text}");
    let held = tokio::spawn({
        let client = client.clone();
        async move {
            try_call(
                &client,
                "ppt_add_table",
                json!({"slide": 3, "rows": reformatted_rows()}),
            )
            .await
        }
    });
    let request = ppt.wait_for("approval.request", |_| true).await;
    terminate(&mut bridge);
    let (err, text, _) = held
        .await
        .unwrap()
        .expect("an answer before the bridge stopped");
    assert!(err, "{text}");
    assert!(
        text.starts_with("Not written: office-bridge stopped while it was held for approval"),
        "{text}"
    );
    // The target's pane dropped its card as the bridge stopped.
    let resolved = ppt
        .wait_for("approval.resolved", |r| {
            r["approval_id"] == request["approval_id"]
        })
        .await;
    assert_eq!(resolved["state"], "expired");
    assert_eq!(tables(&writes), 0);
    excel.end();
    ppt.end();
    audit_verify(dir);
}
