//! The audit chain forwarded to a real syslog collector (rsyslog, Debian's package, started
//! here): every record arrives as an RFC 5424 message with its kind, sequence number and
//! hash, none with a cell's value; records made while the collector is down arrive when it
//! is back; a restart of the bridge resends nothing already sent; over TLS the collector's
//! certificate is checked against the policy's CA file.
#![cfg(unix)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::TestBridge;
use common::office::{SimPane, call_ok, workbook};
use serde_json::json;

fn rsyslogd() -> Option<PathBuf> {
    ["/usr/sbin/rsyslogd", "/sbin/rsyslogd"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .or_else(|| {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "rsyslog is needed under CI (tests/run.sh installs it)"
            );
            eprintln!("rsyslogd not found: install rsyslog to run this test");
            None
        })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An rsyslogd in the foreground, writing each message it receives as `MSGID SD MSG` to
/// `out`.
struct Collector {
    child: Child,
}

impl Collector {
    fn start(bin: &Path, dir: &Path, port: u16, tls: Option<(&Path, &Path, &Path)>) -> Collector {
        let work = dir.join("work");
        std::fs::create_dir_all(&work).unwrap();
        let out = dir.join("out.log");
        let (global, module) = match tls {
            Some((ca, cert, key)) => (
                format!(
                    "global(workDirectory=\"{}\" DefaultNetstreamDriver=\"gtls\" DefaultNetstreamDriverCAFile=\"{}\" DefaultNetstreamDriverCertFile=\"{}\" DefaultNetstreamDriverKeyFile=\"{}\")",
                    work.display(),
                    ca.display(),
                    cert.display(),
                    key.display()
                ),
                "module(load=\"imtcp\" StreamDriver.Name=\"gtls\" StreamDriver.Mode=\"1\" StreamDriver.AuthMode=\"anon\")".to_string(),
            ),
            None => (
                format!("global(workDirectory=\"{}\")", work.display()),
                "module(load=\"imtcp\")".to_string(),
            ),
        };
        let conf = format!(
            "{global}\n{module}\n\
             template(name=\"raw\" type=\"string\" string=\"%msgid% %structured-data% %msg%\\n\")\n\
             ruleset(name=\"fwd\") {{ action(type=\"omfile\" file=\"{}\" template=\"raw\") }}\n\
             input(type=\"imtcp\" port=\"{port}\" address=\"127.0.0.1\" ruleset=\"fwd\")\n",
            out.display()
        );
        let conf_path = dir.join("rsyslog.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let child = Command::new(bin)
            .arg("-n")
            .arg("-f")
            .arg(&conf_path)
            .arg("-i")
            .arg(dir.join("rsyslogd.pid"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("rsyslogd.err")).unwrap())
            .spawn()
            .unwrap();
        // Listening once a connection is accepted.
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "rsyslogd did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Collector { child }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the collector wrote: seq -> (kind, the whole line), and how often each seq came.
fn received(dir: &Path) -> (BTreeMap<u64, String>, BTreeMap<u64, usize>) {
    let text = std::fs::read_to_string(dir.join("out.log")).unwrap_or_default();
    let (mut lines, mut counts) = (BTreeMap::new(), BTreeMap::new());
    for line in text.lines() {
        let Some(seq) = line
            .split("seq=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .and_then(|s| s.parse::<u64>().ok())
        else {
            continue;
        };
        *counts.entry(seq).or_insert(0) += 1;
        lines.insert(seq, line.to_string());
    }
    (lines, counts)
}

/// Waits until the collector holds every record up to the bridge's last one.
async fn wait_for_all(bridge_data: &Path, dir: &Path) -> BTreeMap<u64, String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let head = audit_head(bridge_data);
        let (lines, _) = received(dir);
        if head > 0 && (1..=head).all(|s| lines.contains_key(&s)) {
            return lines;
        }
        assert!(
            Instant::now() < deadline,
            "the collector has {:?} of 1..={head}; rsyslogd said: {}",
            lines.keys().collect::<Vec<_>>(),
            std::fs::read_to_string(dir.join("rsyslogd.err")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn audit_head(data: &Path) -> u64 {
    common::audit_records(data).len() as u64
}

fn write_policy(data: &Path, policy: serde_json::Value) {
    std::fs::write(data.join("policy.json"), policy.to_string()).unwrap();
}

#[tokio::test]
async fn every_record_reaches_rsyslog_once_even_when_it_was_down_and_across_a_restart() {
    let Some(bin) = rsyslogd() else { return };
    let collector_dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let data = tempfile::tempdir().unwrap();
    write_policy(
        data.path(),
        json!({"audit": {"forward": [format!("tcp://127.0.0.1:{port}")]}}),
    );
    // The collector is down: the bridge records as usual, the records wait in the store.
    let bridge = TestBridge::start_configured(data, |_| {}).await;
    let excel = SimPane::open(&bridge, "excel", "Q3.xlsx", workbook()).await;
    let agent = bridge.mcp().await;
    call_ok(
        &agent,
        "excel_read_range",
        json!({"sheet": "Revenue", "range": "A1:D4"}),
    )
    .await;
    let waiting = audit_head(bridge.data_dir.path());
    assert!(waiting >= 2, "a policy record and a read at least");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(received(collector_dir.path()).0.is_empty());

    // Up: everything arrives, each record once, structured, with no cell value.
    let collector = Collector::start(&bin, collector_dir.path(), port, None);
    let lines = wait_for_all(bridge.data_dir.path(), collector_dir.path()).await;
    let read = lines
        .values()
        .find(|l| l.starts_with("read "))
        .expect("the read's record");
    assert!(read.contains("office-bridge@32473"), "{read}");
    assert!(read.contains("kind=\"read\""), "{read}");
    assert!(read.contains("document=\"Q3.xlsx\""), "{read}");
    assert!(read.contains("hash=\""), "{read}");
    for value in ["1234567.89", "1,234,568", "EMEA"] {
        assert!(
            lines.values().all(|l| !l.contains(value)),
            "a cell value reached the collector: {value}"
        );
    }
    drop(agent);
    drop(excel);

    // The bridge restarts (the collector stays down meanwhile): only new records are sent.
    drop(collector);
    let data = bridge.stop().await;
    let bridge = TestBridge::start_configured(data, |_| {}).await;
    let excel = SimPane::open(&bridge, "excel", "Q3.xlsx", workbook()).await;
    let agent = bridge.mcp().await;
    call_ok(
        &agent,
        "excel_read_range",
        json!({"sheet": "Revenue", "range": "A1:B2"}),
    )
    .await;
    let _collector = Collector::start(&bin, collector_dir.path(), port, None);
    wait_for_all(bridge.data_dir.path(), collector_dir.path()).await;
    let (_, counts) = received(collector_dir.path());
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent more than once: {twice:?}");
    drop(agent);
    drop(excel);
    bridge.assert_audit_intact().await;
}

#[tokio::test]
async fn over_tls_the_collector_is_checked_against_the_policys_ca() {
    let Some(bin) = rsyslogd() else { return };
    let collector_dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // The collector's certificate: a CA and a localhost certificate made by the same code
    // that makes the bridge's own (any CA does; this one is at hand).
    let pki = tempfile::tempdir().unwrap();
    let material = certs::ensure(
        &certs::CertPaths::new(pki.path()),
        time::OffsetDateTime::now_utc(),
    )
    .unwrap();
    let (ca, cert, key) = (
        pki.path().join("collector-ca.pem"),
        pki.path().join("collector.pem"),
        pki.path().join("collector.key"),
    );
    std::fs::write(&ca, &material.ca_pem).unwrap();
    std::fs::write(&cert, &material.leaf_pem).unwrap();
    std::fs::write(&key, &material.leaf_key_pem).unwrap();
    let _collector = Collector::start(&bin, collector_dir.path(), port, Some((&ca, &cert, &key)));

    // Trusting another CA: nothing is sent.
    let other = tempfile::tempdir().unwrap();
    let other_ca = certs::ensure(
        &certs::CertPaths::new(other.path()),
        time::OffsetDateTime::now_utc(),
    )
    .unwrap();
    let wrong = other.path().join("other-ca.pem");
    std::fs::write(&wrong, &other_ca.ca_pem).unwrap();
    let data = tempfile::tempdir().unwrap();
    write_policy(
        data.path(),
        json!({"audit": {"forward": [format!("tls://localhost:{port}")], "ca_file": wrong}}),
    );
    let bridge = TestBridge::start_configured(data, |_| {}).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        received(collector_dir.path()).0.is_empty(),
        "sent to an unverified collector"
    );
    // The right CA, live: the records arrive.
    write_policy(
        bridge.data_dir.path(),
        json!({"audit": {"forward": [format!("tls://localhost:{port}")], "ca_file": ca}}),
    );
    let lines = wait_for_all(bridge.data_dir.path(), collector_dir.path()).await;
    assert!(
        lines.values().any(|l| l.starts_with("policy ")),
        "{lines:?}"
    );
}
