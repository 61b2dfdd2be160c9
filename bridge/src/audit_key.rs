//! The install's audit key file (`<data dir>/audit-key`, beside the database): 32 random
//! bytes in hex, owner-only, created once, never replaced by the bridge. The tracker
//! hashes each read's values with it (HMAC-SHA-256, see `tracker::audit_key`), so the
//! audit chain's value hashes say nothing to someone without it.
//!
//! The file sits beside the database rather than in a fixed place so that `audit verify
//! --db`-style uses and the store it keys always travel together.
//!
//! A missing or damaged file is never quietly replaced once the store holds keyed
//! records: a new key would make every earlier hash unmatchable and hide that the file
//! was lost. The bridge then refuses reads (the tracker records none without the key)
//! and says why; the fix is to restore the file from a backup, or to move the database
//! aside and start a new one.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use tracker::Tracker;
use tracker::audit_key::{AuditKey, KEY_LEN};
use tracker::store::KeyedSince;

/// File name of the audit key, beside the database.
pub const AUDIT_KEY_FILE: &str = "audit-key";

/// Where the key of the database at `database` lives.
pub fn key_file_for(database: &Path) -> PathBuf {
    database.with_file_name(AUDIT_KEY_FILE)
}

/// The key in `path`; `None` when there is no file. A file that cannot be read or is not
/// a key is an error naming it.
pub fn load(path: &Path) -> Result<Option<AuditKey>> {
    match fs::read_to_string(path) {
        Ok(text) => AuditKey::parse(&text)
            .map(Some)
            .with_context(|| format!("the audit key file {} is damaged", path.display())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading the audit key {}", path.display())),
    }
}

/// The key in `path`, created on first use. `keyed` is what the store says of keyed
/// records: with some, a missing file is an error, never a new key; a key that is not
/// the one they were made with is an error too.
pub fn load_or_create(path: &Path, keyed: Option<&KeyedSince>) -> Result<AuditKey> {
    let key = match load(path)? {
        Some(key) => key,
        None => {
            if let Some(k) = keyed {
                bail!(
                    "the audit key file {} is missing, but the store's read records from record {} on hash their values with key {}; restore the file from a backup (a new key cannot be used with this store), or move the database aside to start a new one",
                    path.display(),
                    k.since_seq,
                    k.key_id
                );
            }
            create(path)?
        }
    };
    if let Some(k) = keyed
        && k.key_id != key.id()
    {
        bail!(
            "the audit key file {} holds key {}, but the store's read records from record {} on hash their values with key {}; restore the original file (a new key cannot be used with this store)",
            path.display(),
            key.id(),
            k.since_seq,
            k.key_id
        );
    }
    Ok(key)
}

/// Loads (or creates) the key beside the tracker's database and gives it to the tracker.
pub fn install(tracker: &mut Tracker) -> Result<()> {
    let path = key_file_for(tracker.database_path());
    let keyed = tracker
        .audit_keyed_since()
        .context("reading which audit key the store uses")?;
    let key = load_or_create(&path, keyed.as_ref())?;
    tracing::debug!(key_id = %key.id(), file = %path.display(), "audit key loaded");
    tracker.set_audit_key(key).context("using the audit key")?;
    Ok(())
}

/// Creates the key file atomically and owner-only: the key is written and flushed to a
/// new temporary file made 0600 before any byte is written, then moved to the final name
/// without replacing it (`persist_noclobber`), which fails if another process created the
/// key meanwhile (its key is then used: two keys never both exist under the name).
fn create(path: &Path) -> Result<AuditKey> {
    let mut bytes = [0u8; KEY_LEN];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no OS randomness: {e}"))?;
    let key = AuditKey::from_bytes(bytes);
    let dir = path
        .parent()
        .context("the audit key file has no parent directory")?;
    // A random name; nothing of the key goes into it.
    let prefix = format!(".{AUDIT_KEY_FILE}.tmp-");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(0o600));
    }
    let written = builder
        .tempfile_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))
        .and_then(|mut f| {
            f.write_all(format!("{}\n", key.to_hex()).as_bytes())
                .and_then(|()| f.as_file().sync_all())
                .with_context(|| format!("writing {}", f.path().display()))?;
            Ok(f)
        });
    // Unpersisted (an error, or the name taken), the temporary file is removed on drop.
    let placed = written.and_then(|f| match f.persist_noclobber(path) {
        Ok(_) => Ok(true),
        Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e.error).with_context(|| format!("creating {}", path.display())),
    });
    if placed? {
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        tracing::info!(file = %path.display(), "created the audit key");
        Ok(key)
    } else {
        // Another process made it first: use theirs.
        load(path)?.with_context(|| format!("{} vanished while it was created", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_owner_only_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(AUDIT_KEY_FILE);
        let key = load_or_create(&path, None).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text.trim().len(), 64);
        assert_eq!(load_or_create(&path, None).unwrap(), key);
        // Only the key file is left, no temporary one.
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [AUDIT_KEY_FILE]);
        // Another install gets another key.
        let other = tempfile::tempdir().unwrap();
        let theirs = load_or_create(&other.path().join(AUDIT_KEY_FILE), None).unwrap();
        assert_ne!(theirs, key);
        assert_ne!(theirs.id(), key.id());
    }

    #[test]
    fn a_missing_or_damaged_key_is_an_error_once_the_store_is_keyed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(AUDIT_KEY_FILE);
        let key = load_or_create(&path, None).unwrap();
        let keyed = KeyedSince {
            key_id: key.id(),
            since_seq: 12,
        };
        assert_eq!(load_or_create(&path, Some(&keyed)).unwrap(), key);

        fs::remove_file(&path).unwrap();
        let e = format!("{:#}", load_or_create(&path, Some(&keyed)).unwrap_err());
        assert_eq!(
            e,
            format!(
                "the audit key file {} is missing, but the store's read records from record 12 on hash their values with key {}; restore the file from a backup (a new key cannot be used with this store), or move the database aside to start a new one",
                path.display(),
                key.id()
            )
        );
        assert!(!path.exists(), "no new key was made");

        fs::write(&path, "not a key\n").unwrap();
        let e = format!("{:#}", load_or_create(&path, Some(&keyed)).unwrap_err());
        assert_eq!(
            e,
            format!(
                "the audit key file {} is damaged: the audit key must be 64 hexadecimal characters (32 bytes); found 9 characters",
                path.display()
            )
        );
        // Damaged is an error even before any keyed record: never silently replaced.
        assert!(load_or_create(&path, None).is_err());
        assert_eq!(fs::read_to_string(&path).unwrap(), "not a key\n");

        let other = AuditKey::from_bytes([3; KEY_LEN]);
        fs::write(&path, other.to_hex()).unwrap();
        let e = format!("{:#}", load_or_create(&path, Some(&keyed)).unwrap_err());
        assert!(
            e.contains(&format!("holds key {}", other.id())) && e.contains(&key.id()),
            "{e}"
        );
    }

    #[test]
    fn the_tracker_gets_the_key_beside_its_database_and_refuses_reads_without_it() {
        use tracker::model::*;
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("office-bridge.sqlite3");
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
            at: 1,
            request: "r".into(),
        };
        let open = || Tracker::open(&db, Default::default()).unwrap();
        let mut t = open();
        install(&mut t).unwrap();
        t.record_read(&read).unwrap();
        let key = load(&dir.path().join(AUDIT_KEY_FILE)).unwrap().unwrap();
        let rows = t.audit_records().unwrap();
        assert_eq!(rows[0].body["values_key"], key.id());
        drop(t);

        // The key file lost: no new key, and the tracker records no read.
        fs::remove_file(key_file_for(&db)).unwrap();
        let mut t = open();
        let e = format!("{:#}", install(&mut t).unwrap_err());
        assert!(e.contains("is missing"), "{e}");
        assert!(!key_file_for(&db).exists());
        let e = t.record_read(&read).unwrap_err().to_string();
        assert!(e.contains("no audit key is set"), "{e}");
    }
}
