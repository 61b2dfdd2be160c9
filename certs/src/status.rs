//! `office-bridge certs status`: what exists, when it expires and where it is trusted. Reads
//! only; never creates or repairs anything, so it is safe to run at any time.

use std::fmt;
use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use crate::trust::TrustEnv;
use crate::{CertError, CertInfo, CertPaths, RENEW_BEFORE, fsutil, leaf_verifies, parse_cert_pem};

/// One certificate or key file: whether it is there, when it expires, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStatus {
    /// Where the file is expected.
    pub path: PathBuf,
    /// Whether anything is at that path.
    pub exists: bool,
    /// For certificates that parse.
    pub not_after: Option<OffsetDateTime>,
    /// Whole days until `not_after` (negative once expired).
    pub days_left: Option<i64>,
    /// Unix permission bits, when known.
    pub mode: Option<u32>,
    /// Anything wrong with the file, in words.
    pub problem: Option<String>,
}

/// Whether one store trusts the local CA, as far as a read-only query can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustState {
    /// The store holds this very CA.
    Trusted,
    /// It does not, or holds another CA under our name; the text says which.
    NotTrusted(String),
    /// It could not be checked (no CA yet, a query tool missing ...); the text says why.
    Unknown(String),
}

/// The trust state of one store, with the fix when it is not trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustStoreState {
    /// The store, as shown to the person.
    pub store: String,
    /// Whether it trusts the CA.
    pub state: TrustState,
    /// One line to run when the state is not what it should be.
    pub fix: Option<String>,
}

/// The report of `office-bridge certs status` (its text is the `Display` impl).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertStatus {
    /// The certificate folder.
    pub dir: PathBuf,
    /// The CA certificate file.
    pub ca_cert: FileStatus,
    /// The CA's private key file (a problem when others may read it).
    pub ca_key: FileStatus,
    /// The `localhost` leaf certificate file.
    pub leaf_cert: FileStatus,
    /// The leaf's private key file.
    pub leaf_key: FileStatus,
    /// The CA's subject, when its certificate parses.
    pub ca_subject: Option<String>,
    /// SHA-256 of the CA certificate in hex, to compare with a trust store's view.
    pub ca_fingerprint_sha256: Option<String>,
    /// The names the leaf covers (`DNS:localhost`, `IP:127.0.0.1` ...).
    pub leaf_sans: Vec<String>,
    /// `None` when either certificate is missing or unreadable.
    pub leaf_chains_to_ca: Option<bool>,
    /// Why the next `serve` will renew the leaf, if it will.
    pub leaf_renewal_due: Option<String>,
    /// Each trust store's state.
    pub trust: Vec<TrustStoreState>,
}

/// Status against the real machine's trust stores.
pub fn status(paths: &CertPaths, now: OffsetDateTime) -> Result<CertStatus, CertError> {
    status_with(paths, now, &TrustEnv::system())
}

fn cert_file(path: &Path, now: OffsetDateTime) -> (FileStatus, Option<CertInfo>) {
    let mut fs = FileStatus {
        path: path.to_path_buf(),
        exists: path.exists(),
        not_after: None,
        days_left: None,
        mode: fsutil::mode(path),
        problem: None,
    };
    if !fs.exists {
        return (fs, None);
    }
    let info = match std::fs::read_to_string(path) {
        Ok(text) => match parse_cert_pem(&text) {
            Ok(info) => Some(info),
            Err(r) => {
                fs.problem = Some(r);
                None
            }
        },
        Err(e) => {
            fs.problem = Some(format!("cannot read: {e}"));
            None
        }
    };
    if let Some(info) = &info {
        fs.not_after = Some(info.not_after);
        fs.days_left = Some((info.not_after - now).whole_days());
        if now >= info.not_after {
            fs.problem = Some("expired".into());
        }
    }
    (fs, info)
}

fn key_file(path: &Path) -> FileStatus {
    let exists = path.exists();
    let mode = fsutil::mode(path);
    let problem = match mode {
        Some(m) if exists && m & 0o077 != 0 => Some(format!(
            "readable by others (mode {m:o}); fix: chmod 600 '{}'",
            path.display()
        )),
        _ => None,
    };
    FileStatus {
        path: path.to_path_buf(),
        exists,
        not_after: None,
        days_left: None,
        mode,
        problem,
    }
}

/// Status with an injected trust environment (tests, or a caller that built its own).
pub fn status_with(
    paths: &CertPaths,
    now: OffsetDateTime,
    env: &TrustEnv,
) -> Result<CertStatus, CertError> {
    let (ca_cert, ca) = cert_file(&paths.ca_cert(), now);
    let (leaf_cert, leaf) = cert_file(&paths.leaf_cert(), now);
    let ca_key = key_file(&paths.ca_key());
    let leaf_key = key_file(&paths.leaf_key());
    let leaf_chains_to_ca = match (&ca, &leaf) {
        (Some(ca), Some(leaf)) => Some(
            leaf_verifies(
                &ca.der,
                &leaf.der,
                leaf.not_before + time::Duration::seconds(1),
            )
            .is_ok(),
        ),
        _ => None,
    };
    let leaf_renewal_due = match &leaf {
        None if ca.is_some() => {
            Some("no usable leaf; the next `office-bridge serve` creates one".into())
        }
        None => None,
        Some(l) if now >= l.not_after => {
            Some("expired; the next `office-bridge serve` renews it".into())
        }
        Some(l) if now + RENEW_BEFORE >= l.not_after => {
            Some("expires soon; the next `office-bridge serve` renews it".into())
        }
        Some(l) if !l.missing_sans().is_empty() => Some(format!(
            "does not cover {}; the next `office-bridge serve` renews it",
            l.missing_sans().join(", ")
        )),
        Some(_) if leaf_chains_to_ca == Some(false) => {
            Some("not signed by the current CA; the next `office-bridge serve` renews it".into())
        }
        Some(_) => None,
    };
    Ok(CertStatus {
        dir: paths.dir.clone(),
        ca_subject: ca.as_ref().map(|c| c.subject.clone()),
        ca_fingerprint_sha256: ca.as_ref().map(|c| crate::fingerprint_sha256(&c.der)),
        leaf_sans: leaf.as_ref().map(CertInfo::san_strings).unwrap_or_default(),
        leaf_chains_to_ca,
        leaf_renewal_due,
        trust: crate::trust::check(paths, env),
        ca_cert,
        ca_key,
        leaf_cert,
        leaf_key,
    })
}

impl CertStatus {
    /// True when the CA is trusted everywhere we could check and the leaf needs nothing.
    pub fn all_good(&self) -> bool {
        self.ca_cert.problem.is_none()
            && self.ca_cert.exists
            && self.leaf_renewal_due.is_none()
            && self.leaf_chains_to_ca == Some(true)
            && !self
                .trust
                .iter()
                .any(|t| matches!(t.state, TrustState::NotTrusted(_)))
    }
}

fn write_file(f: &mut fmt::Formatter<'_>, label: &str, s: &FileStatus) -> fmt::Result {
    write!(f, "  {label:<12} {}", s.path.display())?;
    if !s.exists {
        write!(f, "  [missing]")?;
    } else {
        if let (Some(na), Some(d)) = (s.not_after, s.days_left) {
            write!(f, "  expires {} ({d} days left)", na.date())?;
        }
        if let Some(m) = s.mode {
            write!(f, "  mode {m:o}")?;
        }
    }
    if let Some(p) = &s.problem {
        write!(f, "  PROBLEM: {p}")?;
    }
    writeln!(f)
}

impl fmt::Display for CertStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Certificates in {}", self.dir.display())?;
        write_file(f, "CA cert", &self.ca_cert)?;
        write_file(f, "CA key", &self.ca_key)?;
        write_file(f, "leaf cert", &self.leaf_cert)?;
        write_file(f, "leaf key", &self.leaf_key)?;
        if !self.ca_cert.exists {
            writeln!(f, "No CA yet: run `office-bridge serve` once to create it.")?;
        }
        if let Some(s) = &self.ca_subject {
            writeln!(f, "CA subject:  {s}")?;
        }
        if let Some(fp) = &self.ca_fingerprint_sha256 {
            writeln!(f, "CA SHA-256:  {fp}")?;
        }
        if !self.leaf_sans.is_empty() {
            writeln!(f, "Leaf names:  {}", self.leaf_sans.join(", "))?;
        }
        match self.leaf_chains_to_ca {
            Some(true) => writeln!(f, "Leaf chain:  signed by this CA")?,
            Some(false) => writeln!(f, "Leaf chain:  NOT signed by this CA")?,
            None => {}
        }
        if let Some(r) = &self.leaf_renewal_due {
            writeln!(f, "Leaf:        {r}")?;
        }
        writeln!(f, "Trust:")?;
        for t in &self.trust {
            let state = match &t.state {
                TrustState::Trusted => "trusted".to_string(),
                TrustState::NotTrusted(r) => format!("NOT trusted ({r})"),
                TrustState::Unknown(r) => format!("unknown ({r})"),
            };
            write!(f, "  {}: {state}", t.store)?;
            if let Some(fix) = &t.fix {
                write!(f, "\n    fix: {fix}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}
