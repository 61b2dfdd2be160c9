//! office-bridge's local certificate authority and its `localhost` leaf certificate.
//!
//! Office task panes must be served over HTTPS that the host's web view trusts. Instead of a
//! public certificate we keep a tiny CA in the data directory, trust it once per user
//! ([`trust::install`]) and mint a short-lived leaf for `localhost`, `127.0.0.1` and `::1`
//! from it. The leaf is renewed on every start when needed; the CA is never replaced behind
//! the person's back, because they may already have trusted it.

// Public items say what they are: other crates (the bridge, tools) build on them.
#![warn(missing_docs)]

mod fsutil;
mod status;
pub mod trust;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, GeneralSubtree, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    NameConstraints, SanType,
};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

pub use status::{CertStatus, FileStatus, TrustState, TrustStoreState, status, status_with};

/// Renew the leaf this long before it expires, so a bridge left running for weeks, or a
/// clock that is slightly off, never serves an expired certificate.
pub const RENEW_BEFORE: Duration = Duration::days(30);
/// Apple platforms reject TLS server certificates valid for more than 825 days; 180 keeps us
/// far inside that and still renews rarely.
pub const LEAF_VALIDITY: Duration = Duration::days(180);
/// Long enough that people install trust once; short enough to not outlive the machine.
pub const CA_VALIDITY: Duration = Duration::days(3650);
/// Names every leaf must cover: Office web views load panes from any of them.
pub const REQUIRED_DNS_SANS: &[&str] = &["localhost"];
/// Addresses every leaf must cover: the IPv4 and IPv6 loopback, for clients that connect by
/// address rather than by name.
pub const REQUIRED_IP_SANS: &[IpAddr] = &[
    IpAddr::V4(Ipv4Addr::LOCALHOST),
    IpAddr::V6(Ipv6Addr::LOCALHOST),
];
/// Prefix of the CA's common name; the rest names the user and host so that several people
/// sharing a machine (or one person with several machines) can tell their CAs apart.
pub const CA_CN_PREFIX: &str = "office-bridge local CA";

/// Where the certificate files live: `<data dir>/tls`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertPaths {
    /// The folder holding the four files (owner-only on unix).
    pub dir: PathBuf,
}

impl CertPaths {
    /// The certificate files of the data directory `data_dir`.
    pub fn new(data_dir: &Path) -> Self {
        Self {
            dir: data_dir.join("tls"),
        }
    }
    /// The local CA's certificate (`ca.pem`): what the person's trust stores hold.
    pub fn ca_cert(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }
    /// The local CA's private key (`ca.key`, 0600), used only to sign leaves.
    pub fn ca_key(&self) -> PathBuf {
        self.dir.join("ca.key")
    }
    /// The `localhost` leaf certificate the bridge serves (`localhost.pem`).
    pub fn leaf_cert(&self) -> PathBuf {
        self.dir.join("localhost.pem")
    }
    /// The leaf's private key (`localhost.key`, 0600).
    pub fn leaf_key(&self) -> PathBuf {
        self.dir.join("localhost.key")
    }
}

/// What [`ensure`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnsureOutcome {
    /// The CA and the leaf on disk were both still good and are used as they are.
    Reused,
    /// There was no CA: a new CA and a leaf signed by it were made (first start).
    CreatedCaAndLeaf,
    /// The CA was kept and a new leaf was made.
    RenewedLeaf {
        /// Why the old leaf could not be kept (missing, expiring, wrong names ...).
        reason: String,
    },
}

/// Everything the server needs to speak TLS, plus what to tell the person about it.
#[derive(Clone)]
pub struct Material {
    /// The CA certificate, PEM: sent after the leaf in the chain.
    pub ca_pem: String,
    /// The leaf certificate, PEM.
    pub leaf_pem: String,
    /// The leaf's private key, PEM. Never printed (see the `Debug` impl).
    pub leaf_key_pem: String,
    /// When the CA expires (it is never replaced automatically).
    pub ca_not_after: OffsetDateTime,
    /// When the leaf expires; it is renewed [`RENEW_BEFORE`] that.
    pub leaf_not_after: OffsetDateTime,
    /// SHA-256 of the CA certificate's DER, in hex, for the person to compare with what
    /// their trust store shows.
    pub ca_fingerprint_sha256: String,
    /// Whether the files were reused, created or renewed by this call.
    pub outcome: EnsureOutcome,
}

// Hand-written so that printing a Material in a log line or a panic message can never leak
// the private key.
impl fmt::Debug for Material {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Material")
            .field("ca_pem", &format_args!("<{} bytes>", self.ca_pem.len()))
            .field("leaf_pem", &format_args!("<{} bytes>", self.leaf_pem.len()))
            .field("leaf_key_pem", &format_args!("<redacted>"))
            .field("ca_not_after", &self.ca_not_after)
            .field("leaf_not_after", &self.leaf_not_after)
            .field("ca_fingerprint_sha256", &self.ca_fingerprint_sha256)
            .field("outcome", &self.outcome)
            .finish()
    }
}

/// Why the certificates could not be made, loaded, served or trusted.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// A file operation on one of the certificate files or their folder failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done, as a verb for the message (`read`, `write` ...).
        action: &'static str,
        /// The file or folder it was done to.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The existing CA cannot be used (unreadable, expired, its key lost). It is never
    /// replaced silently, since it may already be trusted.
    #[error("the local CA at {path} is unusable ({reason}); {fix}")]
    BadCa {
        /// The CA file at fault.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
        /// What the person can do: the commands to start over.
        fix: String,
    },
    /// rcgen failed to make a key or sign a certificate.
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    /// A certificate or key is not valid PEM (or not a certificate); never includes key
    /// bytes.
    #[error("invalid certificate material: {0}")]
    Pem(String),
    /// rustls refused the key and chain.
    #[error("TLS configuration failed: {0}")]
    Tls(#[from] rustls::Error),
    /// Installing or checking trust failed; the message says what to do.
    #[error("{0}")]
    Trust(String),
}

impl CertError {
    fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }

    fn bad_ca(paths: &CertPaths, file: &Path, reason: impl Into<String>) -> Self {
        Self::BadCa {
            path: file.to_path_buf(),
            reason: reason.into(),
            fix: format!(
                "the CA is never replaced automatically because it may be trusted already; \
                 to start over run `rm -r '{}'`, then `office-bridge certs install` again",
                paths.dir.display()
            ),
        }
    }
}

/// Facts read from a certificate file, enough for the renewal decision and the status report.
#[derive(Debug, Clone)]
pub(crate) struct CertInfo {
    pub der: Vec<u8>,
    pub subject: String,
    pub common_name: Option<String>,
    pub serial_hex: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub public_key: Vec<u8>,
    pub dns_sans: Vec<String>,
    pub ip_sans: Vec<IpAddr>,
}

impl CertInfo {
    pub(crate) fn san_strings(&self) -> Vec<String> {
        let mut out: Vec<String> = self.dns_sans.iter().map(|d| format!("DNS:{d}")).collect();
        out.extend(self.ip_sans.iter().map(|ip| format!("IP:{ip}")));
        out
    }

    pub(crate) fn missing_sans(&self) -> Vec<String> {
        let mut missing: Vec<String> = REQUIRED_DNS_SANS
            .iter()
            .filter(|d| !self.dns_sans.iter().any(|s| s.eq_ignore_ascii_case(d)))
            .map(|d| d.to_string())
            .collect();
        missing.extend(
            REQUIRED_IP_SANS
                .iter()
                .filter(|ip| !self.ip_sans.contains(ip))
                .map(|ip| ip.to_string()),
        );
        missing
    }
}

pub(crate) fn parse_cert_pem(pem: &str) -> Result<CertInfo, String> {
    let der = CertificateDer::from_pem_slice(pem.as_bytes())
        .map_err(|e| format!("no PEM certificate found ({e})"))?;
    let (_, x509) = X509Certificate::from_der(der.as_ref())
        .map_err(|e| format!("not a valid X.509 certificate ({e})"))?;
    let not_before = x509.validity().not_before.to_datetime();
    let not_after = x509.validity().not_after.to_datetime();
    let mut dns_sans = Vec::new();
    let mut ip_sans = Vec::new();
    if let Ok(Some(san)) = x509.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(d) => dns_sans.push(d.to_string()),
                GeneralName::IPAddress(bytes) => match bytes.len() {
                    4 => {
                        let mut a = [0u8; 4];
                        a.copy_from_slice(bytes);
                        ip_sans.push(IpAddr::from(a));
                    }
                    16 => {
                        let mut a = [0u8; 16];
                        a.copy_from_slice(bytes);
                        ip_sans.push(IpAddr::from(a));
                    }
                    _ => {}
                },
                _ => {}
            }
        }
    }
    let common_name = x509
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_owned);
    Ok(CertInfo {
        subject: x509.subject().to_string(),
        common_name,
        serial_hex: hex::encode(x509.raw_serial()),
        not_before,
        not_after,
        public_key: x509.public_key().subject_public_key.data.to_vec(),
        dns_sans,
        ip_sans,
        der: der.as_ref().to_vec(),
    })
}

/// SHA-256 over the DER, in the colon-separated upper-case form certificate viewers show, so
/// a person can compare it with what their browser or keychain displays.
pub fn fingerprint_sha256(der: &[u8]) -> String {
    let digest = Sha256::digest(der);
    let hex = hex::encode_upper(digest);
    hex.as_bytes()
        .chunks(2)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(":")
}

/// Checks that `leaf_der` chains to `ca_der` and is valid for every required name, exactly as
/// a TLS client would. `at` must lie inside the leaf's validity window when the caller only
/// wants to know about the signature and names.
pub(crate) fn leaf_verifies(
    ca_der: &[u8],
    leaf_der: &[u8],
    at: OffsetDateTime,
) -> Result<(), String> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(ca_der.to_vec()))
        .map_err(|e| format!("CA not usable as a trust anchor: {e}"))?;
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .map_err(|e| format!("cannot build verifier: {e}"))?;
    let secs = u64::try_from(at.unix_timestamp()).map_err(|_| "time before 1970".to_string())?;
    let now = UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs));
    let leaf = CertificateDer::from(leaf_der.to_vec());
    let mut names: Vec<ServerName<'static>> = REQUIRED_DNS_SANS
        .iter()
        .filter_map(|d| ServerName::try_from(*d).ok())
        .collect();
    names.extend(
        REQUIRED_IP_SANS
            .iter()
            .map(|ip| ServerName::IpAddress((*ip).into())),
    );
    for name in names {
        verifier
            .verify_server_cert(&leaf, &[], &name, &[], now)
            .map_err(|e| format!("not valid for {}: {e}", name.to_str()))?;
    }
    Ok(())
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// This machine's name, as far as it can be learned without a system call: `HOSTNAME`,
/// `COMPUTERNAME` (Windows), or `/etc/hostname`.
pub fn host_name() -> Option<String> {
    std::env::var("HOSTNAME")
        .or_else(|_| std::env::var("COMPUTERNAME"))
        .ok()
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .filter(|h| !h.is_empty())
}

fn ca_common_name() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "user".into());
    let host = host_name().unwrap_or_else(|| "localhost".into());
    format!("{CA_CN_PREFIX} ({user}@{host})")
}

/// The CA as loaded (or just created): its PEM, facts and signing key.
struct LoadedCa {
    pem: String,
    info: CertInfo,
    key: KeyPair,
}

fn create_ca(paths: &CertPaths, now: OffsetDateTime) -> Result<LoadedCa, CertError> {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, ca_common_name());
    dn.push(DnType::OrganizationName, "office-bridge");
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    // The CA only ever signs for loopback names: with these constraints a leaked CA key
    // (a copied backup of the data folder) cannot mint a certificate any client trusting
    // the CA would accept for another site.
    params.name_constraints = Some(NameConstraints {
        permitted_subtrees: REQUIRED_DNS_SANS
            .iter()
            .map(|d| GeneralSubtree::DnsName((*d).to_string()))
            .chain(REQUIRED_IP_SANS.iter().map(|ip| {
                let host_prefix = if ip.is_ipv4() { 32 } else { 128 };
                GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(*ip, host_prefix))
            }))
            .collect(),
        excluded_subtrees: Vec::new(),
    });
    // Backdate a little: a machine whose clock is a few minutes behind must still accept it.
    params.not_before = now - Duration::hours(1);
    params.not_after = now + CA_VALIDITY;
    let cert = params.self_signed(&key)?;
    let pem = cert.pem();
    // Key first, certificate last: a crash in between leaves no ca.pem, which is treated as
    // "no CA yet" rather than a CA without its key.
    fsutil::write_atomic(&paths.ca_key(), key.serialize_pem().as_bytes(), true)?;
    fsutil::write_atomic(&paths.ca_cert(), pem.as_bytes(), false)?;
    let info = parse_cert_pem(&pem).map_err(CertError::Pem)?;
    Ok(LoadedCa { pem, info, key })
}

fn load_ca(paths: &CertPaths, now: OffsetDateTime) -> Result<LoadedCa, CertError> {
    let cert_path = paths.ca_cert();
    let key_path = paths.ca_key();
    let pem = std::fs::read_to_string(&cert_path)
        .map_err(|e| CertError::bad_ca(paths, &cert_path, format!("cannot read it: {e}")))?;
    let info = parse_cert_pem(&pem).map_err(|r| CertError::bad_ca(paths, &cert_path, r))?;
    let key_pem = match std::fs::read_to_string(&key_path) {
        Ok(k) => k,
        Err(e) => {
            return Err(CertError::bad_ca(
                paths,
                &key_path,
                format!("its private key cannot be read: {e}"),
            ));
        }
    };
    let key = KeyPair::from_pem(&key_pem).map_err(|e| {
        CertError::bad_ca(
            paths,
            &key_path,
            format!("the private key is not valid: {e}"),
        )
    })?;
    if key.public_key_raw() != info.public_key.as_slice() {
        return Err(CertError::bad_ca(
            paths,
            &key_path,
            format!("this key does not belong to {}", cert_path.display()),
        ));
    }
    if now >= info.not_after {
        return Err(CertError::bad_ca(
            paths,
            &cert_path,
            format!("it expired on {}", info.not_after.date()),
        ));
    }
    Ok(LoadedCa { pem, info, key })
}

/// Why the current leaf cannot be served, or `None` when it is fine. Problems with the key or
/// the names count too: a leaf is cheap to remake and nobody trusts it directly.
fn leaf_problem(paths: &CertPaths, ca: &LoadedCa, now: OffsetDateTime) -> Option<String> {
    let cert_path = paths.leaf_cert();
    let key_path = paths.leaf_key();
    if !cert_path.exists() && !key_path.exists() {
        return Some("no leaf certificate yet".into());
    }
    let pem = match std::fs::read_to_string(&cert_path) {
        Ok(p) => p,
        Err(e) => return Some(format!("cannot read {}: {e}", cert_path.display())),
    };
    let info = match parse_cert_pem(&pem) {
        Ok(i) => i,
        Err(r) => return Some(format!("{} is corrupt: {r}", cert_path.display())),
    };
    let key_pem = match std::fs::read_to_string(&key_path) {
        Ok(k) => k,
        Err(e) => return Some(format!("cannot read {}: {e}", key_path.display())),
    };
    match KeyPair::from_pem(&key_pem) {
        Ok(k) if k.public_key_raw() == info.public_key.as_slice() => {}
        Ok(_) => {
            return Some(format!(
                "{} does not match the certificate",
                key_path.display()
            ));
        }
        Err(e) => return Some(format!("{} is corrupt: {e}", key_path.display())),
    }
    if now >= info.not_after {
        return Some(format!("leaf expired on {}", info.not_after));
    }
    if now + RENEW_BEFORE >= info.not_after {
        return Some(format!(
            "leaf expires on {} (within {} days)",
            info.not_after,
            RENEW_BEFORE.whole_days()
        ));
    }
    if now < info.not_before {
        return Some(format!("leaf is not valid until {}", info.not_before));
    }
    let missing = info.missing_sans();
    if !missing.is_empty() {
        return Some(format!("leaf does not cover {}", missing.join(", ")));
    }
    // Checked at a moment inside the leaf's window: here we only care about signature, CA and
    // names, the dates were judged above against the injected `now`.
    if let Err(e) = leaf_verifies(
        &ca.info.der,
        &info.der,
        info.not_before + Duration::seconds(1),
    ) {
        return Some(format!("leaf is not signed by the current CA ({e})"));
    }
    None
}

fn create_leaf(paths: &CertPaths, ca: &LoadedCa, now: OffsetDateTime) -> Result<(), CertError> {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "localhost");
    dn.push(DnType::OrganizationName, "office-bridge");
    params.distinguished_name = dn;
    let mut sans = Vec::new();
    for d in REQUIRED_DNS_SANS {
        sans.push(SanType::DnsName((*d).try_into()?));
    }
    sans.extend(REQUIRED_IP_SANS.iter().map(|ip| SanType::IpAddress(*ip)));
    params.subject_alt_names = sans;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    params.not_before = now - Duration::hours(1);
    // Never outlive the CA: clients would reject the chain at that point anyway.
    params.not_after = std::cmp::min(now + LEAF_VALIDITY, ca.info.not_after);
    let issuer = Issuer::from_ca_cert_pem(&ca.pem, &ca.key)?;
    let cert = params.signed_by(&key, &issuer)?;
    fsutil::write_atomic(&paths.leaf_key(), key.serialize_pem().as_bytes(), true)?;
    fsutil::write_atomic(&paths.leaf_cert(), cert.pem().as_bytes(), false)?;
    Ok(())
}

/// Generate-or-load the CA and the leaf; `now` is injected so tests can move through time.
///
/// Creates the directory (0700 on Unix) and the CA when there is none. An existing CA is
/// always reused; if it is unreadable, expired or has lost its key this is an error naming
/// the file and the fix, never a silent replacement. The leaf is (re)made when it is missing,
/// unreadable, expired, expiring within [`RENEW_BEFORE`], not signed by the current CA, not
/// matching its key, or missing one of `localhost`, `127.0.0.1`, `::1`. Keys are written
/// 0600 through a temporary file and a rename, and never logged.
pub fn ensure(paths: &CertPaths, now: OffsetDateTime) -> Result<Material, CertError> {
    fsutil::create_private_dir(&paths.dir)?;
    let ca_exists = paths.ca_cert().exists();
    let (ca, outcome) = if ca_exists {
        (load_ca(paths, now)?, None)
    } else {
        if paths.ca_key().exists() {
            tracing::warn!(
                key = %paths.ca_key().display(),
                "found a CA key without its certificate (interrupted first start?); creating a new CA"
            );
        }
        (
            create_ca(paths, now)?,
            Some(EnsureOutcome::CreatedCaAndLeaf),
        )
    };
    if now + RENEW_BEFORE >= ca.info.not_after {
        tracing::warn!(
            expires = %ca.info.not_after,
            dir = %paths.dir.display(),
            "the local CA expires soon; remove the directory and run `office-bridge certs install` again to replace it"
        );
    }
    // Older versions or hand copies may have left keys readable by others; tighten them.
    for key in [paths.ca_key(), paths.leaf_key()] {
        if key.exists() {
            fsutil::restrict_to_owner(&key)?;
        }
    }
    let outcome = match outcome {
        Some(created) => {
            create_leaf(paths, &ca, now)?;
            created
        }
        None => match leaf_problem(paths, &ca, now) {
            None => EnsureOutcome::Reused,
            Some(reason) => {
                tracing::info!(%reason, "renewing the localhost certificate");
                create_leaf(paths, &ca, now)?;
                EnsureOutcome::RenewedLeaf { reason }
            }
        },
    };
    let leaf_pem = fsutil::read_string(&paths.leaf_cert())?;
    let leaf_key_pem = fsutil::read_string(&paths.leaf_key())?;
    let leaf = parse_cert_pem(&leaf_pem).map_err(CertError::Pem)?;
    Ok(Material {
        ca_fingerprint_sha256: fingerprint_sha256(&ca.info.der),
        ca_not_after: ca.info.not_after,
        leaf_not_after: leaf.not_after,
        ca_pem: ca.pem,
        leaf_pem,
        leaf_key_pem,
        outcome,
    })
}

/// The server certificate of a running bridge, replaceable without a restart: a bridge
/// left running for months renews its leaf in place (see [`LiveCertificate::replace`]), and
/// every TLS handshake after that presents the new one.
pub struct LiveCertificate {
    current: std::sync::RwLock<Arc<rustls::sign::CertifiedKey>>,
}

impl fmt::Debug for LiveCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LiveCertificate(<key redacted>)")
    }
}

fn certified_key(m: &Material) -> Result<Arc<rustls::sign::CertifiedKey>, CertError> {
    let leaf = CertificateDer::from_pem_slice(m.leaf_pem.as_bytes())
        .map_err(|e| CertError::Pem(format!("leaf certificate: {e}")))?;
    let ca = CertificateDer::from_pem_slice(m.ca_pem.as_bytes())
        .map_err(|e| CertError::Pem(format!("CA certificate: {e}")))?;
    // Deliberately no detail from the parser here: it must never echo key bytes.
    let key = PrivateKeyDer::from_pem_slice(m.leaf_key_pem.as_bytes())
        .map_err(|_| CertError::Pem("leaf private key is not valid PEM".into()))?;
    let key = rustls::sign::CertifiedKey::from_der(vec![leaf, ca], key, &provider())?;
    Ok(Arc::new(key))
}

impl LiveCertificate {
    /// Starts presenting `m`; fails when its key and chain do not make a usable TLS key.
    pub fn new(m: &Material) -> Result<Arc<Self>, CertError> {
        Ok(Arc::new(LiveCertificate {
            current: std::sync::RwLock::new(certified_key(m)?),
        }))
    }

    /// Presents `m` from the next handshake on; connections already open keep theirs.
    pub fn replace(&self, m: &Material) -> Result<(), CertError> {
        let key = certified_key(m)?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = key;
        Ok(())
    }
}

impl rustls::server::ResolvesServerCert for LiveCertificate {
    fn resolve(
        &self,
        _hello: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        )
    }
}

/// A rustls server configuration presenting `m` (leaf + CA chain), TLS 1.2 and 1.3 with
/// the ring provider, ALPN h2 and http/1.1.
pub fn server_config(m: &Material) -> Result<rustls::ServerConfig, CertError> {
    server_config_live(LiveCertificate::new(m)?)
}

/// Like [`server_config`], with a certificate that can be replaced while serving.
pub fn server_config_live(live: Arc<LiveCertificate>) -> Result<rustls::ServerConfig, CertError> {
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(live);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// A client configuration that trusts `roots` (the system's, say), on the same crypto
/// provider as everything else here.
pub fn client_config_with_roots(
    roots: rustls::RootCertStore,
) -> Result<rustls::ClientConfig, CertError> {
    Ok(rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// A client configuration that trusts only the given CA (not the system roots), for tests and
/// for the bridge talking to itself.
pub fn client_config_trusting(ca_pem: &str) -> Result<rustls::ClientConfig, CertError> {
    let mut roots = rustls::RootCertStore::empty();
    let mut found = 0usize;
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        let cert = cert.map_err(|e| CertError::Pem(format!("CA certificate: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| CertError::Pem(format!("CA certificate: {e}")))?;
        found += 1;
    }
    if found == 0 {
        return Err(CertError::Pem("no CA certificate in the given PEM".into()));
    }
    Ok(rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
