use std::collections::HashSet;
use std::io;
use std::sync::{Arc, Mutex};

use certs::trust::{self, CommandOutput, CommandRunner, Os, TrustEnv, TrustOutcome};
use certs::{
    CertError, CertPaths, EnsureOutcome, TrustState, client_config_trusting, ensure, server_config,
};
use rustls::pki_types::ServerName;
use time::{Duration, OffsetDateTime};

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn setup() -> (tempfile::TempDir, CertPaths) {
    let dir = tempfile::tempdir().expect("tempdir");
    let paths = CertPaths::new(dir.path());
    (dir, paths)
}

fn read(p: &std::path::Path) -> Vec<u8> {
    std::fs::read(p).expect("read file")
}

/// Runs a full TLS handshake in memory, moving bytes between the two sides through buffers.
fn handshake(
    server: rustls::ServerConfig,
    client: rustls::ClientConfig,
    name: &str,
) -> Result<Option<Vec<u8>>, rustls::Error> {
    let name = ServerName::try_from(name.to_string()).expect("server name");
    let mut client = rustls::ClientConnection::new(Arc::new(client), name)?;
    let mut server = rustls::ServerConnection::new(Arc::new(server))?;
    for _ in 0..20 {
        let mut buf = Vec::new();
        while client.wants_write() {
            client.write_tls(&mut buf).expect("client write_tls");
        }
        if !buf.is_empty() {
            server.read_tls(&mut &buf[..]).expect("server read_tls");
            server.process_new_packets()?;
        }
        let mut buf = Vec::new();
        while server.wants_write() {
            server.write_tls(&mut buf).expect("server write_tls");
        }
        if !buf.is_empty() {
            client.read_tls(&mut &buf[..]).expect("client read_tls");
            client.process_new_packets()?;
        }
        if !client.is_handshaking() && !server.is_handshaking() {
            return Ok(client.alpn_protocol().map(<[u8]>::to_vec));
        }
    }
    Err(rustls::Error::General("handshake did not finish".into()))
}

fn assert_handshakes(m: &certs::Material) {
    for name in ["localhost", "127.0.0.1", "::1"] {
        let mut client = client_config_trusting(&m.ca_pem).expect("client config");
        client.alpn_protocols = vec![b"h2".to_vec()];
        let alpn = handshake(server_config(m).expect("server config"), client, name)
            .unwrap_or_else(|e| panic!("handshake for {name} failed: {e}"));
        assert_eq!(alpn.as_deref(), Some(&b"h2"[..]));
    }
}

#[test]
fn first_ensure_creates_everything_then_reuses() {
    let (_d, paths) = setup();
    let m1 = ensure(&paths, now()).expect("first ensure");
    assert_eq!(m1.outcome, EnsureOutcome::CreatedCaAndLeaf);
    for p in [
        paths.ca_cert(),
        paths.ca_key(),
        paths.leaf_cert(),
        paths.leaf_key(),
    ] {
        assert!(p.is_file(), "{} missing", p.display());
    }
    assert!(m1.leaf_not_after > now() + Duration::days(170));
    assert!(m1.ca_not_after > now() + Duration::days(3600));
    assert_eq!(m1.ca_fingerprint_sha256.len(), 32 * 3 - 1);
    assert_handshakes(&m1);

    let m2 = ensure(&paths, now()).expect("second ensure");
    assert_eq!(m2.outcome, EnsureOutcome::Reused);
    assert_eq!(m1.ca_pem, m2.ca_pem);
    assert_eq!(m1.leaf_pem, m2.leaf_pem);
    assert_eq!(m1.leaf_key_pem, m2.leaf_key_pem);
    assert_eq!(m1.ca_fingerprint_sha256, m2.ca_fingerprint_sha256);
}

#[test]
fn leaf_close_to_expiry_is_renewed_and_ca_kept() {
    let (_d, paths) = setup();
    let m1 = ensure(&paths, now()).expect("ensure");
    let ca_before = read(&paths.ca_cert());
    let ca_key_before = read(&paths.ca_key());
    let later = m1.leaf_not_after - Duration::days(10);
    let m2 = ensure(&paths, later).expect("ensure near expiry");
    assert!(
        matches!(&m2.outcome, EnsureOutcome::RenewedLeaf { reason } if reason.contains("expires")),
        "{:?}",
        m2.outcome
    );
    assert_ne!(m1.leaf_pem, m2.leaf_pem);
    assert_eq!(read(&paths.ca_cert()), ca_before);
    assert_eq!(read(&paths.ca_key()), ca_key_before);
    assert!(m2.leaf_not_after > later + Duration::days(170));
    // The renewed leaf must satisfy a real TLS client whose clock reads `later`.
    for name in ["localhost", "127.0.0.1"] {
        handshake(
            server_config(&m2).expect("server config"),
            client_at(&m2.ca_pem, later),
            name,
        )
        .unwrap_or_else(|e| panic!("handshake for {name} at {later} failed: {e}"));
    }
    // The old leaf, at that same moment, still works too (renewal is early, not late).
    handshake(
        server_config(&m1).expect("server config"),
        client_at(&m1.ca_pem, later),
        "localhost",
    )
    .expect("old leaf still valid 10 days before expiry");
    // Past its expiry the old one is refused: that is exactly what renewal protects from.
    let after = m1.leaf_not_after + Duration::days(1);
    assert!(
        handshake(
            server_config(&m1).expect("server config"),
            client_at(&m1.ca_pem, after),
            "localhost"
        )
        .is_err()
    );
}

#[derive(Debug)]
struct FixedTime(OffsetDateTime);

impl rustls::time_provider::TimeProvider for FixedTime {
    fn current_time(&self) -> Option<rustls::pki_types::UnixTime> {
        let secs = u64::try_from(self.0.unix_timestamp()).ok()?;
        Some(rustls::pki_types::UnixTime::since_unix_epoch(
            std::time::Duration::from_secs(secs),
        ))
    }
}

/// Like `client_config_trusting`, but with a clock fixed at `at`.
fn client_at(ca_pem: &str, at: OffsetDateTime) -> rustls::ClientConfig {
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).expect("ca pem"))
        .expect("add root");
    rustls::ClientConfig::builder_with_details(
        Arc::new(rustls::crypto::ring::default_provider()),
        Arc::new(FixedTime(at)),
    )
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth()
}

#[test]
fn renewed_leaf_verifies_against_the_ca() {
    let (_d, paths) = setup();
    // Create the CA in the past, so that "close to expiry" renewal happens at the real now
    // and the handshake (which uses the real clock) sees a currently valid leaf.
    let past = now() - Duration::days(170);
    let m1 = ensure(&paths, past).expect("ensure in the past");
    assert!(m1.leaf_not_after - now() < Duration::days(30));
    let m2 = ensure(&paths, now()).expect("ensure now");
    assert!(matches!(m2.outcome, EnsureOutcome::RenewedLeaf { .. }));
    assert_eq!(m1.ca_pem, m2.ca_pem);
    assert_handshakes(&m2);
}

#[test]
fn expired_leaf_is_renewed_on_start() {
    let (_d, paths) = setup();
    let m1 = ensure(&paths, now() - Duration::days(400)).expect("ensure long ago");
    assert!(m1.leaf_not_after < now());
    let m2 = ensure(&paths, now()).expect("ensure now");
    assert!(
        matches!(&m2.outcome, EnsureOutcome::RenewedLeaf { reason } if reason.contains("expired")),
        "{:?}",
        m2.outcome
    );
    assert_eq!(m1.ca_pem, m2.ca_pem);
    assert_handshakes(&m2);
}

#[cfg(unix)]
#[test]
fn private_keys_are_0600_and_dir_0700() {
    use std::os::unix::fs::PermissionsExt;
    let (_d, paths) = setup();
    ensure(&paths, now()).expect("ensure");
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode(&paths.dir), 0o700);
    assert_eq!(mode(&paths.ca_key()), 0o600);
    assert_eq!(mode(&paths.leaf_key()), 0o600);

    // A key loosened by hand is tightened again on the next start.
    std::fs::set_permissions(paths.leaf_key(), std::fs::Permissions::from_mode(0o644))
        .expect("chmod");
    std::fs::set_permissions(&paths.dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    ensure(&paths, now()).expect("ensure");
    assert_eq!(mode(&paths.leaf_key()), 0o600);
    assert_eq!(mode(&paths.dir), 0o700);
    // Renewal writes keys 0600 too.
    ensure(&paths, now() + Duration::days(365)).expect("renew");
    assert_eq!(mode(&paths.leaf_key()), 0o600);
    // No temporary files are left behind.
    let names: Vec<_> = std::fs::read_dir(&paths.dir)
        .expect("readdir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 4, "{names:?}");
}

#[test]
fn corrupt_leaf_is_regenerated() {
    let (_d, paths) = setup();
    let m1 = ensure(&paths, now()).expect("ensure");
    std::fs::write(paths.leaf_cert(), "garbage").expect("write");
    let m2 = ensure(&paths, now()).expect("ensure");
    assert!(
        matches!(&m2.outcome, EnsureOutcome::RenewedLeaf { reason } if reason.contains("corrupt")),
        "{:?}",
        m2.outcome
    );
    assert_eq!(m1.ca_pem, m2.ca_pem);
    assert_handshakes(&m2);

    // A key that does not belong to the certificate is also a reason to renew.
    std::fs::write(paths.leaf_key(), read(&paths.ca_key())).expect("write");
    let m3 = ensure(&paths, now()).expect("ensure");
    assert!(
        matches!(&m3.outcome, EnsureOutcome::RenewedLeaf { reason } if reason.contains("does not match"))
    );
    assert_handshakes(&m3);

    // A missing leaf key as well.
    std::fs::remove_file(paths.leaf_key()).expect("rm");
    let m4 = ensure(&paths, now()).expect("ensure");
    assert!(matches!(m4.outcome, EnsureOutcome::RenewedLeaf { .. }));
}

#[test]
fn leaf_from_another_ca_is_replaced() {
    let (_d, paths) = setup();
    let (_d2, other) = setup();
    let m1 = ensure(&paths, now()).expect("ensure");
    ensure(&other, now()).expect("ensure other");
    std::fs::copy(other.leaf_cert(), paths.leaf_cert()).expect("copy");
    std::fs::copy(other.leaf_key(), paths.leaf_key()).expect("copy");
    let m2 = ensure(&paths, now()).expect("ensure");
    assert!(
        matches!(&m2.outcome, EnsureOutcome::RenewedLeaf { reason } if reason.contains("not signed by the current CA")),
        "{:?}",
        m2.outcome
    );
    assert_eq!(m1.ca_pem, m2.ca_pem);
    assert_handshakes(&m2);
}

#[test]
fn leaf_missing_a_required_name_is_replaced() {
    let (_d, paths) = setup();
    ensure(&paths, now()).expect("ensure");
    let ca_pem = std::fs::read_to_string(paths.ca_cert()).expect("read");
    let ca_key = rcgen::KeyPair::from_pem(&std::fs::read_to_string(paths.ca_key()).expect("read"))
        .expect("key");
    let issuer = rcgen::Issuer::from_ca_cert_pem(&ca_pem, &ca_key).expect("issuer");
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let mut params =
        rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .expect("params");
    params.not_before = now() - Duration::days(1);
    params.not_after = now() + Duration::days(100);
    let cert = params.signed_by(&key, &issuer).expect("sign");
    std::fs::write(paths.leaf_cert(), cert.pem()).expect("write");
    std::fs::write(paths.leaf_key(), key.serialize_pem()).expect("write");
    let m = ensure(&paths, now()).expect("ensure");
    assert!(
        matches!(&m.outcome, EnsureOutcome::RenewedLeaf { reason } if reason.contains("::1")),
        "{:?}",
        m.outcome
    );
}

#[test]
fn corrupt_ca_is_a_clear_error_and_left_alone() {
    let (_d, paths) = setup();
    ensure(&paths, now()).expect("ensure");
    std::fs::write(
        paths.ca_cert(),
        "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n",
    )
    .expect("write");
    let before = read(&paths.ca_cert());
    let key_before = read(&paths.ca_key());
    let err = ensure(&paths, now()).expect_err("corrupt CA must not be replaced");
    assert!(matches!(err, CertError::BadCa { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains(&paths.ca_cert().display().to_string()),
        "{msg}"
    );
    assert!(msg.contains(&paths.dir.display().to_string()), "{msg}");
    assert!(msg.contains("office-bridge certs install"), "{msg}");
    assert_eq!(read(&paths.ca_cert()), before);
    assert_eq!(read(&paths.ca_key()), key_before);

    // A CA whose key is gone is not replaced either.
    let (_d2, paths2) = setup();
    ensure(&paths2, now()).expect("ensure");
    std::fs::remove_file(paths2.ca_key()).expect("rm");
    let err = ensure(&paths2, now()).expect_err("CA without key");
    assert!(err.to_string().contains("ca.key"), "{err}");
    assert!(paths2.ca_cert().exists());
}

#[test]
fn client_trusting_another_ca_fails_the_handshake() {
    let (_d, paths) = setup();
    let (_d2, other) = setup();
    let m = ensure(&paths, now()).expect("ensure");
    let o = ensure(&other, now()).expect("ensure other");
    let client = client_config_trusting(&o.ca_pem).expect("client config");
    let err = handshake(
        server_config(&m).expect("server config"),
        client,
        "localhost",
    )
    .expect_err("must not trust a foreign CA");
    assert!(
        matches!(err, rustls::Error::InvalidCertificate(_)),
        "{err:?}"
    );
    // And a name the leaf does not cover is rejected even with the right CA.
    let client = client_config_trusting(&m.ca_pem).expect("client config");
    assert!(
        handshake(
            server_config(&m).expect("server config"),
            client,
            "example.com"
        )
        .is_err()
    );
}

#[test]
fn server_config_offers_h2_and_http11() {
    let (_d, paths) = setup();
    let m = ensure(&paths, now()).expect("ensure");
    let cfg = server_config(&m).expect("server config");
    assert_eq!(
        cfg.alpn_protocols,
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    );
    let mut client = client_config_trusting(&m.ca_pem).expect("client");
    client.alpn_protocols = vec![b"http/1.1".to_vec()];
    let alpn = handshake(cfg, client, "127.0.0.1").expect("handshake");
    assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]));
}

#[test]
fn material_debug_redacts_the_key() {
    let (_d, paths) = setup();
    let m = ensure(&paths, now()).expect("ensure");
    assert!(m.leaf_key_pem.contains("PRIVATE KEY"));
    let dbg = format!("{m:?}");
    assert!(!dbg.contains("PRIVATE KEY"), "{dbg}");
    assert!(
        !dbg.contains(m.leaf_key_pem.lines().nth(1).unwrap_or("x")),
        "{dbg}"
    );
}

// ---- trust stores, with a fake machine ----

#[derive(Default)]
struct FakeState {
    calls: Vec<(String, Vec<String>)>,
    /// The NSS databases (their `-d` argument) holding the CA.
    nss_with_ca: HashSet<String>,
    os_store_has_ca: bool,
    fail_update: bool,
}

#[derive(Clone, Default)]
struct FakeRunner {
    state: Arc<Mutex<FakeState>>,
    on_path: HashSet<&'static str>,
}

impl FakeRunner {
    fn calls(&self) -> Vec<(String, Vec<String>)> {
        self.state.lock().expect("lock").calls.clone()
    }
}

impl CommandRunner for FakeRunner {
    fn run(&self, program: &str, args: &[String]) -> io::Result<CommandOutput> {
        let mut st = self.state.lock().expect("lock");
        st.calls.push((program.to_string(), args.to_vec()));
        // certutil's database: the argument after -d.
        let db = args
            .iter()
            .position(|a| a == "-d")
            .and_then(|i| args.get(i + 1))
            .cloned()
            .unwrap_or_default();
        let ok = |success: bool, stderr: &str| CommandOutput {
            success,
            stdout: String::new(),
            stderr: stderr.to_string(),
        };
        Ok(match program {
            "update-ca-certificates" if st.fail_update => ok(false, "update-ca-certificates: boom"),
            "update-ca-certificates" => ok(true, ""),
            "security" | "certutil"
                if args
                    .iter()
                    .any(|a| a == "add-trusted-cert" || a == "-addstore") =>
            {
                st.os_store_has_ca = true;
                ok(true, "")
            }
            // certutil lists a certificate it finds, serial included (the last argument).
            "certutil" if args.iter().any(|a| a == "-verifystore") => CommandOutput {
                stdout: if st.os_store_has_ca {
                    format!(
                        "Serial Number: {}\n",
                        args.last().cloned().unwrap_or_default()
                    )
                } else {
                    String::new()
                },
                ..ok(st.os_store_has_ca, "not found")
            },
            "security" if args.iter().any(|a| a == "find-certificate") => {
                ok(st.os_store_has_ca, "not found")
            }
            "security" | "certutil"
                if args
                    .iter()
                    .any(|a| a == "delete-certificate" || a == "-delstore") =>
            {
                let had = st.os_store_has_ca;
                st.os_store_has_ca = false;
                ok(had, "not found")
            }
            "certutil" if args.iter().any(|a| a == "-A") => {
                st.nss_with_ca.insert(db);
                ok(true, "")
            }
            "certutil" if args.iter().any(|a| a == "-D") => {
                let had = st.nss_with_ca.remove(&db);
                ok(had, "not found")
            }
            "certutil" if args.iter().any(|a| a == "-L") => {
                ok(st.nss_with_ca.contains(&db), "not found")
            }
            _ => ok(false, "unexpected command"),
        })
    }

    fn which(&self, program: &str) -> bool {
        self.on_path.contains(program)
    }
}

fn fake_env(
    anchor: &std::path::Path,
    privileged: bool,
    runner: FakeRunner,
    nss: Option<std::path::PathBuf>,
) -> TrustEnv {
    TrustEnv {
        os: Os::Linux,
        linux_anchor_dir: anchor.to_path_buf(),
        linux_update_command: "update-ca-certificates".into(),
        nss_db: nss,
        firefox_profiles: Vec::new(),
        home: None,
        is_privileged: privileged,
        runner: Box::new(runner),
    }
}

#[test]
fn linux_privileged_install_copies_and_updates_then_uninstalls() {
    let (d, paths) = setup();
    ensure(&paths, now()).expect("ensure");
    let anchor_dir = d.path().join("anchors");
    std::fs::create_dir(&anchor_dir).expect("mkdir");
    let nss = d.path().join("nssdb");
    std::fs::create_dir(&nss).expect("mkdir");
    let runner = FakeRunner {
        on_path: ["certutil", "update-ca-certificates"].into_iter().collect(),
        ..Default::default()
    };
    let env = fake_env(&anchor_dir, true, runner.clone(), Some(nss.clone()));

    let st = certs::status_with(&paths, now(), &env).expect("status");
    assert!(
        st.trust
            .iter()
            .all(|t| matches!(t.state, TrustState::NotTrusted(_))),
        "{st}"
    );
    assert!(st.trust.iter().all(|t| t.fix.is_some()), "{st}");

    let report = trust::install(&paths, &env).expect("install");
    assert!(report.is_complete(), "{report}");
    let anchor = anchor_dir.join("office-bridge-local-ca.crt");
    assert_eq!(read(&anchor), read(&paths.ca_cert()));
    let calls = runner.calls();
    assert!(
        calls.iter().any(|(p, _)| p == "update-ca-certificates"),
        "{calls:?}"
    );
    let add = calls
        .iter()
        .find(|(p, a)| p == "certutil" && a.iter().any(|x| x == "-A"))
        .expect("certutil -A called");
    assert_eq!(
        add.1,
        vec![
            "-d".to_string(),
            format!("sql:{}", nss.display()),
            "-A".into(),
            "-t".into(),
            "C,,".into(),
            "-n".into(),
            "office-bridge local CA".into(),
            "-i".into(),
            paths.ca_cert().display().to_string(),
        ]
    );

    let st = certs::status_with(&paths, now(), &env).expect("status");
    assert!(
        st.trust.iter().all(|t| t.state == TrustState::Trusted),
        "{st}"
    );
    assert!(st.all_good(), "{st}");
    let text = st.to_string();
    assert!(text.contains("trusted"), "{text}");
    assert!(
        text.contains(&paths.ca_cert().display().to_string()),
        "{text}"
    );
    assert!(
        text.contains("DNS:localhost") && text.contains("IP:::1"),
        "{text}"
    );

    // Installing again is harmless.
    let again = trust::install(&paths, &env).expect("install again");
    assert!(again.is_complete(), "{again}");

    let report = trust::uninstall(&paths, &env).expect("uninstall");
    assert!(report.is_complete(), "{report}");
    assert!(!anchor.exists());
    let calls = runner.calls();
    assert!(
        calls
            .iter()
            .any(|(p, a)| p == "update-ca-certificates" && a == &vec!["--fresh".to_string()]),
        "{calls:?}"
    );
    let st = certs::status_with(&paths, now(), &env).expect("status");
    for t in &st.trust {
        assert!(matches!(t.state, TrustState::NotTrusted(_)), "{st}");
        assert!(t.fix.is_some(), "{st}");
    }
    let linux = &st.trust[0];
    let fix = linux.fix.as_deref().unwrap_or_default();
    assert!(fix.starts_with("sudo cp "), "{fix}");
    assert!(fix.ends_with("&& sudo update-ca-certificates"), "{fix}");
}

#[test]
#[cfg_attr(
    windows,
    ignore = "simulates the Linux or macOS stores, whose commands and paths are spelt with unix separators"
)]
fn linux_unprivileged_install_runs_nothing_and_prints_the_command() {
    let (d, paths) = setup();
    ensure(&paths, now()).expect("ensure");
    let anchor_dir = d.path().join("anchors");
    std::fs::create_dir(&anchor_dir).expect("mkdir");
    let runner = FakeRunner {
        on_path: ["update-ca-certificates"].into_iter().collect(),
        ..Default::default()
    };
    let env = fake_env(&anchor_dir, false, runner.clone(), None);
    let report = trust::install(&paths, &env).expect("install");
    assert!(runner.calls().is_empty(), "{:?}", runner.calls());
    assert!(!report.is_complete());
    let expected = format!(
        "sudo cp {} {} && sudo update-ca-certificates",
        paths.ca_cert().display(),
        anchor_dir.join("office-bridge-local-ca.crt").display()
    );
    assert_eq!(report.commands_to_run(), vec![expected.as_str()]);
    let text = report.to_string();
    assert!(text.contains(&expected), "{text}");
    assert!(!anchor_dir.join("office-bridge-local-ca.crt").exists());
    // The NSS line says why it was skipped rather than staying silent.
    assert!(text.contains("NSS") && text.contains("skipped"), "{text}");
}

#[test]
fn failing_update_command_is_reported_with_retry_command() {
    let (d, paths) = setup();
    ensure(&paths, now()).expect("ensure");
    let anchor_dir = d.path().join("anchors");
    std::fs::create_dir(&anchor_dir).expect("mkdir");
    let runner = FakeRunner::default();
    runner.state.lock().expect("lock").fail_update = true;
    let env = fake_env(&anchor_dir, true, runner, None);
    let report = trust::install(&paths, &env).expect("install");
    assert!(!report.is_complete());
    match &report.actions[0].outcome {
        TrustOutcome::Failed { error, command } => {
            assert!(error.contains("boom"), "{error}");
            assert!(command.contains("sudo update-ca-certificates"), "{command}");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn status_without_anything_creates_nothing() {
    let (_d, paths) = setup();
    let env = fake_env(
        &paths.dir.join("anchors"),
        false,
        FakeRunner::default(),
        None,
    );
    let st = certs::status_with(&paths, now(), &env).expect("status");
    assert!(!st.ca_cert.exists && !st.leaf_key.exists);
    assert!(!paths.dir.exists(), "status must not create the directory");
    assert!(st.to_string().contains("office-bridge serve"), "{st}");
    assert!(trust::install(&paths, &env).is_err());
}

#[test]
fn status_reports_expiry_and_renewal() {
    let (d, paths) = setup();
    let m = ensure(&paths, now()).expect("ensure");
    let env = fake_env(
        &d.path().join("anchors"),
        false,
        FakeRunner::default(),
        None,
    );
    let st = certs::status_with(&paths, now(), &env).expect("status");
    assert_eq!(st.leaf_cert.not_after, Some(m.leaf_not_after));
    assert!(st.leaf_cert.days_left.unwrap_or(0) >= 179);
    assert_eq!(st.leaf_chains_to_ca, Some(true));
    assert_eq!(
        st.ca_fingerprint_sha256.as_deref(),
        Some(m.ca_fingerprint_sha256.as_str())
    );
    assert!(
        st.ca_subject
            .as_deref()
            .unwrap_or("")
            .contains("office-bridge local CA")
    );
    assert!(st.leaf_renewal_due.is_none());
    let later =
        certs::status_with(&paths, m.leaf_not_after - Duration::days(5), &env).expect("status");
    assert!(later.leaf_renewal_due.is_some());
}

#[test]
fn macos_and_windows_use_the_user_stores() {
    let (d, paths) = setup();
    ensure(&paths, now()).expect("ensure");
    let ca = paths.ca_cert().display().to_string();
    for os in [Os::MacOs, Os::Windows] {
        let runner = FakeRunner::default();
        let mut env = fake_env(&d.path().join("unused"), false, runner.clone(), None);
        env.os = os;
        env.home = Some(d.path().join("home"));

        let st = certs::status_with(&paths, now(), &env).expect("status");
        assert_eq!(st.trust.len(), 1);
        assert!(
            matches!(st.trust[0].state, TrustState::NotTrusted(_)),
            "{st}"
        );
        assert_eq!(
            st.trust[0].fix.as_deref(),
            Some("office-bridge certs install")
        );

        let report = trust::install(&paths, &env).expect("install");
        assert!(report.is_complete(), "{report}");
        // The adding call (on Windows a -verifystore follows it, to confirm).
        let (program, args) = runner
            .calls()
            .into_iter()
            .rev()
            .find(|(_, a)| {
                a.iter()
                    .any(|x| x == "-addstore" || x == "add-trusted-cert")
            })
            .expect("an adding call");
        match os {
            Os::MacOs => {
                assert_eq!(program, "security");
                // Joined as the product joins it (one piece under home), so the test holds
                // on a Windows host too, where join puts `\` only before the piece.
                let keychain = d
                    .path()
                    .join("home")
                    .join("Library/Keychains/login.keychain-db");
                assert_eq!(
                    args,
                    vec![
                        "add-trusted-cert".to_string(),
                        "-r".into(),
                        "trustRoot".into(),
                        "-k".into(),
                        keychain.display().to_string(),
                        ca.clone()
                    ]
                );
            }
            _ => {
                assert_eq!(program, "certutil");
                assert_eq!(
                    args,
                    vec![
                        "-user".to_string(),
                        "-addstore".into(),
                        "Root".into(),
                        ca.clone()
                    ]
                );
            }
        }
        let st = certs::status_with(&paths, now(), &env).expect("status");
        assert_eq!(st.trust[0].state, TrustState::Trusted, "{st}");

        let report = trust::uninstall(&paths, &env).expect("uninstall");
        assert_eq!(report.actions[0].outcome, TrustOutcome::Done, "{report}");
        let st = certs::status_with(&paths, now(), &env).expect("status");
        assert!(
            matches!(st.trust[0].state, TrustState::NotTrusted(_)),
            "{st}"
        );
        // Uninstalling twice is not an error.
        let report = trust::uninstall(&paths, &env).expect("uninstall again");
        assert_eq!(
            report.actions[0].outcome,
            TrustOutcome::AlreadyDone,
            "{report}"
        );
    }
}

#[test]
fn failing_os_command_shows_stderr_and_the_command() {
    struct Failing;
    impl CommandRunner for Failing {
        fn run(&self, _: &str, _: &[String]) -> io::Result<CommandOutput> {
            Ok(CommandOutput {
                success: false,
                stdout: String::new(),
                stderr: "SecTrustSettingsSetTrustSettings: The authorization was denied.\n".into(),
            })
        }
        fn which(&self, _: &str) -> bool {
            false
        }
    }
    let (d, paths) = setup();
    ensure(&paths, now()).expect("ensure");
    let mut env = fake_env(d.path(), false, FakeRunner::default(), None);
    env.os = Os::MacOs;
    env.home = Some(d.path().join("my home"));
    env.runner = Box::new(Failing);
    let report = trust::install(&paths, &env).expect("install");
    let text = report.to_string();
    assert!(text.contains("authorization was denied"), "{text}");
    let cmd = report.commands_to_run();
    assert_eq!(cmd.len(), 1);
    assert!(
        cmd[0].starts_with("security add-trusted-cert -r trustRoot -k '"),
        "{}",
        cmd[0]
    );
    assert!(cmd[0].contains("my home"), "{}", cmd[0]);
}

/// The CA is name-constrained to the loopback names: a leaf it signs for any other name
/// (what a stolen CA key would be used for) fails verification, while the loopback leaf
/// verifies.
#[test]
fn the_ca_cannot_vouch_for_names_other_than_loopback() {
    use rustls::client::danger::ServerCertVerifier;
    use rustls::pki_types::{CertificateDer, UnixTime, pem::PemObject};
    let (_d, paths) = setup();
    let m = ensure(&paths, now()).expect("ensure");
    let ca_key = rcgen::KeyPair::from_pem(&std::fs::read_to_string(paths.ca_key()).expect("read"))
        .expect("key");
    let issuer = rcgen::Issuer::from_ca_cert_pem(&m.ca_pem, &ca_key).expect("issuer");
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(m.ca_pem.as_bytes()).expect("ca der"))
        .expect("root");
    let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots),
        Arc::new(rustls::crypto::ring::default_provider()),
    )
    .build()
    .expect("verifier");
    let verify = |name: &str| {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
        let mut params = rcgen::CertificateParams::new(vec![name.to_string()]).expect("params");
        params.not_before = now() - Duration::days(1);
        params.not_after = now() + Duration::days(10);
        let leaf = params.signed_by(&key, &issuer).expect("sign");
        let server_name = ServerName::try_from(name.to_string()).expect("name");
        verifier.verify_server_cert(leaf.der(), &[], &server_name, &[], UnixTime::now())
    };
    for name in ["localhost", "127.0.0.1", "::1"] {
        assert!(verify(name).is_ok(), "{name}: {:?}", verify(name).err());
    }
    for name in [
        "bank.example",
        "localhost.evil.example",
        "127.0.0.2",
        "10.0.0.1",
        "::2",
    ] {
        let err = verify(name).expect_err(name);
        assert!(
            format!("{err:?}").contains("NameConstraint"),
            "{name}: refused for the wrong reason: {err:?}"
        );
    }
}

#[test]
#[cfg_attr(
    windows,
    ignore = "simulates the Linux or macOS stores, whose commands and paths are spelt with unix separators"
)]
fn firefox_profiles_are_found_and_each_trusts_the_ca() {
    let (d, paths) = setup();
    ensure(&paths, now()).expect("ensure");
    let home = d.path().join("home");
    let profile = |base: &str, name: &str, with_db: bool| {
        let dir = home.join(base).join(name);
        std::fs::create_dir_all(&dir).expect("mkdir");
        if with_db {
            std::fs::write(dir.join("cert9.db"), b"").expect("db");
        }
        dir
    };
    let main = profile(".mozilla/firefox", "b2.default-release", true);
    let older = profile(".mozilla/firefox", "a1.default", true);
    let _no_db = profile(".mozilla/firefox", "Crash Reports", false);
    let snap = profile("snap/firefox/common/.mozilla/firefox", "c3.default", true);
    let found = trust::firefox_profiles(&home);
    assert_eq!(found, vec![older.clone(), main.clone(), snap.clone()]);

    let anchor_dir = d.path().join("anchors");
    std::fs::create_dir(&anchor_dir).expect("mkdir");
    let runner = FakeRunner {
        on_path: ["certutil", "update-ca-certificates"].into_iter().collect(),
        ..Default::default()
    };
    let mut env = fake_env(&anchor_dir, true, runner.clone(), None);
    env.firefox_profiles = found.clone();
    let report = trust::install(&paths, &env).expect("install");
    assert!(report.is_complete(), "{report}");
    let firefox: Vec<&trust::TrustAction> = report
        .actions
        .iter()
        .filter(|a| a.store.starts_with("Firefox profile "))
        .collect();
    assert_eq!(firefox.len(), 3, "{report}");
    assert!(
        firefox.iter().all(|a| a.outcome == TrustOutcome::Done),
        "{report}"
    );
    assert_eq!(firefox[1].store, "Firefox profile b2.default-release");
    for db in &found {
        let want = format!("sql:{}", db.display());
        assert!(
            runner.calls().iter().any(|(p, a)| p == "certutil"
                && a.contains(&"-A".to_string())
                && a.contains(&want)),
            "no certutil -A for {want}"
        );
    }
    let st = certs::status_with(&paths, now(), &env).expect("status");
    let states: Vec<&certs::TrustStoreState> = st
        .trust
        .iter()
        .filter(|t| t.store.starts_with("Firefox profile "))
        .collect();
    assert_eq!(states.len(), 3, "{st}");
    assert!(
        states.iter().all(|t| t.state == TrustState::Trusted),
        "{st}"
    );

    let report = trust::uninstall(&paths, &env).expect("uninstall");
    assert!(report.is_complete(), "{report}");
    let st = certs::status_with(&paths, now(), &env).expect("status");
    for t in st
        .trust
        .iter()
        .filter(|t| t.store.starts_with("Firefox profile "))
    {
        assert!(matches!(t.state, TrustState::NotTrusted(_)), "{st}");
        assert!(
            t.fix
                .as_deref()
                .unwrap_or("")
                .starts_with("certutil -d sql:"),
            "{st}"
        );
    }

    // Without certutil each profile says what to install; nothing is run for them.
    let bare = FakeRunner {
        on_path: ["update-ca-certificates"].into_iter().collect(),
        ..Default::default()
    };
    let mut env = fake_env(&anchor_dir, true, bare.clone(), None);
    env.firefox_profiles = found;
    let report = trust::install(&paths, &env).expect("install");
    let skipped = report
        .actions
        .iter()
        .filter(|a| a.store.starts_with("Firefox profile "))
        .filter(|a| matches!(&a.outcome, TrustOutcome::Skipped { reason } if reason.contains("libnss3-tools")))
        .count();
    assert_eq!(skipped, 3, "{report}");
    assert!(bare.calls().iter().all(|(p, _)| p != "certutil"));
}

/// A certutil that exits 0 and prints nothing, whatever it is asked (Wine's is such a stub).
struct SilentCertutil;

impl CommandRunner for SilentCertutil {
    fn run(&self, _program: &str, _args: &[String]) -> io::Result<CommandOutput> {
        Ok(CommandOutput {
            success: true,
            ..CommandOutput::default()
        })
    }

    fn which(&self, _program: &str) -> bool {
        true
    }
}

#[test]
fn a_windows_certutil_that_does_nothing_is_not_believed() {
    let (d, paths) = setup();
    ensure(&paths, now()).expect("ensure");
    let mut env = fake_env(&d.path().join("unused"), false, FakeRunner::default(), None);
    env.os = Os::Windows;
    env.runner = Box::new(SilentCertutil);
    let st = certs::status_with(&paths, now(), &env).expect("status");
    assert!(
        matches!(&st.trust[0].state, TrustState::Unknown(why) if why.contains("without listing the CA")),
        "{st}"
    );
    let report = trust::install(&paths, &env).expect("install");
    assert!(!report.is_complete(), "{report}");
    assert!(
        matches!(&report.actions[0].outcome, TrustOutcome::Failed { error, .. } if error.contains("does not list the CA")),
        "{report}"
    );
    // Nothing to remove when the store does not say it holds the CA.
    let report = trust::uninstall(&paths, &env).expect("uninstall");
    assert_eq!(
        report.actions[0].outcome,
        TrustOutcome::AlreadyDone,
        "{report}"
    );
}

#[test]
fn certutil_listings_are_matched_by_serial() {
    let serial = "00c3a1ff02";
    assert!(trust::lists_serial("Serial Number: 00c3a1ff02\r\n", serial));
    assert!(trust::lists_serial("Serial Number: c3 a1 ff 02", serial));
    assert!(trust::lists_serial("SERIAL NUMBER: C3A1FF02", serial));
    assert!(!trust::lists_serial("Serial Number: c3a1ff03", serial));
    assert!(!trust::lists_serial("", serial));
    assert!(!trust::lists_serial(
        "CertUtil: -verifystore command completed successfully.",
        serial
    ));
    assert!(!trust::lists_serial("anything", ""));
}

/// The real certutil under Wine: a stub that exits 0 without doing anything, which
/// `certs status` must not take for a trusted CA. (The real store, and Windows'
/// confirmation dialog for a new root, are not reachable under Wine.)
#[cfg(windows)]
#[test]
fn the_systems_certutil_is_believed_only_when_it_lists_the_ca() {
    let (_d, paths) = setup();
    ensure(&paths, now()).expect("ensure");
    let env = TrustEnv::system();
    assert_eq!(env.os, Os::Windows);
    let st = certs::status_with(&paths, now(), &env).expect("status");
    if std::env::var_os("OB_UNDER_WINE").is_some() {
        assert!(
            matches!(&st.trust[0].state, TrustState::Unknown(why) if why.contains("without listing")),
            "{st}"
        );
    } else {
        // A fresh CA is in no store yet.
        assert!(
            matches!(st.trust[0].state, TrustState::NotTrusted(_)),
            "{st}"
        );
    }
}
