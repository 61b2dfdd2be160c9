//! `xlsx_read` against what it cannot avoid: calamine's own parse of the range plus the
//! tracker's labelling of its cells (recorded durably, as the bridge does).
//!
//! The same 1000 x 100 workbook of numbers as tests/mcp_clients/big_workbook.py (100,000
//! cells). Measured in one run, each `ROUNDS` times (default 5), medians printed:
//! - calamine: `open_workbook` + `worksheet_range` of the sheet, the cells turned into a
//!   read event, and `Tracker::record_read` of all of them on a fresh store;
//! - office-bridge: the release binary's `serve` on a fresh data directory, and through its
//!   stdio relay (`office-bridge mcp`, as Claude Desktop starts it) every page of
//!   `xlsx_read` of a fresh copy of the file, following `next_range`, from `tools/call`
//!   to the last page's answer, spoken as plain JSON-RPC lines.
//!
//! The goal (issue #17): office-bridge within 3x of the calamine figure.
//!
//! Run: `cargo bench -p office-bridge --bench xlsx_read` (`XLSX_READ_ROUNDS=N`).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use calamine::{Data, Reader, Xlsx, open_workbook};
use serde_json::{Value, json};
use tracker::Tracker;
use tracker::audit_key::AuditKey;
use tracker::model::{
    App, CellAddr, CellValue, DocumentRef, ProvenanceId, ReadCell, ReadEvent, SheetRead,
};
use tracker::policy::AdminPolicy;
use tracker::store::Durability;

const ROWS: u32 = 1000;
const COLS: u16 = 100;
const BIN: &str = env!("CARGO_BIN_EXE_office-bridge");

fn value(r: u32, c: u16) -> f64 {
    f64::from(r) * 1000.0 + f64::from(c) + f64::from(c % 4) * 0.25
}

fn write_workbook(path: &Path) {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("Data").expect("sheet name");
    for r in 0..ROWS {
        for c in 0..COLS {
            ws.write_number(r, c, value(r, c)).expect("cell");
        }
    }
    wb.save(path).expect("save");
}

/// calamine's parse of the sheet, then the tracker's labels for its cells: (parse, label).
fn calamine_and_labels(path: &Path, store: &Path) -> (Duration, Duration) {
    let started = Instant::now();
    let mut wb: Xlsx<_> = open_workbook(path).expect("open");
    let range = wb.worksheet_range("Data").expect("sheet");
    let parsed = started.elapsed();
    let started = Instant::now();
    let cells: Vec<ReadCell> = range
        .cells()
        .filter_map(|(r, c, d)| {
            let value = match d {
                Data::Float(f) => CellValue::Number(*f),
                Data::Int(i) => CellValue::Number(*i as f64),
                Data::String(s) => CellValue::Text(s.clone()),
                _ => return None,
            };
            Some(ReadCell {
                addr: CellAddr::new(r as u32, c as u32),
                value,
                text: None,
                number_format: None,
            })
        })
        .collect();
    assert_eq!(cells.len(), ROWS as usize * COLS as usize);
    let mut tracker = Tracker::open_at(
        store,
        AdminPolicy::default(),
        Durability::EachCommit,
        tracker::unix_millis_now(),
    )
    .expect("store");
    tracker
        .set_audit_key(AuditKey::from_bytes([5; 32]))
        .expect("key");
    tracker
        .record_read(&ReadEvent {
            id: ProvenanceId::new(),
            document: DocumentRef::new(App::File, "big.xlsx", "big.xlsx"),
            sheets: vec![SheetRead {
                sheet: "Data".into(),
                cells,
            }],
            at: tracker::unix_millis_now(),
            request: "bench".into(),
        })
        .expect("labels");
    (parsed, started.elapsed())
}

/// A JSON-RPC session over a child's stdio, one message per line.
struct Lines {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
    next_id: u64,
}

impl Lines {
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        let mut line = String::new();
        loop {
            line.clear();
            let n = self.output.read_line(&mut line).expect("read");
            assert!(n > 0, "the relay closed its output");
            let msg: Value = serde_json::from_str(&line).expect("a JSON-RPC message");
            if msg.get("id") == Some(&json!(id)) {
                if let Some(e) = msg.get("error") {
                    panic!("{method}: {e}");
                }
                return msg["result"].clone();
            }
            // Notifications (progress, logging) pass by.
        }
    }

    fn send(&mut self, msg: &Value) {
        let mut bytes = serde_json::to_vec(msg).expect("json");
        bytes.push(b'\n');
        self.input.write_all(&bytes).expect("write");
        self.input.flush().expect("flush");
    }
}

impl Drop for Lines {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn relay(data: &Path, port: u16, policy: &Path) -> Lines {
    let mut child = Command::new(BIN)
        .args(["--data-dir"])
        .arg(data)
        .args(["mcp", "--port", &port.to_string()])
        .env("OFFICE_BRIDGE_POLICY", policy)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("relay");
    let input = child.stdin.take().expect("stdin");
    let output = BufReader::new(child.stdout.take().expect("stdout"));
    let mut lines = Lines {
        child,
        input,
        output,
        next_id: 0,
    };
    lines.call(
        "initialize",
        json!({"protocolVersion": "2025-11-25", "capabilities": {},
               "clientInfo": {"name": "xlsx_read bench", "version": "1"}}),
    );
    lines.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    lines
}

/// Every page of `xlsx_read` of workbook `name`: (time, pages, cells).
fn read_all(lines: &mut Lines, name: &str) -> (Duration, usize, usize) {
    let started = Instant::now();
    let mut args = json!({"path": name});
    let (mut pages, mut cells) = (0, 0);
    loop {
        let result = lines.call(
            "tools/call",
            json!({"name": "xlsx_read", "arguments": args}),
        );
        assert_ne!(result["isError"], json!(true), "{result}");
        let page = &result["structuredContent"];
        pages += 1;
        cells += page["values"]
            .as_array()
            .expect("values")
            .iter()
            .map(|row| row.as_array().map_or(0, Vec::len))
            .sum::<usize>();
        match page.get("next_range") {
            Some(next) => {
                args = json!({"path": name, "sheet": page["sheet"], "range": next});
            }
            None => return (started.elapsed(), pages, cells),
        }
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let rounds: usize = std::env::var("XLSX_READ_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
        .max(1);
    let dir = tempfile::tempdir().expect("temp dir");
    let files = dir.path().join("files");
    std::fs::create_dir_all(&files).expect("files");
    let book = files.join("big.xlsx");
    write_workbook(&book);
    let policy = dir.path().join("policy.json");
    std::fs::write(&policy, "{}").expect("policy");

    let (mut parse, mut label) = (Vec::new(), Vec::new());
    for i in 0..rounds {
        let (p, l) = calamine_and_labels(&book, &dir.path().join(format!("labels-{i}.db")));
        parse.push(p);
        label.push(l);
    }

    let data = dir.path().join("data");
    let mut serve = Command::new(BIN)
        .arg("--data-dir")
        .arg(&data)
        .args(["serve", "--port", "0", "--allow-dir"])
        .arg(&files)
        .env("OFFICE_BRIDGE_POLICY", &policy)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve");
    let mut out = BufReader::new(serve.stdout.take().expect("stdout"));
    let port: u16 = {
        let mut line = String::new();
        loop {
            line.clear();
            assert!(
                out.read_line(&mut line).expect("serve output") > 0,
                "serve ended"
            );
            if let Some(rest) = line.split("https://localhost:").nth(1) {
                break rest
                    .split('/')
                    .next()
                    .and_then(|p| p.parse().ok())
                    .expect("port");
            }
        }
    };
    // The rest of serve's output is drained so it never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));

    let mut read = Vec::new();
    let mut pages = 0;
    for i in 0..rounds {
        // A fresh copy each round: the bridge keeps a parse for the pages of a read, which
        // must not answer the next round.
        let name = format!("big-{i}.xlsx");
        std::fs::copy(&book, files.join(&name)).expect("copy");
        let mut lines = relay(&data, port, &policy);
        let (d, p, cells) = read_all(&mut lines, &name);
        assert_eq!(cells, ROWS as usize * COLS as usize);
        read.push(d);
        pages = p;
    }
    let _ = serve.kill();
    let _ = serve.wait();

    let (parse, label, read) = (median(parse), median(label), median(read));
    let floor = parse + label;
    let cells = f64::from(ROWS) * f64::from(COLS);
    println!(
        "xlsx_read of {ROWS} x {COLS} = {cells} cells, medians of {rounds} rounds:\n  \
         calamine parse {:.0} ms + labelling {:.0} ms = {:.0} ms\n  \
         office-bridge xlsx_read through the stdio relay: {:.0} ms in {pages} pages ({:.0} cells/s)\n  \
         ratio: {:.2}x calamine + labelling (goal <= 3x: {})",
        ms(parse),
        ms(label),
        ms(floor),
        ms(read),
        cells / read.as_secs_f64(),
        ms(read) / ms(floor),
        if ms(read) <= 3.0 * ms(floor) {
            "met"
        } else {
            "not met"
        }
    );
}
