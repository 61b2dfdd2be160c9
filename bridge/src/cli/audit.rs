//! `office-bridge audit verify` and `office-bridge audit export --xlsx FILE`.

use std::path::Path;

use anyhow::{Context, Result, bail};
use tracker::audit_export;
use tracker::store::Store;

fn open(db: &Path) -> Result<Store> {
    if !db.exists() {
        bail!(
            "no audit log at {} yet: it is created by the first `office-bridge serve`",
            db.display()
        );
    }
    Store::open(db).with_context(|| format!("opening {}", db.display()))
}

/// What the audit key file beside the database says of the records' value hashes.
#[derive(Debug, serde::Serialize)]
struct KeyStatus {
    file: String,
    /// `matches`, `missing`, `damaged`, `different` or `unused` (no keyed records).
    state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_id: Option<String>,
    detail: String,
}

/// Checks the key file against the key ids the chain's read records carry. The chain
/// itself verifies without the key (the value hashes cannot be re-checked: the values
/// are not in the chain); what the key is needed for is matching values to records later,
/// so a missing or different key is said plainly.
fn key_status(db: &Path, hashes: &tracker::audit::ValueHashes) -> KeyStatus {
    let path = crate::audit_key::key_file_for(db);
    let file = path.display().to_string();
    let used = hashes.key_ids.join(", ");
    match crate::audit_key::load(&path) {
        Ok(Some(key)) if hashes.key_ids.is_empty() => KeyStatus {
            file,
            state: "unused",
            key_id: Some(key.id()),
            detail: "no read record is hashed with a key yet".into(),
        },
        Ok(Some(key)) if hashes.key_ids.contains(&key.id()) => KeyStatus {
            file,
            state: "matches",
            key_id: Some(key.id()),
            detail: format!("the keyed read records use key {used}"),
        },
        Ok(Some(key)) => KeyStatus {
            file,
            state: "different",
            key_id: Some(key.id()),
            detail: format!(
                "the file holds key {}, but the read records use key {used}: their values cannot be matched with it; restore the original file",
                key.id()
            ),
        },
        Ok(None) if hashes.key_ids.is_empty() => KeyStatus {
            file,
            state: "unused",
            key_id: None,
            detail: "no key file, and no read record is hashed with a key".into(),
        },
        Ok(None) => KeyStatus {
            file,
            state: "missing",
            key_id: None,
            detail: format!(
                "the read records use key {used}, and without it their values cannot be matched; restore the file from a backup (the bridge refuses reads until then)"
            ),
        },
        Err(e) => KeyStatus {
            file,
            state: "damaged",
            key_id: None,
            detail: e.root_cause().to_string(),
        },
    }
}

/// Prints the verdict; returns the exit code (0 intact, 1 broken). A missing or wrong
/// audit key is reported (a warning on stderr, `audit_key` in the JSON) but does not
/// change the exit code: the chain holds or not without it.
pub fn verify(db: &Path, json: bool) -> Result<i32> {
    let store = open(db)?;
    let report = store.verify_audit()?;
    let key = key_status(db, &report.value_hashes);
    if json {
        let mut out = serde_json::to_value(&report)?;
        out["audit_key"] = serde_json::to_value(&key)?;
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        match &report.first_broken {
            None => {
                println!("audit chain intact: {} record(s)", report.records);
                if let (Some(seq), Some(hash)) = (report.head_seq, &report.head_hash) {
                    println!("head: record {seq}, hash {hash}");
                    println!(
                        "keep this head somewhere else to prove later that nothing was cut from the end"
                    );
                }
            }
            Some(broken) => {
                println!(
                    "audit chain BROKEN at record {}: {:?} ({})",
                    broken.seq, broken.kind, broken.detail
                );
            }
        }
        println!(
            "value hashes: {}",
            audit_export::value_hashes_text(&report.value_hashes)
        );
        match key.state {
            "matches" | "unused" => {
                println!("audit key: {} ({})", key.file, key.detail)
            }
            state => eprintln!(
                "warning: the audit key {} is {state}: {}",
                key.file, key.detail
            ),
        }
    }
    Ok(if report.ok() { 0 } else { 1 })
}

pub fn export(db: &Path, out: &Path) -> Result<()> {
    let store = open(db)?;
    let summary = audit_export::export_xlsx(&store, out)
        .with_context(|| format!("writing {}", out.display()))?;
    println!(
        "wrote {} record(s) on {} sheet(s) to {}; chain {}",
        summary.records,
        summary.sheets.len(),
        out.display(),
        if summary.verify.ok() {
            "intact"
        } else {
            "BROKEN (see the Summary sheet)"
        }
    );
    Ok(())
}
