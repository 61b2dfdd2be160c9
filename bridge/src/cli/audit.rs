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

/// Prints the verdict; returns the exit code (0 intact, 1 broken).
pub fn verify(db: &Path, json: bool) -> Result<i32> {
    let store = open(db)?;
    let report = tracker::audit::verify(&store)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
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
