//! The tamper-evident audit chain.
//!
//! Every record has a sequence number (1, 2, ...), a time, a kind, a JSON body and the hash
//! of the previous record (64 zeros for the first). Its own hash is SHA-256 over a
//! length-prefixed encoding of those five fields, with the body in a canonical JSON form
//! (object keys sorted, no whitespace) produced by [`canonical_json`] — we do not rely on
//! serde_json's map order, which changes if any crate in the build enables
//! `preserve_order`. Records are appended by the [`Store`](crate::store::Store) inside the
//! same SQLite transaction as the data they describe, so a record is durable before the
//! decision it records takes effect.
//!
//! The audit log never holds raw cell values: reads are recorded by location, count and an
//! HMAC-SHA-256 of the values under the install's key (`values_hmac`, with the key's id in
//! `values_key`; see [`crate::audit_key`]). Records from before keys existed carry a plain
//! SHA-256 (`values_sha256`) and verify as they were: the record hash below covers the
//! body whatever hash of the values it holds, and needs no key. [`verify_rows`] counts both
//! kinds ([`ValueHashes`]); it cannot re-check a value hash, since the values are not in
//! the chain.
//!
//! ## What [`verify_rows`] can and cannot catch
//!
//! - **Edited**: a record whose stored hash no longer matches its fields; or a record that
//!   was rewritten *and* re-hashed, which breaks the next record's link.
//! - **Removed**: a gap in the sequence numbers, or (after renumbering) a record linking to
//!   a hash that is no longer in the chain.
//! - **Reordered**: a record whose previous-hash names a record that exists elsewhere in the
//!   chain.
//! - **Truncated**: the tail was cut off. A chain's last record links to nothing after it,
//!   so truncation is only visible through the *head anchor* (last seq and hash), which the
//!   store updates in the same transaction as every append, in a separate table.
//!
//! Limits: the anchor lives in the same database file. Someone who can write the file can
//! truncate the tail *and* rewrite the anchor, or rewrite the whole chain from any point
//! with fresh hashes; the chain alone cannot tell. To catch that, the head (seq + hash)
//! must also be kept somewhere the attacker cannot write (printed by `audit verify`,
//! exported to the auditor, sent to a log server). An export workbook records the head it
//! saw, so a later truncation below it is visible by comparison.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::UnixMillis;

/// The previous-hash of the first record.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Domain separation for the record hash, versioned so the encoding can change later.
const HASH_DOMAIN: &[u8] = b"office-bridge audit record v1";

/// Record kinds written by the tracker. Kinds are open strings so the bridge can add its
/// own; these are the ones the store writes.
pub mod kinds {
    /// Cells read from a document: location, count and a hash of the values, never the values.
    pub const READ: &str = "read";
    /// A checked write's final outcome: written or not, and each transfer's outcome.
    pub const WRITE: &str = "write";
    /// A transfer found in a write: source cells, target, location, strength, sensitivity.
    pub const FLOW: &str = "flow";
    /// The policy's decision for one transfer, with its reason.
    pub const DECISION: &str = "decision";
    /// A deletion the agent asked for, with its decision.
    pub const DELETION: &str = "deletion";
    /// An approval closed: by whom, how, and why.
    pub const APPROVAL: &str = "approval";
    /// The administrator's policy, recorded each time it changes.
    pub const POLICY: &str = "policy";
    /// A person marked a range or sheet's sensitivity in the Excel pane.
    pub const LABEL_SET: &str = "label_set";
    /// The person's standing choices, as they stand after a change.
    pub const CHOICES: &str = "choices";
    /// What was learned of a document's sensitivity label (from its pane or its file).
    pub const SENSITIVITY_LABEL: &str = "sensitivity_label";
    /// A read returned text that looks like instructions aimed at an AI agent: where and
    /// why (never the text). Writes for an hour after are decided by
    /// `flows.after_flagged_instructions`.
    pub const INSTRUCTIONS_FLAGGED: &str = "instructions_flagged";
    /// A write's decision by `flows.after_flagged_instructions`, apart from its transfers'.
    pub const AFTER_INSTRUCTIONS: &str = "after_instructions";
}

/// One record of the chain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Position in the chain: 1 for the first record, no gaps.
    pub seq: u64,
    /// When it was appended.
    pub at: UnixMillis,
    /// What it records (one of [`kinds`], or a kind of the bridge's own).
    pub kind: String,
    /// The record's content.
    pub body: serde_json::Value,
    /// The previous record's hash ([`GENESIS_HASH`] for the first).
    pub prev_hash: String,
    /// This record's hash over the five fields above.
    pub hash: String,
}

/// A record exactly as stored, body as text, for verification (an edited body may not even
/// be JSON any more).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawAuditRow {
    /// The stored seq (signed, as SQLite keeps it).
    pub seq: i64,
    /// The stored time.
    pub at: i64,
    /// The stored kind.
    pub kind: String,
    /// The stored body text, which may no longer be JSON.
    pub body: String,
    /// The stored previous hash.
    pub prev_hash: String,
    /// The stored hash.
    pub hash: String,
}

/// Canonical JSON: object keys sorted by their UTF-8 bytes, no insignificant whitespace,
/// strings escaped as serde_json escapes them, numbers as serde_json prints them.
pub fn canonical_json(v: &serde_json::Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => push_json_string(s, out),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(x, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            let mut entries: Vec<(&String, &Value)> = m.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (k, x)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_json_string(k, out);
                out.push(':');
                write_canonical(x, out);
            }
            out.push('}');
        }
    }
}

fn push_json_string(s: &str, out: &mut String) {
    // serde_json's string escaping is deterministic; serializing a &str cannot fail.
    match serde_json::to_string(s) {
        Ok(q) => out.push_str(&q),
        Err(_) => out.push_str("\"\""),
    }
}

/// The record hash: SHA-256 over domain || seq || at || len+kind || len+body || len+prev,
/// integers big-endian 8 bytes. Length prefixes make the encoding unambiguous (no field can
/// bleed into the next).
pub fn record_hash(
    seq: u64,
    at: UnixMillis,
    kind: &str,
    canonical_body: &str,
    prev_hash: &str,
) -> String {
    let mut h = Sha256::new();
    h.update(HASH_DOMAIN);
    h.update(seq.to_be_bytes());
    h.update(at.to_be_bytes());
    for part in [
        kind.as_bytes(),
        canonical_body.as_bytes(),
        prev_hash.as_bytes(),
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    hex::encode(h.finalize())
}

fn count_value_hash(v: &mut ValueHashes, r: &RawAuditRow) {
    let Ok(body) = serde_json::from_str::<serde_json::Value>(&r.body) else {
        return;
    };
    if body.get("values_hmac").is_some() {
        v.keyed += 1;
        v.first_keyed_seq.get_or_insert(r.seq.max(0) as u64);
        if let Some(id) = body.get("values_key").and_then(|k| k.as_str())
            && !v.key_ids.iter().any(|k| k == id)
        {
            v.key_ids.push(id.to_string());
        }
    } else if body.get("values_sha256").is_some() {
        v.plain += 1;
    }
}

/// How the chain is broken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BreakKind {
    /// A record's contents no longer match its hash, or a record was rewritten and re-hashed.
    Edited,
    /// Records are missing: a gap in the seqs, or a link to a hash no longer in the chain.
    Removed,
    /// A record links to one that sits elsewhere in the chain.
    Reordered,
    /// The chain ends before its head anchor: the tail was cut off.
    Truncated,
}

/// The first place the chain does not hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokenLink {
    /// The record where the break shows.
    pub seq: u64,
    /// What kind of break it is.
    pub kind: BreakKind,
    /// What was found, in words.
    pub detail: String,
}

/// How the reads' value hashes in the chain were made.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValueHashes {
    /// Reads with a plain SHA-256 of their values (`values_sha256`, before keyed hashes).
    pub plain: u64,
    /// Reads with an HMAC under an audit key (`values_hmac`).
    pub keyed: u64,
    /// The ids of the keys those HMACs were made with (`values_key`), in first-seen order.
    pub key_ids: Vec<String>,
    /// The first keyed read's seq.
    pub first_keyed_seq: Option<u64>,
}

/// What [`verify_rows`] found: how many records, the head, and the first break if any.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// Records present in the store.
    pub records: u64,
    /// How the reads' value hashes were made (over the records checked).
    #[serde(default)]
    pub value_hashes: ValueHashes,
    /// Seq and hash of the last record, when there is one.
    pub head_seq: Option<u64>,
    /// The last record's hash, when there is one.
    pub head_hash: Option<String>,
    /// The first break found; `None` when the chain holds.
    pub first_broken: Option<BrokenLink>,
}

impl VerifyReport {
    /// True when no break was found.
    pub fn ok(&self) -> bool {
        self.first_broken.is_none()
    }
}

/// Checks a whole chain, given as its rows in seq order and the head anchor (seq, hash)
/// the store keeps beside it. Returns the first break found. The rows are given, not
/// fetched: this module knows records and hashes, not where they are kept
/// (`Store::verify_audit` reads them).
pub fn verify_rows(rows: &[RawAuditRow], anchor: Option<(i64, String)>) -> VerifyReport {
    let records = rows.len() as u64;
    let last = rows.last();
    let mut report = VerifyReport {
        records,
        head_seq: last.map(|r| r.seq.max(0) as u64),
        head_hash: last.map(|r| r.hash.clone()),
        value_hashes: ValueHashes::default(),
        first_broken: None,
    };
    let broken = |seq: i64, kind, detail: String| BrokenLink {
        seq: seq.max(0) as u64,
        kind,
        detail,
    };
    // Where each stored hash sits, to recognise links to records elsewhere in the chain.
    let by_hash: HashMap<&str, i64> = rows.iter().map(|r| (r.hash.as_str(), r.seq)).collect();

    let mut expected: i64 = 1;
    let mut prev_hash = GENESIS_HASH.to_string();
    for (i, r) in rows.iter().enumerate() {
        if r.seq != expected {
            let b = if r.seq > expected {
                let detail = if r.seq == expected + 1 {
                    format!(
                        "record {expected} is missing (the chain jumps from {} to {})",
                        expected - 1,
                        r.seq
                    )
                } else {
                    format!("records {expected} to {} are missing", r.seq - 1)
                };
                broken(expected, BreakKind::Removed, detail)
            } else {
                // Seq is the primary key, so a smaller seq here means a non-positive one.
                broken(
                    expected,
                    BreakKind::Reordered,
                    format!(
                        "record with seq {} found where {expected} was expected",
                        r.seq
                    ),
                )
            };
            report.first_broken = Some(b);
            return report;
        }
        let computed = record_hash(r.seq as u64, r.at, &r.kind, &r.body, &r.prev_hash);
        if r.prev_hash != prev_hash {
            let b = match by_hash.get(r.prev_hash.as_str()) {
                Some(&other) if other != r.seq - 1 => broken(
                    r.seq,
                    BreakKind::Reordered,
                    format!(
                        "record {} links to the record now at seq {other}, not to record {}",
                        r.seq,
                        r.seq - 1
                    ),
                ),
                _ if i > 0 && computed == r.hash => {
                    // This record is intact but its predecessor is not the one it was
                    // chained to, and seqs are contiguous: the predecessor was rewritten
                    // and re-hashed (or records were removed and the rest renumbered,
                    // which also needs re-hashing).
                    broken(
                        r.seq - 1,
                        BreakKind::Edited,
                        format!(
                            "record {} was rewritten or replaced: record {} still links to a different hash ({})",
                            r.seq - 1,
                            r.seq,
                            short(&r.prev_hash)
                        ),
                    )
                }
                _ => broken(
                    r.seq,
                    BreakKind::Removed,
                    format!(
                        "record {} links to a record that is no longer in the chain ({})",
                        r.seq,
                        short(&r.prev_hash)
                    ),
                ),
            };
            report.first_broken = Some(b);
            return report;
        }
        if computed != r.hash {
            report.first_broken = Some(broken(
                r.seq,
                BreakKind::Edited,
                format!(
                    "record {} ({}) does not match its hash: its contents were changed",
                    r.seq, r.kind
                ),
            ));
            return report;
        }
        if r.kind == kinds::READ {
            count_value_hash(&mut report.value_hashes, r);
        }
        prev_hash = r.hash.clone();
        expected += 1;
    }
    let last_seq = expected - 1;
    match anchor {
        None if last_seq > 0 => {
            report.first_broken = Some(broken(
                last_seq,
                BreakKind::Truncated,
                "the head anchor is missing, so the end of the chain cannot be confirmed"
                    .to_string(),
            ));
        }
        None => {}
        Some((seq, _)) if seq > last_seq => {
            report.first_broken = Some(broken(
                last_seq + 1,
                BreakKind::Truncated,
                format!(
                    "the chain ends at {last_seq} but the head anchor says it ran to {seq}: records {} to {seq} were cut off",
                    last_seq + 1
                ),
            ));
        }
        Some((seq, _)) if seq < last_seq => {
            report.first_broken = Some(broken(
                seq + 1,
                BreakKind::Edited,
                format!(
                    "records {} to {last_seq} were added outside the store (the head anchor ends at {seq})",
                    seq + 1
                ),
            ));
        }
        Some((seq, hash)) if hash != prev_hash => {
            report.first_broken = Some(broken(
                seq,
                BreakKind::Edited,
                format!(
                    "record {seq} differs from the one the head anchor recorded ({})",
                    short(&hash)
                ),
            ));
        }
        Some(_) => {}
    }
    report
}

fn short(h: &str) -> String {
    h.chars().take(12).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let v = json!({"b": 1, "a": {"z": [1, {"y": true, "x": null}], "c": "é\"\n"}});
        assert_eq!(
            canonical_json(&v),
            r#"{"a":{"c":"é\"\n","z":[1,{"x":null,"y":true}]},"b":1}"#
        );
        // Same value built in another key order: same text.
        let mut m = serde_json::Map::new();
        m.insert("b".into(), json!(1));
        m.insert(
            "a".into(),
            json!({"c": "é\"\n", "z": [1, {"x": null, "y": true}]}),
        );
        assert_eq!(
            canonical_json(&serde_json::Value::Object(m)),
            canonical_json(&v)
        );
        assert_eq!(canonical_json(&json!(1.5)), "1.5");
    }

    #[test]
    fn hash_is_length_prefixed() {
        // Moving a byte between kind and body must change the hash.
        let a = record_hash(1, 0, "ab", "c", GENESIS_HASH);
        let b = record_hash(1, 0, "a", "bc", GENESIS_HASH);
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(a, record_hash(1, 0, "ab", "c", GENESIS_HASH));
    }
}
