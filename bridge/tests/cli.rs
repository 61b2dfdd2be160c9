//! The `office-bridge` binary as a person or a script runs it.

use std::path::Path;
use std::process::{Command, Output};

use rust_xlsxwriter::{Format, Workbook};
use serde_json::Value;

fn bridge(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_office-bridge"))
        .args(args)
        .env("OFFICE_BRIDGE_DATA_DIR", data_dir)
        .env_remove("RUST_LOG")
        .output()
        .expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn serve_refuses_a_non_loopback_address() {
    let dir = tempfile::tempdir().unwrap();
    for addr in ["0.0.0.0", "192.168.1.10", "::"] {
        let o = bridge(dir.path(), &["serve", "--bind", addr, "--port", "0"]);
        assert_eq!(o.status.code(), Some(2), "{addr}");
        let err = stderr(&o);
        assert!(
            err.contains(&format!("refusing to listen on {addr}")),
            "{err}"
        );
        assert!(err.contains("loopback"), "{err}");
    }
}

#[test]
fn certs_status_names_files_and_expiry_and_token_commands_work() {
    let dir = tempfile::tempdir().unwrap();
    // Before anything exists, status says so without creating files, and its exit code
    // says something is left to do (no CA yet).
    let o = bridge(dir.path(), &["certs", "status"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(!dir.path().join("tls").join("ca.key").exists());

    let shown = bridge(dir.path(), &["token", "show"]);
    assert!(shown.status.success());
    let token = stdout(&shown).trim().to_string();
    assert_eq!(token.len(), 64);
    assert_eq!(
        stdout(&bridge(dir.path(), &["token", "show"])).trim(),
        token
    );
    let path = stdout(&bridge(dir.path(), &["token", "path"]));
    assert!(path.trim().ends_with("token"));
    // The desktop token: its own file, its own value.
    let desktop = stdout(&bridge(dir.path(), &["token", "show", "--desktop"]))
        .trim()
        .to_string();
    assert_eq!(desktop.len(), 64);
    assert_ne!(desktop, token);
    let desktop_path = stdout(&bridge(dir.path(), &["token", "path", "--desktop"]));
    assert!(
        desktop_path.trim().ends_with("desktop-token"),
        "{desktop_path}"
    );
    assert!(bridge(dir.path(), &["token", "rotate"]).status.success());
    let rotated = stdout(&bridge(dir.path(), &["token", "show"]))
        .trim()
        .to_string();
    assert_ne!(rotated, token);
    assert_eq!(
        stdout(&bridge(dir.path(), &["token", "show", "--desktop"])).trim(),
        desktop,
        "rotating the agent's token leaves the desktop token alone"
    );
    let o = bridge(dir.path(), &["token", "rotate", "--desktop"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("desktop-token"), "{}", stdout(&o));
    assert!(
        !stdout(&o).contains(&desktop),
        "rotate does not print a token"
    );
    assert_ne!(
        stdout(&bridge(dir.path(), &["token", "show", "--desktop"])).trim(),
        desktop
    );
    assert_eq!(
        stdout(&bridge(dir.path(), &["token", "show"])).trim(),
        rotated
    );
    #[cfg(unix)]
    for file in ["token", "desktop-token"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(file))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{file}");
    }

    // With certificates made (as `serve` does), status reports the paths and expiry.
    certs::ensure(
        &certs::CertPaths::new(dir.path()),
        time::OffsetDateTime::now_utc(),
    )
    .unwrap();
    let o = bridge(dir.path(), &["certs", "status"]);
    let out = stdout(&o);
    assert!(out.contains("ca.pem"), "{out}");
    assert!(out.contains("localhost.pem"), "{out}");
    if std::env::var_os("OB_UNDER_WINE").is_some() {
        // Wine's certutil is a stub that exits 0 and lists nothing: not taken for "trusted",
        // and, like any store that cannot be read, not a failure of `status` either.
        assert!(
            out.contains("unknown (certutil exited 0 without listing the CA"),
            "{out}"
        );
        assert_eq!(o.status.code(), Some(0), "{out}");
    } else {
        // The fresh CA is trusted nowhere yet (this data directory's CA was never installed).
        assert_eq!(o.status.code(), Some(1), "{out}");
    }
}

fn revenue_workbook(path: &Path) {
    let mut wb = Workbook::new();
    let money = Format::new().set_num_format("$#,##0");
    let sheet = wb.add_worksheet().set_name("Revenue").unwrap();
    for (c, h) in ["Region", "Q1", "Q2", "Q3"].iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    let rows = [
        ("EMEA", [1_234_567.89, 1_456_789.12, 1_611_022.47]),
        ("Americas", [2_345_678.91, 2_567_890.23, 2_789_012.35]),
        ("APAC", [987_654.32, 1_098_765.43, 1_209_876.54]),
    ];
    for (r, (region, values)) in rows.iter().enumerate() {
        let row = r as u32 + 1;
        sheet.write_string(row, 0, *region).unwrap();
        for (c, v) in values.iter().enumerate() {
            sheet
                .write_number_with_format(row, c as u16 + 1, *v, &money)
                .unwrap();
        }
    }
    wb.save(path).unwrap();
}

#[test]
fn scan_reports_flows_as_json_with_the_documented_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let source = d.join("Q3.xlsx");
    revenue_workbook(&source);
    let leaked = d.join("board.md");
    std::fs::write(
        &leaked,
        "# Board update\n\nRevenue by region:\n\n| Region | Q1 | Q2 | Q3 |\n|---|---|---|---|\n\
         | EMEA | $1.23M | $1.46M | $1.61M |\n| Americas | $2.35M | $2.57M | $2.79M |\n",
    )
    .unwrap();
    let clean = d.join("notes.txt");
    std::fs::write(
        &clean,
        "Agenda: welcome, hiring plan for 2025, office move on page 4.\n",
    )
    .unwrap();
    let broken = d.join("broken.pptx");
    std::fs::write(&broken, b"this is not a zip archive").unwrap();
    let s = |p: &Path| p.to_str().unwrap().to_string();

    // A confirmed flow: exit 1, JSON in the brief's shape.
    let o = bridge(
        d,
        &["scan", &s(&leaked), "--against", &s(&source), "--json"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let report: Value = serde_json::from_str(&stdout(&o)).expect("JSON on stdout");
    let target = &report["targets"][0];
    assert_eq!(target["path"], s(&leaked));
    let flow = &target["flows"][0];
    assert_eq!(flow["strength"], "confirmed");
    assert_eq!(flow["source"]["sheet"], "Revenue");
    assert!(
        flow["source"]["path"]
            .as_str()
            .unwrap()
            .ends_with("Q3.xlsx")
    );
    let cells: Vec<&str> = flow["source"]["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(cells.contains(&"B2") && cells.contains(&"D3"), "{cells:?}");
    assert!(flow["matched"].as_u64().unwrap() >= 6, "{flow}");
    assert!(flow["confidence"].as_f64().unwrap() > 0.5);
    assert!(flow["location"].as_str().is_some());

    // Nothing there: exit 0. Human output by default.
    let o = bridge(d, &["scan", &s(&clean), "--against", &s(&source)]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("no flows found"));

    // An unreadable file with nothing confirmed: exit 2, the error named per file.
    let o = bridge(
        d,
        &[
            "scan",
            &s(&clean),
            &s(&broken),
            "--against",
            &s(&source),
            "--json",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    let report: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(
        report["targets"][1]["error"]
            .as_str()
            .unwrap()
            .contains("broken.pptx")
    );
    assert_eq!(report["targets"][0]["flows"].as_array().unwrap().len(), 0);

    // A confirmed flow still wins over another file's error: exit 1, both reported.
    let o = bridge(
        d,
        &[
            "scan",
            &s(&broken),
            &s(&leaked),
            "--against",
            &s(&source),
            "--json",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    // Missing --against is a usage error (exit 2 from clap).
    let o = bridge(d, &["scan", &s(&leaked)]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn audit_verify_and_export_on_a_real_store() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = bridge(d, &["audit", "verify"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no audit log"));

    let db = d.join("office-bridge.sqlite3");
    {
        let mut store = tracker::store::Store::open(&db).unwrap();
        for i in 0..5 {
            store
                .append_audit(1_000 + i, "policy", &serde_json::json!({"n": i}))
                .unwrap();
        }
    }
    let o = bridge(d, &["audit", "verify"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("intact: 5 record(s)"));

    let xlsx = d.join("audit.xlsx");
    let o = bridge(d, &["audit", "export", "--xlsx", xlsx.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::metadata(&xlsx).unwrap().len() > 1000);

    // Edit one record behind the chain's back: verify names it and exits 1.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let changed = conn
        .execute(
            "UPDATE audit SET body = replace(body, '3', '4') WHERE seq = 4",
            [],
        )
        .unwrap();
    assert_eq!(changed, 1);
    drop(conn);
    let o = bridge(d, &["audit", "verify", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let report: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(report["first_broken"]["seq"], 4);
    assert_eq!(report["first_broken"]["kind"], "edited");
}

#[test]
fn audit_verify_passes_on_plain_records_followed_by_keyed_ones() {
    use tracker::model::*;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let db = d.join("office-bridge.sqlite3");
    let key_file = office_bridge::audit_key::key_file_for(&db);
    let key = {
        let mut store = tracker::store::Store::open(&db).unwrap();
        // Reads as an earlier version recorded them: a plain SHA-256 of the values.
        for i in 0..2 {
            store
                .append_audit(
                    1_000 + i,
                    "read",
                    &serde_json::json!({"cells": 1, "values_sha256": format!("{i:064x}")}),
                )
                .unwrap();
        }
        let key = office_bridge::audit_key::load_or_create(&key_file, None).unwrap();
        store.set_audit_key(key.clone()).unwrap();
        for at in [2_000, 3_000] {
            let read = ReadEvent {
                id: ProvenanceId::new(),
                document: DocumentRef::new(App::Excel, "Pay.xlsx", ""),
                sheets: vec![SheetRead {
                    sheet: "Pay".into(),
                    cells: vec![ReadCell {
                        addr: CellAddr::new(1, 1),
                        value: CellValue::Number(85_000.0),
                        text: None,
                        number_format: None,
                    }],
                }],
                at,
                request: "r".into(),
            };
            store.record_read(&read).unwrap();
        }
        key
    };
    let o = bridge(d, &["audit", "verify"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("intact: 4 record(s)"), "{out}");
    assert!(
        out.contains(&format!(
            "value hashes: 2 read(s) with a plain SHA-256 of their values (made before keyed hashes); 2 read(s) with an HMAC-SHA-256 under audit key {} from record 3 on",
            key.id()
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "audit key: {} (the keyed read records use key {})",
            key_file.display(),
            key.id()
        )),
        "{out}"
    );
    let o = bridge(d, &["audit", "verify", "--json"]);
    let report: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(report["audit_key"]["state"], "matches");
    assert_eq!(report["value_hashes"]["plain"], 2);
    assert_eq!(report["value_hashes"]["keyed"], 2);
    let xlsx = d.join("audit.xlsx");
    let o = bridge(d, &["audit", "export", "--xlsx", xlsx.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));

    // The key lost: the chain still verifies, and verify says plainly what is missing.
    std::fs::remove_file(&key_file).unwrap();
    let o = bridge(d, &["audit", "verify"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        stderr(&o).contains(&format!(
            "warning: the audit key {} is missing: the read records use key {}",
            key_file.display(),
            key.id()
        )),
        "{}",
        stderr(&o)
    );
    assert!(!key_file.exists(), "verify never makes a key");
    let o = bridge(d, &["audit", "verify", "--json"]);
    let report: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(report["audit_key"]["state"], "missing");
    std::fs::write(&key_file, "garbage").unwrap();
    let o = bridge(d, &["audit", "verify", "--json"]);
    let report: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(report["audit_key"]["state"], "damaged");
}

#[test]
fn manifests_are_written_for_another_port() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m");
    let o = bridge(
        dir.path(),
        &[
            "manifests",
            "--port",
            "40555",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let xml = std::fs::read_to_string(out.join("powerpoint.xml")).unwrap();
    assert!(xml.contains("https://localhost:40555/"));
    assert!(out.join("color.png").exists());
}

#[cfg(unix)]
#[test]
fn serve_prints_where_things_are_and_stops_cleanly_on_sigterm() {
    use std::io::{BufRead, BufReader};
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_office-bridge"))
        .args(["serve", "--port", "0", "--log-format", "json"])
        .env("OFFICE_BRIDGE_DATA_DIR", dir.path())
        .env("RUST_LOG", "debug")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut banner = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        banner.push_str(&line);
        banner.push('\n');
        if line.contains("Stop with Ctrl-C") {
            break;
        }
    }
    for expected in [
        "https://localhost:",
        "/mcp",
        "/addin/ws",
        "ca.pem",
        "token",
        "desktop-token",
        "Sideload",
        // Linux can tell who connects (server::peer_user).
        "connections from other OS users of this machine are refused",
    ] {
        assert!(
            banner.contains(expected),
            "banner lacks {expected}:\n{banner}"
        );
    }
    // Files made on first run, keys owner-only.
    use std::os::unix::fs::PermissionsExt;
    for key in ["tls/ca.key", "tls/localhost.key", "token", "desktop-token"] {
        let mode = std::fs::metadata(dir.path().join(key))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{key}");
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "graceful shutdown exits 0, got {status}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "serve did not stop within 10 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Logs: one JSON object per line, even at debug level, and no secret in any of them.
    let mut logs = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    let token = std::fs::read_to_string(dir.path().join("token")).unwrap();
    let desktop = std::fs::read_to_string(dir.path().join("desktop-token")).unwrap();
    let key = std::fs::read_to_string(dir.path().join("tls/localhost.key")).unwrap();
    let key_body = key.lines().nth(1).unwrap();
    assert!(
        logs.lines().count() >= 2,
        "startup and shutdown are logged:\n{logs}"
    );
    for line in logs.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(v.get("level").is_some(), "{line}");
        assert!(
            !line.contains(token.trim()) && !line.contains(desktop.trim()),
            "a token leaked into a log line"
        );
        assert!(
            !line.contains(key_body) && !line.contains("PRIVATE KEY"),
            "key material leaked"
        );
    }
}

#[test]
#[cfg_attr(
    windows,
    ignore = "needs an administrator's policy file: Wine reports every file as owned by the Wine user, so none is trusted"
)]
fn admin_disables_and_enables_and_status_says_where_values_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("etc").join("policy.json");
    let admin = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_office-bridge"))
            .arg("admin")
            .args(args)
            .env("OFFICE_BRIDGE_DATA_DIR", dir.path())
            .env("OFFICE_BRIDGE_POLICY", &policy)
            .output()
            .expect("the binary runs")
    };
    let o = admin(&["status"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("absent: the defaults apply"),
        "{}",
        stdout(&o)
    );
    let o = admin(&["disable", "powerpoint"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("The PowerPoint add-in disabled in"),
        "{}",
        stdout(&o)
    );
    let o = admin(&["status"]);
    let out = stdout(&o);
    let line = out
        .lines()
        .find(|l| l.contains("addins.powerpoint.enabled"))
        .expect("the setting is listed");
    assert!(
        line.contains("false") && line.contains("set in the file"),
        "{line}"
    );
    let line = out.lines().find(|l| l.contains("flows.default")).unwrap();
    assert!(
        line.contains("notify") && line.contains("default"),
        "{line}"
    );
    let o = admin(&["status", "--json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v["policy"]["addins"]["powerpoint"]["enabled"],
        Value::Bool(false)
    );
    let o = admin(&["enable", "powerpoint"]);
    assert!(o.status.success());
    std::fs::write(&policy, "{ broken").unwrap();
    let o = admin(&["disable", "excel"]);
    assert_eq!(o.status.code(), Some(2), "refused");
    assert!(stderr(&o).contains("fix it first"), "{}", stderr(&o));
    let o = admin(&["status"]);
    assert!(stdout(&o).contains("NOT USED"), "{}", stdout(&o));
}

#[test]
fn serve_does_not_start_with_a_damaged_audit_key() {
    // A bridge that would refuse every read must say so at start, not run and refuse.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("audit-key"), "not a key\n").unwrap();
    let policy = dir.path().join("policy.json");
    let o = Command::new(env!("CARGO_BIN_EXE_office-bridge"))
        .args(["serve", "--port", "0"])
        .env("OFFICE_BRIDGE_DATA_DIR", dir.path())
        .env("OFFICE_BRIDGE_POLICY", &policy)
        .env_remove("RUST_LOG")
        .output()
        .expect("the binary runs");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("loading the audit key"), "{err}");
    assert!(err.contains("audit-key"), "{err}");
    assert!(!stdout(&o).contains("is running"), "{}", stdout(&o));
}
