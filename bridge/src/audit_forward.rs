//! Sending the audit chain to the organisation's syslog collectors (the administrator's
//! `audit.forward`): each record, as it is committed, as one RFC 5424 message over TCP
//! (`tcp://`) or TLS (`tls://`, RFC 5425), framed by octet counting (RFC 6587 3.4.1).
//!
//! A message carries the record's kind, time, sequence number and chain hashes as
//! structured data, and the record's body (documents, cell ranges, decisions, hashes of
//! values: never a cell's value, which the chain never holds) as its JSON text. Each
//! collector has a cursor in the store (`tracker::store::ForwardLog`): it moves once a
//! batch is written, so a collector that is down gets the records when it is back, from
//! where it stopped, across restarts of the bridge. A connection that breaks in the middle
//! of a batch can make the collector see the batch's first records again; each carries its
//! `seq` and `hash` to tell them apart. TCP has no acknowledgement: records written to a
//! socket that the collector then loses are not known to be lost.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tracker::audit::AuditRecord;
use tracker::policy::{AuditPolicy, ForwardScheme, ForwardTarget};
use tracker::store::ForwardLog;

/// The structured-data id of the record's fields. 32473 is the private enterprise number
/// RFC 5612 sets aside for examples and documentation: office-bridge has none of its own.
pub const SD_ID: &str = "office-bridge@32473";
/// Records sent per batch (and per cursor move).
const BATCH: usize = 500;
/// How long a connection attempt or a write may take.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// RFC 5424 PARAM-VALUE escaping: `"`, `\` and `]` take a backslash.
fn sd_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A field of the header: printable US-ASCII without spaces, at most `max` characters,
/// `-` when empty.
fn header_field(s: &str, max: usize) -> String {
    let f: String = s
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(max)
        .collect();
    if f.is_empty() { "-".into() } else { f }
}

/// Severity: warning (4) for a record of something refused (a blocked transfer, a denied
/// or expired approval), notice (5) otherwise. Facility: log audit (13).
fn priority(record: &AuditRecord) -> u8 {
    let body = record.body.to_string();
    let refused = [
        "\"action\":\"block\"",
        "\"outcome\":\"blocked\"",
        "\"outcome\":\"denied\"",
        "\"state\":\"denied\"",
    ]
    .iter()
    .any(|m| body.contains(m));
    13 * 8 + if refused { 4 } else { 5 }
}

/// One record as an RFC 5424 message, framed by octet counting (`LEN SP MSG`).
pub fn syslog_frame(record: &AuditRecord, hostname: &str, pid: u32) -> Vec<u8> {
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(record.at) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let timestamp = at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "-".into());
    let mut sd = format!(
        "[{SD_ID} seq=\"{}\" kind=\"{}\" hash=\"{}\" prev=\"{}\"",
        record.seq,
        sd_value(&record.kind),
        sd_value(&record.hash),
        sd_value(&record.prev_hash)
    );
    // The fields a SIEM filters on, where the record has them.
    for key in [
        "document",
        "target",
        "sheet",
        "cells",
        "action",
        "outcome",
        "decided_by",
        "write_id",
        "approval_id",
    ] {
        if let Some(v) = record.body.get(key) {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => continue,
                other => other.to_string(),
            };
            sd.push_str(&format!(" {key}=\"{}\"", sd_value(&text)));
        }
    }
    sd.push(']');
    let msg = format!(
        "<{}>1 {timestamp} {} office-bridge {pid} {} {sd} \u{feff}{}",
        priority(record),
        header_field(hostname, 255),
        header_field(&record.kind, 32),
        record.body
    );
    let mut frame = format!("{} ", msg.len()).into_bytes();
    frame.extend_from_slice(msg.as_bytes());
    frame
}

/// This machine's name, as the header's HOSTNAME (`-` when unknown, as RFC 5424 says).
fn hostname() -> String {
    certs::host_name().unwrap_or_else(|| "-".into())
}

/// How TLS collectors are trusted: the policy's CA file, else the system's roots.
fn tls_config(ca_file: Option<&str>) -> Result<Arc<rustls::ClientConfig>> {
    let config = match ca_file {
        Some(path) => {
            let pem = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read audit.ca_file {path}"))?;
            certs::client_config_trusting(&pem).with_context(|| format!("audit.ca_file {path}"))?
        }
        None => {
            let mut roots = rustls::RootCertStore::empty();
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                let _ = roots.add(cert);
            }
            if roots.is_empty() {
                anyhow::bail!("no system root certificates found; name a CA in audit.ca_file");
            }
            certs::client_config_with_roots(roots)?
        }
    };
    Ok(Arc::new(config))
}

type Stream = Box<dyn AsyncWrite + Unpin + Send>;

async fn connect(target: &ForwardTarget, ca_file: Option<&str>) -> Result<Stream> {
    let tcp = tokio::time::timeout(
        IO_TIMEOUT,
        TcpStream::connect((target.host.as_str(), target.port)),
    )
    .await
    .context("timed out connecting")??;
    tcp.set_nodelay(true)?;
    match target.scheme {
        ForwardScheme::Tcp => Ok(Box::new(tcp)),
        ForwardScheme::Tls => {
            let connector = tokio_rustls::TlsConnector::from(tls_config(ca_file)?);
            let name = rustls::pki_types::ServerName::try_from(target.host.clone())
                .context("the collector's host is not a valid TLS name")?;
            let tls = tokio::time::timeout(IO_TIMEOUT, connector.connect(name, tcp))
                .await
                .context("timed out in the TLS handshake")??;
            Ok(Box::new(tls))
        }
    }
}

/// Sends the chain to one collector for as long as it stays in the policy.
async fn run_collector(
    url: String,
    target: ForwardTarget,
    ca_file: Option<String>,
    database: PathBuf,
    mut commits: watch::Receiver<u64>,
    mut stop: watch::Receiver<bool>,
) {
    let (hostname, pid) = (hostname(), std::process::id());
    let mut backoff = Duration::from_secs(1);
    let mut warned = false;
    'connection: loop {
        if *stop.borrow() {
            return;
        }
        let mut stream = match connect(&target, ca_file.as_deref()).await {
            Ok(s) => {
                if warned {
                    tracing::info!(collector = %url, "audit collector reachable again");
                }
                warned = false;
                backoff = Duration::from_secs(1);
                s
            }
            Err(e) => {
                if !warned {
                    tracing::warn!(collector = %url, "audit collector unreachable, records wait in the store: {e:#}");
                    warned = true;
                }
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    _ = stop.changed() => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
                continue;
            }
        };
        loop {
            let (db, key) = (database.clone(), url.clone());
            let batch =
                tokio::task::spawn_blocking(move || -> Result<(ForwardLog, Vec<AuditRecord>)> {
                    let log = ForwardLog::open(&db)?;
                    let cursor = log.cursor(&key)?;
                    let records = log.after(cursor, BATCH)?;
                    Ok((log, records))
                })
                .await;
            let records = match batch {
                Ok(Ok((_, r))) => r,
                Ok(Err(e)) => {
                    tracing::warn!(collector = %url, "cannot read the audit chain to forward: {e:#}");
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    continue;
                }
                Err(e) => {
                    tracing::warn!("audit forwarding task failed: {e}");
                    return;
                }
            };
            if records.is_empty() {
                tokio::select! {
                    _ = commits.changed() => {}
                    () = tokio::time::sleep(Duration::from_secs(5)) => {}
                    _ = stop.changed() => return,
                }
                continue;
            }
            let mut bytes = Vec::new();
            for r in &records {
                bytes.extend(syslog_frame(r, &hostname, pid));
            }
            let sent = tokio::time::timeout(IO_TIMEOUT, async {
                stream.write_all(&bytes).await?;
                stream.flush().await
            })
            .await;
            if !matches!(sent, Ok(Ok(()))) {
                tracing::warn!(collector = %url, "sending audit records failed; reconnecting");
                continue 'connection;
            }
            let last = records.last().map(|r| r.seq).unwrap_or(0);
            let (db, key) = (database.clone(), url.clone());
            let moved =
                tokio::task::spawn_blocking(move || ForwardLog::open(&db)?.advance(&key, last))
                    .await;
            if !matches!(moved, Ok(Ok(()))) {
                tracing::warn!(collector = %url, "cannot record how far the audit chain was sent");
            }
        }
    }
}

/// Keeps one sender per collector the policy names, starting and stopping them as the
/// policy changes.
pub async fn supervise(
    mut policy: watch::Receiver<AuditPolicy>,
    database: PathBuf,
    commits: watch::Receiver<u64>,
) {
    let mut running: Vec<(String, Option<String>, watch::Sender<bool>)> = Vec::new();
    // Dropped with this future (the bridge stopping): every sender goes with it.
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        let wanted = policy.borrow_and_update().clone();
        let targets = wanted.targets();
        // Stop those no longer wanted (or whose CA changed).
        running.retain(|(url, ca, stop)| {
            let keep = targets.iter().any(|(u, _)| u == url) && *ca == wanted.ca_file;
            if !keep {
                let _ = stop.send(true);
            }
            keep
        });
        for (url, target) in targets {
            if running.iter().any(|(u, _, _)| *u == url) {
                continue;
            }
            let (stop_tx, stop_rx) = watch::channel(false);
            tracing::info!(collector = %url, "forwarding the audit chain");
            tasks.spawn(run_collector(
                url.clone(),
                target,
                wanted.ca_file.clone(),
                database.clone(),
                commits.clone(),
                stop_rx,
            ));
            running.push((url, wanted.ca_file.clone(), stop_tx));
        }
        // Senders that stopped (their collector left the policy) are reaped here.
        while tasks.try_join_next().is_some() {}
        if policy.changed().await.is_err() {
            for (_, _, stop) in &running {
                let _ = stop.send(true);
            }
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(body: serde_json::Value) -> AuditRecord {
        AuditRecord {
            seq: 42,
            at: 1_764_900_000_123,
            kind: "decision".into(),
            body,
            prev_hash: "ab".repeat(32),
            hash: "cd".repeat(32),
        }
    }

    #[test]
    fn a_record_is_one_octet_counted_rfc5424_message() {
        let r = record(
            json!({"document": "Q3 \"final\".xlsx", "target": "Board.pptx", "action": "block", "reason": "x]y"}),
        );
        let frame = syslog_frame(&r, "desk-01", 4321);
        let text = String::from_utf8(frame).unwrap();
        let (len, msg) = text.split_once(' ').unwrap();
        assert_eq!(len.parse::<usize>().unwrap(), msg.len());
        // facility 13 (log audit), severity 4 (warning: a block)
        assert!(msg.starts_with("<108>1 2025-12-05T02:00:00.123Z desk-01 office-bridge 4321 decision [office-bridge@32473 seq=\"42\" kind=\"decision\""), "{msg}");
        assert!(msg.contains(r#"document="Q3 \"final\".xlsx""#), "{msg}");
        assert!(msg.contains(r#"action="block""#), "{msg}");
        // The body after the BOM, as JSON.
        let body = msg.split_once('\u{feff}').unwrap().1;
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(body).unwrap(),
            r.body
        );
        let plain = syslog_frame(&record(json!({"action": "allow"})), "", 1);
        let plain = String::from_utf8(plain).unwrap();
        assert!(
            plain.contains("<109>1 ") && plain.contains("Z - office-bridge 1 "),
            "{plain}"
        );
    }
}
