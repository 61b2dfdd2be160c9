//! Crash safety: the real `office-bridge serve` process is killed with SIGKILL in the middle
//! of a stream of writes, restarted on the same data directory and port, and then:
//! the audit chain verifies; every write whose tool call returned success has its `write`
//! record (the rule is one-directional: a call cut off by the kill may or may not be
//! there); data read before the crash is still recognised in a write after it; the panes
//! reconnect and register again by themselves; a new MCP session works.
#![cfg(unix)]

mod common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::audit_records;
use common::office::{deck, workbook};
use common::served::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_writes_loses_no_acknowledged_write() {
    let temp = tempfile::tempdir().unwrap();
    let dir: PathBuf = temp.path().join("data");
    let mut bridge = serve(&dir, 0);
    let port = bridge.port;
    let ep = Endpoint::of(&dir, port);

    let deck_writes = Arc::new(Mutex::new(Vec::new()));
    let excel = LivePane::start(ep.clone(), "excel", "Q3.xlsx", workbook());
    let ppt = LivePane::start(
        ep.clone(),
        "powerpoint",
        "Board.pptx",
        deck(deck_writes.clone()),
    );
    excel.wait_registered(1, "Q3.xlsx").await;
    ppt.wait_registered(1, "Board.pptx").await;

    // Read before the crash: these labels must survive it.
    let agent = Arc::new(ep.mcp().await);
    let (err, text, read) = try_call(
        &agent,
        "excel_read_range",
        json!({"sheet": "Revenue", "range": "A1:D4"}),
    )
    .await
    .unwrap();
    assert!(!err, "{text}");
    let provenance = read["provenance_id"].as_str().unwrap().to_string();

    // A stream of writes from four concurrent callers; each write lands on its own slide
    // number, so its `write` record can be found by location.
    let next_slide = Arc::new(AtomicU64::new(100));
    let acknowledged = Arc::new(Mutex::new(Vec::<u64>::new()));
    let failed = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for _ in 0..4 {
        let (agent, next_slide, acknowledged, failed, stop) = (
            agent.clone(),
            next_slide.clone(),
            acknowledged.clone(),
            failed.clone(),
            stop.clone(),
        );
        writers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let slide = next_slide.fetch_add(1, Ordering::SeqCst);
                let started = Instant::now();
                // A call cut off by the kill is not failed at once by the client (rmcp
                // retries the response stream), so give up on it after a few seconds;
                // writes before the kill take milliseconds.
                match call_within(
                    &agent,
                    "ppt_add_table",
                    json!({"document": "Board.pptx", "slide": slide, "rows": reformatted_rows()}),
                    Duration::from_secs(5),
                )
                .await
                {
                    Ok((false, _, result)) if result["written"] == json!(true) => {
                        acknowledged.lock().unwrap().push(slide);
                    }
                    Ok((_, text, _)) => panic!("a write was refused before the crash: {text}"),
                    Err(e) => {
                        // Cut off by the kill: it may or may not have landed.
                        eprintln!("cut off after {:?}: {e}", started.elapsed());
                        failed.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                }
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while acknowledged.lock().unwrap().len() < 40 {
        assert!(Instant::now() < deadline, "writes are too slow");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    // SIGKILL, mid-stream.
    bridge.child.kill().unwrap(); // SIGKILL on Unix
    bridge.child.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        tokio::time::timeout(Duration::from_secs(40), w)
            .await
            .expect("writers end after the kill")
            .expect("writer did not panic");
    }
    let acknowledged: Vec<u64> = acknowledged.lock().unwrap().clone();
    let attempted = next_slide.load(Ordering::SeqCst) - 100;
    eprintln!(
        "{} writes acknowledged before the kill, {} cut off, {attempted} attempted",
        acknowledged.len(),
        failed.load(Ordering::SeqCst)
    );

    // The chain verifies straight after the crash, before the bridge touches it again.
    audit_verify(&dir);

    // Restart on the same data directory and port.
    let mut bridge = serve(&dir, port);
    assert_eq!(bridge.port, port);
    audit_verify(&dir);

    // Every acknowledged write has its `write` record; every record names a slide that was
    // at least attempted (nothing invented).
    let records = audit_records(&dir);
    let written: Vec<String> = records
        .iter()
        .filter(|(k, b)| {
            k == "write" && b["document"] == json!("Board.pptx") && b["written"] == json!(true)
        })
        .map(|(_, b)| b["location"].as_str().unwrap().to_string())
        .collect();
    for slide in &acknowledged {
        let location = format!("slide {slide}");
        assert!(
            written.contains(&location),
            "write to {location} returned success but has no write record"
        );
    }
    assert!(written.len() >= acknowledged.len());
    eprintln!(
        "{} write records: {} acknowledged, {} of the cut-off calls landed before the kill",
        written.len(),
        acknowledged.len(),
        written.len() - acknowledged.len()
    );
    assert!(
        written.len() as u64 <= attempted,
        "{} write records for {attempted} attempted writes",
        written.len()
    );
    assert!(
        records.iter().any(|(k, b)| k == "read"
            && b["provenance"] == json!(provenance)
            && b["document"] == json!("Q3.xlsx")),
        "the read before the crash has its record"
    );

    // Panes reconnect and register again by themselves.
    excel.wait_registered(2, "Q3.xlsx after the restart").await;
    ppt.wait_registered(2, "Board.pptx after the restart").await;

    // The old MCP session died with the process; a new one works.
    let agent = ep.mcp().await;

    // Data read before the crash is still recognised: no read since the restart, and the
    // write of the same figures, reformatted, reports the flow from Q3.xlsx > Revenue.
    let before = deck_writes.lock().unwrap().len();
    let (err, text, result) = try_call(
        &agent,
        "ppt_add_table",
        json!({"document": "Board.pptx", "slide": 1, "rows": reformatted_rows()}),
    )
    .await
    .unwrap();
    assert!(!err, "{text}");
    assert_eq!(result["written"], json!(true), "{result}");
    let flow = result["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["source"]["name"] == json!("Q3.xlsx"))
        .unwrap_or_else(|| panic!("no flow from Q3.xlsx after the restart: {result}"));
    assert_eq!(flow["sheet"], "Revenue");
    assert_eq!(flow["strength"], "confirmed");
    assert_eq!(flow["decision"], "notify");
    assert!(
        deck_writes.lock().unwrap().len() > before,
        "the reconnected deck got the write"
    );

    // And the reconnected workbook answers reads.
    let (err, text, _) = try_call(
        &agent,
        "excel_read_range",
        json!({"sheet": "Revenue", "range": "A1:D4"}),
    )
    .await
    .unwrap();
    assert!(!err, "{text}");

    let _ = agent.cancel().await;
    excel.end();
    ppt.end();
    terminate(&mut bridge);
    let report = audit_verify(&dir);
    let after = audit_records(&dir);
    assert_eq!(report["records"], json!(after.len()));
    assert!(
        after
            .iter()
            .any(|(k, b)| k == "write" && b["location"] == json!("slide 1"))
    );
}
