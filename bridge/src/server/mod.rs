//! The HTTPS server: TLS on loopback only, the routes, and graceful shutdown.

pub mod assets;
pub mod conn;
pub mod demo_agent;
pub mod events_api;
pub mod guard;
pub mod peer_user;

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use axum::Router;
use axum::extract::{State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;
use tracker::policy::AdminPolicy;

use crate::addin::PanePolicy;
use crate::addin::pane_methods::GatePaneMethods;
use crate::addin::registry::{ChannelConfig, Registry};
use crate::addin::socket::{self, ChannelContext};
use crate::datadir::DataDir;
use crate::events::{BridgeEvent, EventBus};
use crate::files::AllowedDirs;
use crate::gate::Gate;
use crate::mcp::McpContext;
use crate::mcp::transport;
use crate::policy_file;
use crate::token::TokenFile;
use conn::ConnectionLimits;
use guard::Origins;
use tokio_util::sync::CancellationToken;

/// The default port: below the ephemeral ranges of Linux (32768+) and Windows (49152+),
/// so no outgoing connection takes it, and clear of common development servers.
pub const DEFAULT_PORT: u16 = 29443;

/// How the server is started.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    pub data_dir: DataDir,
    pub bind: IpAddr,
    /// 0 picks a free port (tests).
    pub port: u16,
    pub channel: ChannelConfig,
    /// Folders the file tools may read and write (`--allow-dir`); none means the current
    /// directory.
    pub allow_dirs: Vec<std::path::PathBuf>,
    /// The administrator's policy file (`OFFICE_BRIDGE_POLICY` or the OS-wide path).
    pub policy_path: std::path::PathBuf,
    /// How long a held transfer waits for the person; the policy's
    /// `approval_timeout_seconds` when None.
    pub approval_timeout: Option<Duration>,
    /// `serve --playground`: serve the playground and accept panes on the Office.js
    /// stand-in, whose simulated documents the agent then sees as open documents.
    pub playground: bool,
    /// Deadlines for slow and idle clients, and the cap on open connections.
    pub connections: ConnectionLimits,
}

impl ServeOptions {
    pub fn new(data_dir: DataDir) -> Self {
        ServeOptions {
            data_dir,
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: DEFAULT_PORT,
            channel: ChannelConfig::default(),
            allow_dirs: Vec::new(),
            policy_path: policy_file::managed_path(),
            approval_timeout: None,
            playground: false,
            connections: ConnectionLimits::default(),
        }
    }
}

/// Refuses anything but a loopback address: the bridge holds a person's documents and
/// must never be reachable from the network.
pub fn check_loopback(bind: IpAddr) -> Result<()> {
    if bind.is_loopback() {
        Ok(())
    } else {
        bail!(
            "refusing to listen on {bind}: office-bridge only listens on loopback (127.0.0.1 or ::1), \
             so nothing on the network can reach your documents"
        )
    }
}

/// Shared state of the running bridge, handed to every route.
#[derive(Clone)]
pub struct AppState {
    pub origins: Arc<Origins>,
    /// The agent's bearer token (`/mcp`, and the desktop API's reads).
    pub token: Arc<TokenFile>,
    /// The desktop credential: the only one that answers approvals (`server::guard`).
    pub desktop_token: Arc<TokenFile>,
    pub registry: Arc<Registry>,
    pub events: EventBus,
    pub pane_policy: Arc<watch::Sender<PanePolicy>>,
    pub pane_handler: Arc<GatePaneMethods>,
    pub gate: Arc<Gate>,
    pub mcp: Arc<McpContext>,
    /// Cancelled when the bridge shuts down: ends event streams and MCP sessions.
    pub shutdown: CancellationToken,
    /// The administrator's policy in force, with where it came from.
    pub admin: Arc<watch::Sender<policy_file::PolicyState>>,
    /// Set by tests: approvals then wait this long whatever the policy says.
    pub fixed_approval_timeout: Option<Duration>,
    /// What happened to the TCP connections accepted so far (`/v1/status`).
    pub connections: Arc<ConnectionCounts>,
    /// `serve --playground`: the playground is served and stand-in panes may register.
    pub playground: bool,
    /// The playground's demo agent (`POST /playground/demo-agent`): one run at a time.
    pub demo: Arc<demo_agent::DemoAgent>,
    /// The bridge's CA, PEM: what the demo agent trusts when it calls this bridge's `/mcp`.
    pub ca_pem: Arc<str>,
}

/// Connections since the start, by how they went. Another OS user knocking shows up here
/// (and in the log); so does a client that opens a new connection for every call.
#[derive(Debug, Default)]
pub struct ConnectionCounts {
    accepted: AtomicU64,
    refused_other_user: AtomicU64,
    tls_failed: AtomicU64,
    /// Closed by their deadlines (handshake, request head, idle; `conn`).
    timed_out: AtomicU64,
    /// Accepted while the cap was reached, so they waited for a place.
    waited_at_limit: AtomicU64,
    /// Open now (a pane's WebSocket included).
    open: AtomicU64,
    /// The cap.
    limit: AtomicU64,
}

impl ConnectionCounts {
    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn json(&self) -> serde_json::Value {
        json!({
            "accepted": self.accepted.load(Ordering::Relaxed),
            "refused_other_user": self.refused_other_user.load(Ordering::Relaxed),
            "tls_failed": self.tls_failed.load(Ordering::Relaxed),
            "timed_out": self.timed_out.load(Ordering::Relaxed),
            "waited_at_limit": self.waited_at_limit.load(Ordering::Relaxed),
            "open": self.open.load(Ordering::Relaxed),
            "limit": self.limit.load(Ordering::Relaxed),
        })
    }
}

impl AppState {
    /// Puts a (re)loaded policy in force: the tracker decides by it from the next write,
    /// panes are told (and a disabled add-in's panes closed, by the channel), MCP sessions
    /// learn that their tool list changed, the change is in the audit chain and on the
    /// event stream. A file that could not be used changes nothing but is announced.
    pub async fn apply_policy(&self, next: policy_file::PolicyState) {
        let previous = self.admin.borrow().clone();
        let policy_changed = previous.policy != next.policy;
        let error_changed = previous.error != next.error;
        // Same policy from another file, or a file newly ignored: shown by the status APIs.
        let file_changed = previous.path != next.path
            || previous.file_found != next.file_found
            || previous.ignored != next.ignored;
        if !policy_changed && !error_changed && !file_changed {
            return;
        }
        match &next.error {
            Some(e) => tracing::warn!(
                "the administrator's policy file cannot be used; the last good policy stays: {e}"
            ),
            None => tracing::info!(path = %next.path.display(), "administrator policy applied"),
        }
        if policy_changed {
            // Put in force and kept as the last good policy (with its audit record), so a
            // file that breaks later, even while the bridge is stopped, falls back to it.
            let (policy, path) = (next.policy.clone(), next.path.display().to_string());
            if let Err(e) = self.gate.apply_admin_policy(policy, path).await {
                tracing::error!("cannot apply the policy change: {e}");
            }
            if self.fixed_approval_timeout.is_none() {
                self.gate.set_approval_timeout(Duration::from_secs(
                    next.policy.approval_timeout_seconds.into(),
                ));
            }
            let panes_before = self.pane_policy.borrow().clone();
            let panes_after = next.pane_policy();
            self.pane_policy.send_replace(panes_after.clone());
            if panes_before.excel_enabled != panes_after.excel_enabled
                || panes_before.powerpoint_enabled != panes_after.powerpoint_enabled
            {
                self.mcp.tools_changed().await;
            }
        }
        self.events.publish(BridgeEvent::PolicyChanged {
            policy: serde_json::to_value(&next.policy).unwrap_or_default(),
            error: next.error.clone(),
            at: tracker::unix_millis_now(),
        });
        self.admin.send_replace(next);
    }
}

/// A bound, not yet serving, bridge. Binding first lets callers learn the real port
/// (with `port: 0`) and print it before serving.
pub struct Bridge {
    listener: TcpListener,
    tls: TlsAcceptor,
    state: AppState,
    certs: certs::Material,
    live_cert: Arc<certs::LiveCertificate>,
    data_dir: DataDir,
    own_user: peer_user::OwnUser,
    /// Approvals the previous run left open, closed as expired at this start.
    closed_at_start: usize,
    limits: ConnectionLimits,
}

/// How often a running bridge checks whether its leaf certificate is due for renewal
/// (30 days before expiry), so one left running for months never serves an expired one.
pub const RENEWAL_CHECK: Duration = Duration::from_secs(6 * 3600);

/// How long `serve` spends stopping in order (held calls answered, panes told, open
/// requests finished) before it returns anyway: with `main`'s short wait for the runtime
/// after it, SIGTERM or Ctrl-C ends the process within 5 s whatever is running.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(4);
/// Of that, how long agents whose writes were held get to hear that nothing was written.
pub const HELD_CALLS_GRACE: Duration = Duration::from_secs(2);

impl Bridge {
    pub async fn bind(options: ServeOptions) -> Result<Self> {
        check_loopback(options.bind)?;
        options.data_dir.ensure()?;
        let cert_paths = options.data_dir.certs();
        let material = certs::ensure(&cert_paths, time::OffsetDateTime::now_utc())
            .context("preparing the local certificates")?;
        match &material.outcome {
            certs::EnsureOutcome::Reused => {}
            certs::EnsureOutcome::CreatedCaAndLeaf => {
                tracing::info!(dir = %cert_paths.dir.display(), "created a local CA and a localhost certificate")
            }
            certs::EnsureOutcome::RenewedLeaf { reason } => {
                tracing::info!(%reason, "renewed the localhost certificate")
            }
        }
        let live_cert =
            certs::LiveCertificate::new(&material).context("loading the certificate")?;
        let tls_config = certs::server_config_live(live_cert.clone())
            .context("loading the TLS configuration")?;
        let token = TokenFile::open(&options.data_dir.token_file())?;
        let desktop_token = TokenFile::open(&options.data_dir.desktop_token_file())?;
        let addr = SocketAddr::new(options.bind, options.port);
        let listener = TcpListener::bind(addr).await.with_context(|| {
            format!("cannot listen on {addr}; is another office-bridge running? (use --port to pick another port)")
        })?;
        let port = listener.local_addr()?.port();
        let events = EventBus::default();
        // The tracker first: it keeps the policy last put in force, which a policy file
        // that cannot be used falls back to (not the defaults), even across a restart.
        let database = options.data_dir.database();
        let mut tracker = tokio::task::spawn_blocking(move || {
            tracker::Tracker::open_with(
                &database,
                AdminPolicy::default(),
                tracker::store::Durability::Grouped,
            )
        })
        .await
        .context("opening the tracker")?
        .context("opening the tracker's database")?;
        // A bridge that would refuse every read is not started: the person is told which
        // key file is missing or damaged and what to do (the gate would only log it).
        crate::audit_key::install(&mut tracker).context("loading the audit key")?;
        let last_good = tracker.last_good_admin_policy().unwrap_or_else(|e| {
            tracing::warn!("not using the saved last good policy: {e}");
            None
        });
        let admin =
            policy_file::PolicyState::load(&options.policy_path, last_good.unwrap_or_default());
        admin.warn_ignored(None);
        if let Some(e) = &admin.error {
            tracing::warn!(
                "the administrator's policy file cannot be used; the last good policy stays in force: {e}"
            );
        }
        tracker
            .put_admin_policy(
                admin.policy.clone(),
                &admin.path.display().to_string(),
                tracker::unix_millis_now(),
            )
            .context("recording the policy in force")?;
        let (policy_tx, policy_rx) = watch::channel(admin.pane_policy());
        let approval_timeout = options.approval_timeout.unwrap_or(Duration::from_secs(
            admin.policy.approval_timeout_seconds.into(),
        ));
        let start_error = admin.error.clone();
        let (admin_tx, _) = watch::channel(admin);
        let allow_dirs = if options.allow_dirs.is_empty() {
            let cwd = std::env::current_dir().context("finding the current directory")?;
            // A bridge started by a desktop app (through `office-bridge mcp`) often runs in
            // `/`: the whole disk is no sensible default. Allow nothing then; the file tools
            // say how to allow a folder. Nor the data directory, which they never touch.
            let in_data_dir = std::fs::canonicalize(options.data_dir.root())
                .is_ok_and(|data| cwd.starts_with(data));
            if cwd.parent().is_none() || in_data_dir {
                tracing::info!(
                    "file tools allow no folder (started in {}); use --allow-dir",
                    cwd.display()
                );
                Vec::new()
            } else {
                vec![cwd]
            }
        } else {
            options.allow_dirs.clone()
        };
        // The data directory holds the desktop credential that answers approvals: the
        // agent's file tools must never read it, even under `--allow-dir ~`.
        let allowed_dirs = AllowedDirs::new(&allow_dirs)
            .and_then(|dirs| dirs.excluding(options.data_dir.root()))
            .context("checking --allow-dir")?;
        let registry = Arc::new(Registry::new(options.channel.clone(), events.clone()));
        let gate = Arc::new(Gate::new(
            tracker,
            events.clone(),
            registry.clone(),
            approval_timeout,
        ));
        // Approvals a previous run left open were closed as expired when the store opened
        // ("the bridge restarted"): nothing held then is ever written now.
        let closed_at_start = gate
            .announce_restart()
            .await
            .context("closing the approvals of the previous run")?;
        let mcp = Arc::new(McpContext {
            registry: registry.clone(),
            gate: gate.clone(),
            policy: policy_rx,
            allowed_dirs: Arc::new(allowed_dirs),
            limits: tracker::files::Limits::default(),
            reads: crate::files::ReadSwitch::default(),
            sheets: crate::files::SheetCache::default(),
            started: std::time::Instant::now(),
            peers: std::sync::Mutex::new(Vec::new()),
            purview_checked: std::sync::Mutex::new(std::collections::HashSet::new()),
            injection: crate::mcp::injection_check(),
        });
        let state = AppState {
            origins: Arc::new(Origins::new(port)),
            token: Arc::new(token),
            desktop_token: Arc::new(desktop_token),
            registry,
            events: events.clone(),
            pane_policy: Arc::new(policy_tx),
            pane_handler: Arc::new(GatePaneMethods { gate: gate.clone() }),
            gate,
            mcp,
            shutdown: CancellationToken::new(),
            admin: Arc::new(admin_tx),
            fixed_approval_timeout: options.approval_timeout,
            connections: Arc::default(),
            playground: options.playground,
            demo: Arc::default(),
            ca_pem: Arc::from(material.ca_pem.as_str()),
        };
        state.connections.limit.store(
            options.connections.max_connections as u64,
            Ordering::Relaxed,
        );
        if let Some(error) = start_error {
            events.publish(BridgeEvent::PolicyChanged {
                policy: serde_json::to_value(&state.admin.borrow().policy).unwrap_or_default(),
                error: Some(error),
                at: tracker::unix_millis_now(),
            });
        }
        let (own_user, peer_check) = peer_user::OwnUser::detect(options.bind);
        match peer_check {
            Ok(()) => tracing::debug!("connections from other OS users are refused"),
            // Expected on macOS (docs/security.md): said once, not as a fault.
            Err(why) if !cfg!(any(target_os = "linux", windows)) => tracing::info!(
                "connections from other OS users are not refused on this system ({why})"
            ),
            Err(why) => tracing::warn!(
                "cannot tell which OS user a connection comes from ({why}): other users of this machine are not refused"
            ),
        }
        Ok(Bridge {
            listener,
            tls: TlsAcceptor::from(Arc::new(tls_config)),
            state,
            certs: material,
            live_cert,
            data_dir: options.data_dir,
            own_user,
            closed_at_start,
            limits: options.connections,
        })
    }

    /// How many approvals the previous run left open were closed as expired at this start
    /// (nothing they held is ever written).
    pub fn approvals_closed_at_start(&self) -> usize {
        self.closed_at_start
    }

    /// Whether connections from other OS users are dropped (see `peer_user`).
    pub fn refuses_other_users(&self) -> bool {
        self.own_user.checks()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has a local address")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn certificates(&self) -> &certs::Material {
        &self.certs
    }

    pub fn data_dir(&self) -> &DataDir {
        &self.data_dir
    }

    /// Renews the leaf certificate when it is due at `now` and presents the new one from the
    /// next handshake on. Returns the reason when it renewed.
    pub fn renew_certificate_if_due(&self, now: time::OffsetDateTime) -> Result<Option<String>> {
        renew_if_due(&self.data_dir, &self.live_cert, now)
    }

    pub fn router(state: AppState) -> Router {
        let mcp = crate::mcp::service(
            state.mcp.clone(),
            state.origins.port(),
            state.shutdown.child_token(),
        );
        let credentials = guard::Credentials {
            agent: state.token.clone(),
            desktop: state.desktop_token.clone(),
        };
        let accepting = |accepts| {
            middleware::from_fn_with_state(
                (credentials.clone(), accepts),
                guard::require_credential,
            )
        };
        let agent = Router::new()
            .nest_service(
                "/mcp",
                tower::ServiceBuilder::new()
                    .layer(middleware::from_fn(transport::session_end_is_no_content))
                    .layer(middleware::from_fn(transport::answer_ends_the_stream))
                    .service(mcp),
            )
            .layer(accepting(guard::Accepts::Agent));
        let desktop_reads = Router::new()
            .route("/v1/status", get(status))
            .route("/v1/events", get(events_api::events))
            .route("/v1/approvals", get(events_api::pending))
            .route("/v1/flows", get(events_api::flows))
            .route("/v1/policy", get(events_api::policy))
            .layer(accepting(guard::Accepts::Either));
        // Answers and anything else that changes the person's choices: never the agent.
        let person_only = Router::new()
            .route("/v1/approvals/{id}", post(events_api::decide))
            .layer(accepting(guard::Accepts::Desktop));
        let api = agent.merge(desktop_reads).merge(person_only);
        Router::new()
            .route("/healthz", get(healthz))
            .route("/addin/ws", get(addin_socket))
            .route("/playground/demo-agent", post(demo_agent::run))
            .merge(api)
            .fallback(assets::routes(assets::Assets {
                origins: state.origins.clone(),
                playground: state.playground,
            }))
            .layer(middleware::from_fn_with_state(
                state.origins.clone(),
                guard::host_and_origin,
            ))
            .with_state(state)
    }

    /// Serves until `shutdown` completes, then stops accepting, closes pane connections
    /// with "going away", and gives open requests a few seconds to finish (all of it
    /// within [`SHUTDOWN_GRACE`]).
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send) -> Result<()> {
        let router = Self::router(self.state.clone());
        let graceful = GracefulShutdown::new();
        let renewal = tokio::spawn({
            let data_dir = self.data_dir.clone();
            let live = self.live_cert.clone();
            async move {
                let mut tick = tokio::time::interval(RENEWAL_CHECK);
                tick.tick().await; // the first tick is immediate; `bind` just checked
                loop {
                    tick.tick().await;
                    let (dir, cert) = (data_dir.clone(), live.clone());
                    let now = time::OffsetDateTime::now_utc();
                    match tokio::task::spawn_blocking(move || renew_if_due(&dir, &cert, now)).await
                    {
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => tracing::warn!("certificate renewal check failed: {e:#}"),
                        Err(e) => tracing::warn!("certificate renewal task failed: {e}"),
                    }
                }
            }
        });
        let policy_watch = tokio::spawn({
            let state = self.state.clone();
            async move {
                // Both files: a permitted override appearing later takes over.
                let paths = state.admin.borrow().sources.watched();
                let (mut ticks, _watcher) = policy_file::watch(&paths);
                while ticks.recv().await.is_some() {
                    // Editors and deployment tools write in several steps: let them finish.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    while ticks.try_recv().is_ok() {}
                    let current = state.admin.borrow().clone();
                    let next = tokio::task::spawn_blocking(move || current.reload()).await;
                    match next {
                        Ok(next) => state.apply_policy(next).await,
                        Err(e) => tracing::warn!("policy reload failed: {e}"),
                    }
                }
            }
        });
        // The audit chain to the administrator's collectors (audit.forward), following
        // the policy as it changes.
        let forwarding = tokio::spawn({
            let mut admin = self.state.admin.subscribe();
            let (audit_tx, audit_rx) = watch::channel(admin.borrow().policy.audit.clone());
            let database = self.data_dir.database();
            let commits = self.state.gate.commits();
            async move {
                // One future: aborting this task drops the supervisor and so its senders.
                let follow = async move {
                    while admin.changed().await.is_ok() {
                        let next = admin.borrow_and_update().policy.audit.clone();
                        audit_tx.send_if_modified(|current| {
                            let changed = *current != next;
                            *current = next;
                            changed
                        });
                    }
                };
                tokio::join!(
                    follow,
                    crate::audit_forward::supervise(audit_rx, database, commits)
                );
            }
        });
        let mut shutdown = std::pin::pin!(shutdown);
        let limits = self.limits;
        // Each connection holds a descriptor: past the cap the bridge would run out of
        // them and answer no one. At the cap a connection is held, not refused, until a
        // place frees; the ones behind it wait in the kernel's listen queue.
        let places = Arc::new(Semaphore::new(limits.max_connections));
        let mut cap_warning = conn::CapWarning::default();
        loop {
            let (tcp, peer) = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let counts = self.state.connections.clone();
            ConnectionCounts::bump(&counts.accepted);
            let permit = match places.clone().try_acquire_owned() {
                Ok(permit) => permit,
                Err(_) => {
                    ConnectionCounts::bump(&counts.waited_at_limit);
                    cap_warning.reached(limits.max_connections);
                    tokio::select! {
                        permit = places.clone().acquire_owned() => match permit {
                            Ok(permit) => permit,
                            Err(_) => break, // never closed
                        },
                        () = &mut shutdown => break,
                    }
                }
            };
            let slot = conn::Slot::new(permit, counts.clone());
            // Small frames (pane requests, SSE events) go out at once: with Nagle's algorithm
            // a frame written while an earlier one waits for the peer's delayed ACK is held
            // ~40 ms (found with office-bridge-load: every tool call paid it).
            let _ = tcp.set_nodelay(true);
            let acceptor = self.tls.clone();
            let own_user = self.own_user.clone();
            let router = router.clone();
            let watcher = graceful.watcher();
            tokio::spawn(async move {
                // Only the bridge's own OS user may connect (see peer_user): checked before
                // the handshake, so another user's process gets nothing but a closed
                // connection. A procfs read, so off the accept loop.
                let local = tcp.local_addr();
                let check = match local {
                    Ok(local) => own_user.check(peer, local),
                    Err(_) => peer_user::PeerCheck::Refused(None),
                };
                if let peer_user::PeerCheck::Refused(owner) = check {
                    ConnectionCounts::bump(&counts.refused_other_user);
                    let owner = owner.map_or_else(
                        || "unknown".to_string(),
                        |o| format!("{} {o}", peer_user::OWNER_KIND),
                    );
                    tracing::warn!(%peer, owner, "refused a connection from another OS user (or one whose owner is unknown)");
                    return;
                }
                let tls = match tokio::time::timeout(limits.handshake_timeout, acceptor.accept(tcp))
                    .await
                {
                    Ok(Ok(tls)) => tls,
                    Ok(Err(e)) => {
                        ConnectionCounts::bump(&counts.tls_failed);
                        tracing::debug!(%peer, "TLS handshake failed: {e}");
                        return;
                    }
                    Err(_) => {
                        ConnectionCounts::bump(&counts.tls_failed);
                        ConnectionCounts::bump(&counts.timed_out);
                        tracing::debug!(%peer, "TLS handshake timed out");
                        return;
                    }
                };
                let multiplexed = tls.get_ref().1.alpn_protocol() == Some(b"h2");
                let activity = conn::Activity::new(multiplexed);
                let service = conn::tracked_service(router, activity.clone());
                let io = conn::TrackedIo::new(tls, activity.clone(), slot);
                let builder = auto::Builder::new(TokioExecutor::new());
                let connection = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
                let served = watcher.watch(connection.into_owned());
                // Dropping the connection closes it; a WebSocket upgraded from it has left
                // by then (the connection future ends at the upgrade).
                tokio::select! {
                    result = served => if let Err(e) = result {
                        tracing::debug!(%peer, "connection ended with an error: {e}");
                    },
                    why = activity.expired(limits) => {
                        ConnectionCounts::bump(&counts.timed_out);
                        tracing::debug!(%peer, "closed a connection: {why}");
                    }
                }
            });
        }
        renewal.abort();
        policy_watch.abort();
        forwarding.abort();
        tracing::info!("shutting down");
        // A read nobody will wait for stops now, within milliseconds.
        self.state.mcp.reads.cancel_all();
        // Everything below is bounded: a stop must not wait on a file read or a client
        // (what is recorded is durable already; `main` then leaves blocking tasks behind).
        let orderly = tokio::time::timeout(SHUTDOWN_GRACE, async {
            // Held writes are refused now, so the agents waiting on them hear that nothing
            // was written (and why) before their connections close.
            self.state.gate.shutdown(HELD_CALLS_GRACE).await;
            self.state.shutdown.cancel();
            self.state
                .registry
                .close_all(socket::CLOSE_GOING_AWAY, "the bridge is shutting down")
                .await;
            graceful.shutdown().await;
        })
        .await;
        if orderly.is_err() {
            self.state.shutdown.cancel();
            tracing::warn!(
                "the orderly stop did not finish within {}s; closing what is left",
                SHUTDOWN_GRACE.as_secs()
            );
        }
        Ok(())
    }
}

fn renew_if_due(
    data_dir: &DataDir,
    live: &certs::LiveCertificate,
    now: time::OffsetDateTime,
) -> Result<Option<String>> {
    let material = certs::ensure(&data_dir.certs(), now).context("checking the certificate")?;
    match &material.outcome {
        certs::EnsureOutcome::RenewedLeaf { reason } => {
            live.replace(&material)
                .context("loading the renewed certificate")?;
            tracing::info!(%reason, "renewed the localhost certificate while running");
            Ok(Some(reason.clone()))
        }
        _ => Ok(None),
    }
}

async fn healthz(State(state): State<AppState>) -> Response {
    let connected = state.registry.list().iter().filter(|s| s.connected).count();
    axum::Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "panes_connected": connected,
    }))
    .into_response()
}

async fn status(State(state): State<AppState>) -> Response {
    let store = state.gate.commit_stats().await.ok().map(|c| {
        json!({
            "commits": c.commits,
            "flushes": c.flushes,
            "flush_ms": c.flush_time.as_secs_f64() * 1000.0,
        })
    });
    axum::Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "documents": state.registry.list(),
        "policy": *state.pane_policy.borrow(),
        "policy_file": state.admin.borrow().file_status(),
        "store": store,
        "connections": state.connections.json(),
    }))
    .into_response()
}

async fn addin_socket(
    State(state): State<AppState>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    // The guard already refused a foreign Origin; the pane channel also refuses a missing
    // one, since only a pane page served by this bridge may open it.
    let origin_ok = headers
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .is_some_and(|o| state.origins.is_own_origin(o));
    if !origin_ok {
        return (
            StatusCode::FORBIDDEN,
            format!(
                "the add-in channel only accepts connections from {}\n",
                state.origins.primary()
            ),
        )
            .into_response();
    }
    // The hard limit; the soft one (half of it) is answered in the read loop.
    let limit = state.registry.config().max_message_bytes.saturating_mul(2);
    let ctx = ChannelContext {
        registry: state.registry.clone(),
        handler: state.pane_handler.clone(),
        policy: state.pane_policy.subscribe(),
        playground: state.playground,
    };
    upgrade
        .max_message_size(limit)
        .max_frame_size(limit)
        .on_upgrade(move |ws| socket::serve_connection(ws, ctx))
}
