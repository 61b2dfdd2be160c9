//! The foundation end to end: real TLS, the guards, the token, and the add-in channel
//! with simulated panes over real WebSockets.

mod common;

use std::time::{Duration, Instant};

use common::{TestBridge, quick_channel};
use office_bridge::addin::PanePolicy;
use office_bridge::addin::registry::ChannelError;
use rustls::pki_types::pem::PemObject;
use serde_json::json;

#[tokio::test]
async fn healthz_answers_over_tls_trusting_only_the_generated_ca() {
    let bridge = TestBridge::start().await;
    let res = bridge.get("/healthz", &[]).await;
    assert_eq!(res.status, 200);
    let body: serde_json::Value = serde_json::from_str(&res.body).unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["panes_connected"], 0);

    // A client that trusts a different CA must not complete the handshake.
    let other = tempfile::tempdir().unwrap();
    let other_ca = certs::ensure(
        &certs::CertPaths::new(other.path()),
        time::OffsetDateTime::now_utc(),
    )
    .unwrap()
    .ca_pem;
    assert!(
        bridge.tls(&other_ca).await.is_err(),
        "a foreign CA must not verify the bridge"
    );
    bridge.stop().await;
}

/// `/v1/status` counts connections: a plain-HTTP client on the TLS port is one accepted
/// connection and one failed handshake.
#[tokio::test]
async fn status_counts_connections_and_failed_handshakes() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let bridge = TestBridge::start().await;
    let mut plain = tokio::net::TcpStream::connect(("127.0.0.1", bridge.port()))
        .await
        .unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    // Whatever the bridge answers (a TLS alert at most), it then closes the connection.
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), plain.read_to_end(&mut answer)).await;
    let status = bridge
        .get("/v1/status", &[("authorization", &bridge.bearer())])
        .await;
    let status: serde_json::Value = serde_json::from_str(&status.body).unwrap();
    let connections = &status["connections"];
    assert_eq!(connections["tls_failed"], 1, "{status}");
    assert_eq!(connections["refused_other_user"], 0, "{status}");
    // The plain client and this request (the harness may have made others).
    assert!(connections["accepted"].as_u64().unwrap() >= 2, "{status}");
    bridge.stop().await;
}

#[tokio::test]
async fn wrong_host_is_refused_on_every_route() {
    let bridge = TestBridge::start().await;
    let port = bridge.port();
    for path in ["/healthz", "/", "/v1/status", "/addin/ws"] {
        for host in [
            format!("evil.example:{port}"),
            format!("localhost:{}", port.wrapping_add(1)),
            "localhost".to_string(),
            format!("127.0.0.2:{port}"),
        ] {
            let res = bridge.get(path, &[("host", &host)]).await;
            assert!(
                (400..500).contains(&res.status),
                "{path} with Host {host} answered {}",
                res.status
            );
        }
    }
    // All loopback spellings of our own authority are accepted.
    for host in [format!("127.0.0.1:{port}"), format!("[::1]:{port}")] {
        assert_eq!(bridge.get("/healthz", &[("host", &host)]).await.status, 200);
    }
    bridge.stop().await;
}

#[tokio::test]
async fn foreign_origins_are_refused_and_assets_carry_a_csp() {
    let bridge = TestBridge::start().await;
    let res = bridge
        .get("/healthz", &[("origin", "https://evil.example")])
        .await;
    assert_eq!(res.status, 403);
    let res = bridge.get("/", &[("origin", &bridge.origin())]).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.headers["content-type"], "text/html; charset=utf-8");
    let csp = res.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("https://appsforoffice.microsoft.com"), "{csp}");
    assert!(
        csp.contains(&format!("wss://localhost:{}", bridge.port())),
        "{csp}"
    );
    let js = bridge.get("/index.js", &[]).await;
    assert_eq!(js.headers["content-type"], "text/javascript; charset=utf-8");
    assert_eq!(bridge.get("/missing.js", &[]).await.status, 404);
    assert_eq!(bridge.get("/../Cargo.toml", &[]).await.status, 404);
    bridge.stop().await;
}

#[tokio::test]
async fn the_pane_channel_needs_exactly_our_origin() {
    let bridge = TestBridge::start().await;
    for bad in [
        Some("https://evil.example".to_string()),
        Some(format!("http://localhost:{}", bridge.port())),
        Some("null".to_string()),
        None,
    ] {
        let err = bridge.ws(bad.as_deref()).await.expect_err("refused");
        match err {
            tokio_tungstenite::tungstenite::Error::Http(res) => {
                assert_eq!(res.status(), 403, "origin {bad:?}")
            }
            other => panic!("origin {bad:?}: expected HTTP 403, got {other}"),
        }
    }
    assert!(bridge.ws(Some(&bridge.origin())).await.is_ok());
    bridge.stop().await;
}

#[tokio::test]
async fn token_guards_the_api_and_rotation_takes_effect_live() {
    let bridge = TestBridge::start().await;
    assert_eq!(bridge.get("/v1/status", &[]).await.status, 401);
    assert_eq!(
        bridge
            .get("/v1/status", &[("authorization", "Bearer ")])
            .await
            .status,
        401
    );
    assert_eq!(
        bridge
            .get("/v1/status", &[("authorization", "Bearer nope")])
            .await
            .status,
        401
    );
    let ok = bridge
        .get("/v1/status", &[("authorization", &bridge.bearer())])
        .await;
    assert_eq!(ok.status, 200);
    assert!(ok.body.contains("\"documents\""));

    // Rotate as `office-bridge token rotate` does, from outside the server.
    std::thread::sleep(Duration::from_millis(20));
    let path = bridge.state.token.path().to_path_buf();
    let new = office_bridge::token::Token::rotate(&path).unwrap();
    assert_eq!(
        bridge
            .get("/v1/status", &[("authorization", &bridge.bearer())])
            .await
            .status,
        401
    );
    let auth = format!("Bearer {}", new.expose());
    assert_eq!(
        bridge
            .get("/v1/status", &[("authorization", &auth)])
            .await
            .status,
        200
    );
    bridge.stop().await;
}

#[tokio::test]
async fn a_pane_registers_answers_times_out_vanishes_and_comes_back() {
    let bridge = TestBridge::start().await;
    let registry = bridge.state.registry.clone();
    let mut pane = bridge.pane("excel", "Q3.xlsx").await;
    let sessions = registry.list();
    assert_eq!(sessions.len(), 1);
    let session = sessions[0].clone();
    assert!(session.connected);
    assert_eq!(session.document.name, "Q3.xlsx");

    // The bridge asks, the pane answers.
    let sid = session.session_id.clone();
    let call = tokio::spawn({
        let registry = registry.clone();
        let sid = sid.clone();
        async move {
            registry
                .request(&sid, "excel.listSheets", json!({}), None)
                .await
        }
    });
    let (id, method, _) = pane.next_request().await;
    assert_eq!(method, "excel.listSheets");
    pane.respond(&id, json!({"sheets": ["Revenue", "Costs"]}))
        .await;
    let answer = call.await.unwrap().expect("answered");
    assert_eq!(answer["sheets"][1], "Costs");

    // A request the pane never answers times out with a clear error.
    let started = Instant::now();
    let err = registry
        .request(
            &sid,
            "excel.readRange",
            json!({}),
            Some(Duration::from_millis(300)),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ChannelError::Timeout { .. }), "{err}");
    assert!(
        err.to_string().contains("did not answer excel.readRange"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    let (_late_id, late_method, _) = pane.next_request().await;
    assert_eq!(late_method, "excel.readRange");

    // The pane vanishes mid-request: the caller hears at once, not after the timeout.
    let call = tokio::spawn({
        let registry = registry.clone();
        let sid = sid.clone();
        async move {
            registry
                .request(
                    &sid,
                    "excel.readRange",
                    json!({}),
                    Some(Duration::from_secs(30)),
                )
                .await
        }
    });
    let _ = pane.next_request().await;
    let started = Instant::now();
    drop(pane);
    let err = tokio::time::timeout(Duration::from_secs(5), call)
        .await
        .expect("the caller is told well before its 30 s timeout")
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, ChannelError::Disconnected { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
    wait_until(|| !registry.get(&sid).unwrap().connected).await;
    let err = registry
        .request(&sid, "excel.listSheets", json!({}), None)
        .await
        .unwrap_err();
    assert!(matches!(err, ChannelError::NotConnected { .. }), "{err}");

    // It reconnects with its session id and gets the same session back.
    let mut pane = bridge.pane_with("excel", "Q3.xlsx", Some(&sid)).await;
    let info = registry.get(&sid).unwrap();
    assert!(info.connected);
    assert_eq!(registry.list().len(), 1);
    let call = tokio::spawn({
        let registry = registry.clone();
        let sid = sid.clone();
        async move {
            registry
                .request(&sid, "excel.getSelection", json!({}), None)
                .await
        }
    });
    let (id, method, _) = pane.next_request().await;
    assert_eq!(method, "excel.getSelection");
    pane.respond(&id, json!({"address": "B2"})).await;
    assert_eq!(call.await.unwrap().unwrap()["address"], "B2");
    bridge.stop().await;
}

#[tokio::test]
async fn one_session_per_document_newest_connection_wins() {
    let bridge = TestBridge::start().await;
    let mut first = bridge.pane("powerpoint", "Board.pptx").await;
    let _second = bridge.pane("powerpoint", "Board.pptx").await;
    assert_eq!(
        first.close_code().await,
        Some(4001),
        "the older connection is superseded"
    );
    let sessions = bridge.state.registry.list();
    assert_eq!(sessions.len(), 1);
    assert!(sessions[0].connected);
    let _other = bridge.pane("powerpoint", "Other.pptx").await;
    assert_eq!(bridge.state.registry.list().len(), 2);
    bridge.stop().await;
}

#[tokio::test]
async fn malformed_and_oversized_frames_get_errors_and_others_keep_working() {
    let bridge = TestBridge::start().await;
    let mut good = bridge.pane("excel", "Good.xlsx").await;

    let mut bad = common::Pane::new(bridge.ws(Some(&bridge.origin())).await.unwrap());
    for (frame, code) in [
        ("{oops", -32700),
        ("[1,2]", -32600),
        (r#"{"jsonrpc":"2.0","id":1}"#, -32600),
        (
            r#"{"jsonrpc":"2.0","id":2,"method":"excel.listSheets"}"#,
            -32001,
        ),
        (
            r#"{"jsonrpc":"2.0","id":3,"method":"register","params":{"app":"word"}}"#,
            -32602,
        ),
    ] {
        bad.send_text(frame).await;
        let reply = bad
            .next_json()
            .await
            .expect("an error reply, not a hang-up");
        assert_eq!(reply["error"]["code"], json!(code), "{frame} -> {reply}");
    }
    // Still usable after all that: it can register.
    assert!(
        bad.call(
            "register",
            json!({"app": "excel", "document": {"name": "Late.xlsx"}})
        )
        .await
        .is_ok()
    );
    // Unknown methods after registering are reported, not fatal.
    let err = bad.call("excel.nope", json!({})).await.unwrap_err();
    assert_eq!(err["code"], json!(-32601));

    // A message over the limit (1 MiB in tests) is refused unread with an error, and the
    // connection stays usable.
    let over = format!(
        r#"{{"jsonrpc":"2.0","id":9,"method":"ping","pad":"{}"}}"#,
        "x".repeat(1536 * 1024)
    );
    bad.send_text(&over).await;
    let reply = bad.next_json().await.expect("an error reply");
    assert_eq!(reply["error"]["code"], json!(-32600), "{reply}");
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap()
            .contains("over the limit")
    );
    assert!(bad.call("ping", json!({})).await.unwrap()["pong"].is_i64());

    // Past the hard limit (twice that) the connection is ended.
    let mut big = bridge.ws(Some(&bridge.origin())).await.unwrap();
    use futures_util::SinkExt;
    let huge = "x".repeat(3 * 1024 * 1024);
    let _ = big
        .send(tokio_tungstenite::tungstenite::Message::Text(huge.into()))
        .await;
    let mut big = common::Pane::new(big);
    let code = big.close_code().await;
    // 1009 when the close frame outruns the reset of the half-read socket; either way
    // the connection is over.
    assert!(matches!(code, Some(1009) | None), "{code:?}");
    assert!(big.next_json().await.is_none(), "the connection is closed");

    // ... and the others keep being served.
    bridge.assert_pane_serves(&mut good, "Good.xlsx").await;
    assert_eq!(bridge.get("/healthz", &[]).await.status, 200);
    bridge.stop().await;
}

#[tokio::test]
async fn a_silent_pane_is_declared_dead_by_the_heartbeat() {
    let mut channel = quick_channel();
    channel.heartbeat_interval = Duration::from_millis(100);
    channel.heartbeat_timeout = Duration::from_millis(400);
    let bridge = TestBridge::start_with(channel).await;
    // Registering and then never reading means never answering the bridge's pings.
    let pane = bridge.pane("excel", "Quiet.xlsx").await;
    let registry = bridge.state.registry.clone();
    let sid = registry.list()[0].session_id.clone();
    wait_until(|| !registry.get(&sid).unwrap().connected).await;
    drop(pane);
    bridge.stop().await;
}

#[tokio::test]
async fn a_disabled_addin_is_refused_and_a_live_switch_closes_its_panes() {
    let bridge = TestBridge::start().await;
    let mut pane = bridge.pane("excel", "Q3.xlsx").await;
    let mut deck = bridge.pane("powerpoint", "Board.pptx").await;
    bridge.state.pane_policy.send_replace(PanePolicy {
        excel_enabled: false,
        ..PanePolicy::default()
    });
    let note = pane.next_json().await.expect("policy.changed first");
    assert_eq!(note["method"], "policy.changed");
    assert_eq!(note["params"]["policy"]["addin_enabled"], false);
    assert_eq!(pane.close_code().await, Some(4003));
    // The PowerPoint pane is told but stays connected.
    let note = deck.next_json().await.unwrap();
    assert_eq!(note["params"]["policy"]["addin_enabled"], true);

    // New Excel registrations are refused with a clear error, then closed.
    let mut late = common::Pane::new(bridge.ws(Some(&bridge.origin())).await.unwrap());
    let err = late
        .call(
            "register",
            json!({"app": "excel", "document": {"name": "New.xlsx"}}),
        )
        .await
        .unwrap_err();
    assert_eq!(err["code"], json!(-32002));
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("disabled by your administrator")
    );
    assert_eq!(late.close_code().await, Some(4003));
    bridge.stop().await;
}

#[tokio::test]
async fn shutdown_tells_panes_the_bridge_is_going_away() {
    let bridge = TestBridge::start().await;
    let mut pane = bridge.pane("excel", "Q3.xlsx").await;
    let stopping = tokio::spawn(bridge.stop());
    assert_eq!(pane.close_code().await, Some(1001));
    stopping.await.unwrap();
}

#[tokio::test]
async fn a_restarted_bridge_reuses_its_certificates_and_token() {
    let bridge = TestBridge::start().await;
    let (ca, token) = (bridge.ca_pem.clone(), bridge.token.clone());
    let dir = bridge.stop().await;
    let again = TestBridge::start_in(dir, quick_channel()).await;
    assert_eq!(again.ca_pem, ca);
    assert_eq!(again.token, token);
    again.stop().await;
}

async fn wait_until(mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "condition not reached within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_running_bridge_renews_its_leaf_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let mut options =
        office_bridge::server::ServeOptions::new(office_bridge::datadir::DataDir::at(dir.path()));
    options.port = 0;
    let bridge = office_bridge::server::Bridge::bind(options).await.unwrap();
    let before = bridge.certificates().leaf_not_after;
    // The renewed leaf's validity starts at the simulated time, so the client checks it
    // with that clock too.
    #[derive(Debug)]
    struct FixedClock(rustls::pki_types::UnixTime);
    impl rustls::time_provider::TimeProvider for FixedClock {
        fn current_time(&self) -> Option<rustls::pki_types::UnixTime> {
            Some(self.0)
        }
    }
    let at = before - time::Duration::days(10);
    let clock = std::sync::Arc::new(FixedClock(rustls::pki_types::UnixTime::since_unix_epoch(
        Duration::from_secs(at.unix_timestamp() as u64),
    )));
    let peer_leaf = |addr: std::net::SocketAddr, ca: String| async move {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(rustls::pki_types::CertificateDer::from_pem_slice(ca.as_bytes()).unwrap())
            .unwrap();
        let config = rustls::ClientConfig::builder_with_details(
            std::sync::Arc::new(rustls::crypto::ring::default_provider()),
            clock,
        )
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let tls = connector.connect(name, tcp).await.unwrap();
        tls.get_ref().1.peer_certificates().unwrap()[0].to_vec()
    };
    assert_eq!(
        bridge
            .renew_certificate_if_due(time::OffsetDateTime::now_utc())
            .unwrap(),
        None,
        "a fresh leaf is not renewed"
    );
    let addr = bridge.local_addr();
    let ca = bridge.certificates().ca_pem.clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let renewer = {
        // Ten days before expiry, as seen by the renewal check.
        let reason = bridge.renew_certificate_if_due(at).unwrap();
        assert!(reason.is_some(), "a leaf 10 days from expiry is renewed");
        bridge
    };
    let task = tokio::spawn(renewer.serve(async move {
        let _ = rx.await;
    }));
    let presented = peer_leaf(addr, ca.clone()).await;
    let on_disk = std::fs::read_to_string(certs::CertPaths::new(dir.path()).leaf_cert()).unwrap();
    let on_disk = rustls::pki_types::CertificateDer::from_pem_slice(on_disk.as_bytes()).unwrap();
    assert_eq!(
        presented,
        on_disk.to_vec(),
        "the renewed leaf is presented without a restart"
    );
    let _ = tx.send(());
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_pane_on_the_standin_registers_only_when_the_playground_is_on() {
    // Any web page can open a pane's URL with ?standin=1; without `--playground` its
    // simulated document must not become an open document the agent sees.
    let bridge = TestBridge::start().await;
    let mut pane = common::Pane::new(bridge.ws(Some(&bridge.origin())).await.unwrap());
    let err = pane
        .call(
            "register",
            json!({"app": "excel", "document": {"name": "Q3.xlsx"}, "simulated": true}),
        )
        .await
        .unwrap_err();
    assert_eq!(err["code"], json!(-32006));
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("serve --playground"),
        "{err}"
    );
    assert_eq!(pane.close_code().await, Some(4004));
    assert!(bridge.state.registry.list().is_empty());
    // A pane in Office (no `simulated`) registers as before.
    let _real = bridge.pane("excel", "Budget.xlsx").await;
    assert_eq!(bridge.state.registry.list().len(), 1);
    bridge.stop().await;

    let dir = tempfile::tempdir().unwrap();
    let playground = TestBridge::start_configured(dir, |o| o.playground = true).await;
    let mut pane = common::Pane::new(playground.ws(Some(&playground.origin())).await.unwrap());
    let ok = pane
        .call(
            "register",
            json!({"app": "excel", "document": {"name": "Q3.xlsx"}, "simulated": true}),
        )
        .await
        .expect("accepted with --playground");
    assert_eq!(ok["resumed"], false);
    assert_eq!(playground.state.registry.list().len(), 1);
    playground.stop().await;
}
