//! The `office-bridge` command line.

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use office_bridge::cli;
use office_bridge::datadir::{DATA_DIR_ENV, DataDir};
use office_bridge::logging::{self, LogFormat};
use office_bridge::server::{self, Bridge, ServeOptions};
use office_bridge::token::Token;

#[derive(Parser)]
#[command(
    name = "office-bridge",
    version,
    about = "Local HTTPS bridge between an AI agent and the Excel and PowerPoint task panes, with every transfer tracked"
)]
struct Cli {
    /// Where certificates, the two tokens and the database live.
    #[arg(long, global = true, env = DATA_DIR_ENV)]
    data_dir: Option<PathBuf>,
    /// Log line format on stderr.
    #[arg(long, global = true, value_enum, default_value = "text")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the bridge (creates certificates and the tokens on first run).
    Serve {
        /// Port on loopback.
        #[arg(long, default_value_t = server::DEFAULT_PORT)]
        port: u16,
        /// Loopback address to listen on (127.0.0.1 or ::1); anything else is refused.
        #[arg(long, default_value = "127.0.0.1")]
        bind: IpAddr,
        /// A folder the file tools (xlsx_read, xlsx_write, scan_file) may use; repeat for
        /// more. Default: the current directory only.
        #[arg(long = "allow-dir", value_name = "FOLDER")]
        allow_dirs: Vec<PathBuf>,
        /// Serve the playground (/playground/): the real panes on a simulated workbook and
        /// deck, which the agent then sees as open documents. Off by default, so no web
        /// page can make simulated documents appear to the agent.
        #[arg(long)]
        playground: bool,
    },
    /// The local certificate authority and the localhost certificate.
    Certs {
        #[command(subcommand)]
        action: CertsAction,
    },
    /// The bearer tokens: the agent's (for its MCP client) and, with --desktop, the desktop
    /// token (the monitor, notify, approvals: the only one that answers approvals).
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Which data of SOURCE workbooks appears in TARGET files. Exit 0: no confirmed flow;
    /// 1: confirmed flows found; 2: error.
    Scan {
        /// Files to check: pptx, docx, xlsx, xlsm, xls, ods, csv, txt, md.
        #[arg(required = true)]
        targets: Vec<PathBuf>,
        /// Workbooks whose data to look for: xlsx, xlsm, xls, ods, csv.
        #[arg(long, required = true, num_args = 1..)]
        against: Vec<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The administrator's managed policy file (see docs/admin.md).
    Admin {
        #[command(subcommand)]
        action: AdminAction,
    },
    /// The tamper-evident audit log.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Speak MCP on stdin/stdout and relay it to the bridge's /mcp endpoint, starting the
    /// bridge if none is running (for clients that only start stdio servers, like Claude
    /// Desktop).
    Mcp {
        /// The bridge's port; default: the one a running bridge recorded, else 29443.
        #[arg(long)]
        port: Option<u16>,
        /// Folders the file tools may use, for a bridge this command starts (as
        /// `serve --allow-dir`); repeat the flag or list several after it. A running
        /// bridge keeps its own.
        #[arg(long = "allow-dir", value_name = "FOLDER", num_args = 1..)]
        allow_dirs: Vec<PathBuf>,
    },
    /// Start the bridge at login for this user: a systemd user unit (Linux), a LaunchAgent
    /// (macOS), the user's Run key (Windows), each running this binary with this data
    /// directory.
    Service {
        #[command(subcommand)]
        action: ServiceAction,
    },
    /// Build a package for another program to install.
    Package {
        #[command(subcommand)]
        action: PackageAction,
    },
    /// Print the link to the monitor page (connected documents, live flows, approvals, the
    /// policy), with the desktop token in its fragment; `--open` opens it in the default
    /// browser.
    Monitor {
        /// The bridge's port; default: the one a running bridge recorded, else 29443.
        #[arg(long)]
        port: Option<u16>,
        /// Open the page in the default browser too.
        #[arg(long)]
        open: bool,
    },
    /// Show each transfer and approval as a desktop notification (or, with --print, a line
    /// on stdout) as it happens, following the running bridge's event stream.
    ///
    /// Shown: transfers the policy shows or blocks ("12 values from Q3.xlsx >
    /// Revenue!A1:D4 moved into Board.pptx slide 3"), approvals asked for (with the
    /// `office-bridge approvals allow|deny ID` commands that answer them) and answered, and
    /// an administrator's policy file that could not be used. Left out as noise: reads,
    /// transfers the policy simply allows, panes connecting and disconnecting, transfers
    /// held for approval (the "Approval needed" line that follows says the same, with the
    /// deadline), and possible transfers unless --possible is given. Several transfers between the same two documents within 2 s
    /// become one line ("3 transfers: 36 values from Q3.xlsx moved into Board.pptx");
    /// approvals are never grouped or delayed. Reconnects by itself when the bridge
    /// restarts. Without a notification service (no D-Bus session), prints the lines.
    Notify {
        /// Print the lines on stdout instead of raising notifications (for terminals and
        /// scripts).
        #[arg(long)]
        print: bool,
        /// Also show possible transfers: weak matches (a few common values) that never
        /// block. The panes and the monitor always show them.
        #[arg(long)]
        possible: bool,
        /// The bridge's port; default: the one a running bridge recorded, else 29443.
        #[arg(long)]
        port: Option<u16>,
    },
    /// List the approvals waiting for you, or answer one (with the desktop token; the
    /// agent's token cannot). Exit 0: done; 1: no such pending approval (already answered,
    /// expired, never issued); 2: error.
    Approvals {
        #[command(subcommand)]
        action: Option<ApprovalsAction>,
        /// Print the list as JSON (as `GET /v1/approvals` returns it).
        #[arg(long)]
        json: bool,
        /// The bridge's port; default: the one a running bridge recorded, else 29443.
        #[arg(long, global = true)]
        port: Option<u16>,
    },
    /// Write the add-in manifests for a port other than the default.
    Manifests {
        #[arg(long, default_value_t = server::DEFAULT_PORT)]
        port: u16,
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum AdminAction {
    /// Print the effective policy and where each value came from.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Switch an add-in or transfers between documents off, for everyone on this machine.
    Disable {
        #[arg(value_enum)]
        what: cli::admin::Switch,
    },
    /// Switch it back on.
    Enable {
        #[arg(value_enum)]
        what: cli::admin::Switch,
    },
    /// Say what a policy file would mean, or why it does not parse, before deploying it.
    /// Exit 0: valid; 1: it does not parse.
    Check { file: PathBuf },
}

#[derive(Subcommand)]
enum ServiceAction {
    /// Write the unit (plist, Run value) and enable it now.
    Install {
        /// Show what would be written and run, and change nothing.
        #[arg(long)]
        print: bool,
        /// The port the bridge serves on.
        #[arg(long, default_value_t = server::DEFAULT_PORT)]
        port: u16,
        /// A folder the file tools may use (as `serve --allow-dir`); repeat for more.
        #[arg(long = "allow-dir", value_name = "FOLDER")]
        allow_dirs: Vec<PathBuf>,
    },
    /// Disable it and remove what install wrote.
    Uninstall {
        /// Show what would be run and removed, and change nothing.
        #[arg(long)]
        print: bool,
    },
    /// Whether it is installed, for this binary and data directory, and running. Exit 0
    /// when installed, 1 when not.
    Status,
}

#[derive(Subcommand)]
enum PackageAction {
    /// A Claude Desktop extension (MCP Bundle): this binary (and any given with --binary),
    /// a manifest that runs `office-bridge mcp` with the folders the person picks at
    /// install, and the icon. Install it in Claude Desktop: Settings > Extensions.
    Mcpb {
        /// Where to write the bundle (`office-bridge.mcpb`).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Another platform's binary to include: `win32=target/x86_64-pc-windows-gnu/release/office-bridge.exe`,
        /// `darwin=...`, `linux=...`. Repeat for more.
        #[arg(long = "binary", value_name = "PLATFORM=PATH")]
        binaries: Vec<String>,
    },
}

#[derive(Subcommand)]
enum AuditAction {
    /// Check the whole chain; exit 1 at the first edited, removed, reordered or cut record.
    Verify {
        #[arg(long)]
        json: bool,
    },
    /// Export the log as a workbook: one sheet per record kind, filterable.
    Export {
        #[arg(long, value_name = "FILE")]
        xlsx: PathBuf,
    },
}

#[derive(Subcommand)]
enum CertsAction {
    /// What is trusted, where the files are, when they expire.
    Status,
    /// Trust the local CA in this user's certificate stores.
    Install,
    /// Remove the local CA from the stores `install` added it to.
    Uninstall,
}

#[derive(Subcommand)]
enum ApprovalsAction {
    /// Let the held transfer (or deletion) through.
    Allow {
        /// The approval's id (apr_…), as `office-bridge approvals` and notifications show it.
        id: String,
        /// Also let later transfers from the same source into the same document through
        /// without asking (the pane's "Always").
        #[arg(long)]
        always: bool,
    },
    /// Refuse it: nothing is written.
    Deny {
        /// The approval's id (apr_…).
        id: String,
        /// Also block later transfers from the same source into the same document.
        #[arg(long)]
        always: bool,
    },
}

#[derive(Subcommand)]
enum TokenAction {
    /// Print the token (the agent's, for an MCP client's configuration; with --desktop the
    /// desktop token, for desktop tools only: never give it to an agent).
    Show {
        /// The desktop token instead of the agent's.
        #[arg(long)]
        desktop: bool,
    },
    /// Print where the token file is.
    Path {
        /// The desktop token instead of the agent's.
        #[arg(long)]
        desktop: bool,
    },
    /// Replace the token; clients with the old one are refused from then on.
    Rotate {
        /// The desktop token instead of the agent's.
        #[arg(long)]
        desktop: bool,
    },
}

fn main() {
    let cli = Cli::parse();
    logging::init(cli.log_format);
    match run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("office-bridge: {e:#}");
            std::process::exit(2);
        }
    }
}

/// Runs a command; the result is the process exit code.
fn run(cli: Cli) -> Result<i32> {
    let data_dir = DataDir::resolve(cli.data_dir)?;
    match cli.command {
        Command::Serve {
            port,
            bind,
            allow_dirs,
            playground,
        } => serve(data_dir, port, bind, allow_dirs, playground).map(|()| 0),
        Command::Certs { action } => certs_command(&data_dir, action),
        Command::Token { action } => token_command(&data_dir, action).map(|()| 0),
        Command::Approvals { action, json, port } => {
            let action = match action {
                None => cli::approvals::Action::List { json },
                Some(ApprovalsAction::Allow { id, always }) => cli::approvals::Action::Answer {
                    id,
                    allow: true,
                    always,
                },
                Some(ApprovalsAction::Deny { id, always }) => cli::approvals::Action::Answer {
                    id,
                    allow: false,
                    always,
                },
            };
            let prefix = answer_prefix(&data_dir, port);
            cli::approvals::run(&data_dir, port, action, &prefix)
        }
        Command::Scan {
            targets,
            against,
            json,
        } => cli::scan::run(&targets, &against, json),
        Command::Admin { action } => {
            let path = office_bridge::policy_file::managed_path();
            match action {
                AdminAction::Status { json } => cli::admin::status(&path, json).map(|()| 0),
                AdminAction::Disable { what } => cli::admin::set(&path, what, false).map(|()| 0),
                AdminAction::Enable { what } => cli::admin::set(&path, what, true).map(|()| 0),
                AdminAction::Check { file } => cli::admin::check(&file),
            }
        }
        Command::Audit { action } => match action {
            AuditAction::Verify { json } => cli::audit::verify(&data_dir.database(), json),
            AuditAction::Export { xlsx } => {
                cli::audit::export(&data_dir.database(), &xlsx).map(|()| 0)
            }
        },
        Command::Mcp { port, allow_dirs } => office_bridge::relay::run(data_dir, port, allow_dirs),
        Command::Monitor { port, open } => cli::monitor::run(&data_dir, port, open),
        Command::Service { action } => {
            let exe = std::env::current_exe().context("cannot find this program's own binary")?;
            let service =
                |port, allow_dirs: Vec<PathBuf>| -> Result<cli::service::ServiceCommand> {
                    Ok(cli::service::ServiceCommand {
                        exe: exe.clone(),
                        data_dir: data_dir.root().to_path_buf(),
                        port,
                        // The unit runs from another working directory: folders made absolute.
                        allow_dirs: allow_dirs
                            .into_iter()
                            .map(|d| {
                                std::path::absolute(&d)
                                    .with_context(|| format!("folder {}", d.display()))
                            })
                            .collect::<Result<_>>()?,
                    })
                };
            match action {
                ServiceAction::Install {
                    print,
                    port,
                    allow_dirs,
                } => cli::service::install(&service(port, allow_dirs)?, print).map(|()| 0),
                ServiceAction::Uninstall { print } => {
                    cli::service::uninstall(&service(server::DEFAULT_PORT, Vec::new())?, print)
                        .map(|()| 0)
                }
                ServiceAction::Status => {
                    cli::service::status(&service(server::DEFAULT_PORT, Vec::new())?)
                        .map(|installed| if installed { 0 } else { 1 })
                }
            }
        }
        Command::Package {
            action: PackageAction::Mcpb { out, binaries },
        } => {
            let others = binaries
                .iter()
                .map(|b| cli::package::parse_binary(b))
                .collect::<Result<Vec<_>>>()?;
            let packed = cli::package::mcpb(&out, &others)?;
            println!(
                "Wrote {} ({} bytes) for {}.",
                packed.out.display(),
                packed.bytes,
                packed
                    .platforms
                    .iter()
                    .map(|p| p.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            Ok(0)
        }
        Command::Notify {
            print,
            possible,
            port,
        } => {
            let prefix = answer_prefix(&data_dir, port);
            cli::notify::run(data_dir, print, possible, port, prefix)
        }
        Command::Manifests { port, out } => {
            for name in cli::manifests::write(port, &out)? {
                println!("{}", out.join(name).display());
            }
            Ok(0)
        }
    }
}

/// How printed `office-bridge approvals …` commands reach this bridge: with `--data-dir`
/// when it is not the default one (as an absolute path, so the command works from any
/// folder) and with `--port` when one was given.
fn answer_prefix(data_dir: &DataDir, port: Option<u16>) -> String {
    let default = DataDir::resolve(None).ok();
    let dir = (default.as_ref().map(|d| d.root()) != Some(data_dir.root())).then(|| {
        std::path::absolute(data_dir.root()).unwrap_or_else(|_| data_dir.root().to_path_buf())
    });
    cli::approvals::approvals_command(dir.as_deref(), port)
}

fn serve(
    data_dir: DataDir,
    port: u16,
    bind: IpAddr,
    allow_dirs: Vec<PathBuf>,
    playground: bool,
) -> Result<()> {
    server::check_loopback(bind)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let served = runtime.block_on(async move {
        let mut options = ServeOptions::new(data_dir);
        options.port = port;
        options.bind = bind;
        options.allow_dirs = allow_dirs;
        options.playground = playground;
        options.connections = server::conn::ConnectionLimits::from_env()?;
        let shutdown = shutdown_signal()?;
        let bridge = Bridge::bind(options).await?;
        let run_file = bridge.data_dir().run_file();
        let allowed = bridge.state().mcp.allowed_dirs.roots().to_vec();
        write_run_file(&run_file, bridge.local_addr().port(), &allowed)?;
        print_banner(&bridge);
        let served = bridge.serve(shutdown).await;
        // Only our own run file: a newer bridge may have replaced it.
        if read_run_pid(&run_file) == Some(std::process::id()) {
            let _ = std::fs::remove_file(&run_file);
        }
        served
    });
    // Dropping the runtime would wait for every blocking task, and a file read can run for
    // a minute: what the bridge recorded is durable already, so give them a moment, then
    // leave them to the process's exit.
    runtime.shutdown_timeout(RUNTIME_GRACE);
    served
}

/// How long a stopping bridge waits for blocking tasks (file reads) after `serve` returned
/// (`server::SHUTDOWN_GRACE`): the two together stay within the 5 s a stop may take.
const RUNTIME_GRACE: std::time::Duration = std::time::Duration::from_millis(500);

/// Tells local tools (`office-bridge mcp`) where this bridge listens, and which folders
/// its file tools may use (so a relay asked for others can say they are not in effect).
fn write_run_file(path: &std::path::Path, port: u16, allowed: &[PathBuf]) -> Result<()> {
    let body = serde_json::json!({
        "port": port,
        "pid": std::process::id(),
        "version": env!("CARGO_PKG_VERSION"),
        "allowed_folders": allowed,
    });
    office_bridge::datadir::write_secret(path, body.to_string().as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

fn read_run_pid(path: &std::path::Path) -> Option<u32> {
    let text = std::fs::read_to_string(path).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v.get("pid")?.as_u64().map(|p| p as u32)
}

fn print_banner(bridge: &Bridge) {
    let port = bridge.local_addr().port();
    let paths = bridge.data_dir().certs();
    let certs = bridge.certificates();
    println!("office-bridge {} is running", env!("CARGO_PKG_VERSION"));
    println!("  URL:           https://localhost:{port}/");
    println!(
        "  MCP endpoint:  https://localhost:{port}/mcp (bearer token; stdio clients: `office-bridge mcp`)"
    );
    println!("  Events:        https://localhost:{port}/v1/events (either token)");
    println!("  Add-in channel wss://localhost:{port}/addin/ws");
    if bridge.state().playground {
        println!(
            "  Playground:    https://localhost:{port}/playground/ (the real panes on a simulated workbook and deck)"
        );
    } else {
        println!("  Playground:    off (`serve --playground` to try the panes without Office)");
    }
    println!(
        "  CA:            {} (expires {})",
        paths.ca_cert().display(),
        certs.ca_not_after.date()
    );
    println!(
        "  Token file:    {} (print it with `office-bridge token show`)",
        bridge.data_dir().token_file().display()
    );
    println!(
        "  Desktop token: {} (answers approvals; for the monitor and `office-bridge approvals`, never for an agent)",
        bridge.data_dir().desktop_token_file().display()
    );
    println!(
        "  Other users:   {}",
        if bridge.refuses_other_users() {
            "connections from other OS users of this machine are refused"
        } else {
            "NOT refused on this system: run the bridge only where other users are trusted (docs/security.md)"
        }
    );
    {
        let policy = bridge.state().admin.borrow();
        println!(
            "  Policy:        {} ({})",
            policy.path.display(),
            policy.summary()
        );
        // A policy file someone meant to be used and that is not: say it where it is seen.
        for file in policy.ignored.iter().filter(|f| f.path != policy.path) {
            println!("  IGNORED:       {}: {}", file.path.display(), file.why);
        }
    }
    let closed = bridge.approvals_closed_at_start();
    if closed > 0 {
        println!(
            "  Restarted:     {closed} approval{} the previous run held closed as expired; nothing held then will be written",
            if closed == 1 { "" } else { "s" }
        );
    }
    println!("  Sideload:      trust the CA once with `office-bridge certs install`, then add");
    println!("                 manifests/excel.xml and manifests/powerpoint.xml in Office:");
    println!(
        "                 Insert > Add-ins > My Add-ins > Upload My Add-in (see README, Sideload)."
    );
    println!("  Stop with Ctrl-C.");
}

/// Registers the Ctrl-C and SIGTERM handlers now (tokio would only register them when the
/// future is first polled, leaving a window after the banner where SIGTERM kills the
/// process abruptly) and returns the future that completes on either.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()> + Send> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt()).context("listening for Ctrl-C")?;
        let mut terminate = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {},
                _ = terminate.recv() => {},
            }
        })
    }
    #[cfg(not(unix))]
    {
        let mut ctrl_c = tokio::signal::windows::ctrl_c().context("listening for Ctrl-C")?;
        Ok(async move {
            ctrl_c.recv().await;
        })
    }
}

/// Exit code 0 when nothing is left to do, 1 when something is (a store that does not trust
/// the CA, a step the person must run by hand), so scripts and installers can tell.
fn certs_command(data_dir: &DataDir, action: CertsAction) -> Result<i32> {
    let paths = data_dir.certs();
    match action {
        CertsAction::Status => {
            let status = certs::status(&paths, time::OffsetDateTime::now_utc())?;
            print!("{status}");
            Ok(if status.all_good() { 0 } else { 1 })
        }
        CertsAction::Install | CertsAction::Uninstall => {
            data_dir.ensure()?;
            // Installing needs a CA to install: make one now if `serve` never ran.
            certs::ensure(&paths, time::OffsetDateTime::now_utc())?;
            let env = certs::trust::TrustEnv::system();
            let report = if matches!(action, CertsAction::Install) {
                certs::trust::install(&paths, &env)?
            } else {
                certs::trust::uninstall(&paths, &env)?
            };
            print!("{report}");
            let left = report.commands_to_run().len();
            if left > 0 {
                eprintln!("{left} step(s) left: run the command(s) above to finish");
            }
            Ok(if report.is_complete() { 0 } else { 1 })
        }
    }
}

fn token_command(data_dir: &DataDir, action: TokenAction) -> Result<()> {
    data_dir.ensure()?;
    let file = |desktop: bool| {
        if desktop {
            data_dir.desktop_token_file()
        } else {
            data_dir.token_file()
        }
    };
    match action {
        TokenAction::Show { desktop } => {
            println!("{}", Token::load_or_create(&file(desktop))?.expose())
        }
        TokenAction::Path { desktop } => println!("{}", file(desktop).display()),
        TokenAction::Rotate { desktop } => {
            let path = file(desktop);
            Token::rotate(&path)?;
            // The monitor keeps the token it was opened with; it needs a fresh link.
            let who = if desktop {
                "; open the monitor again with `office-bridge monitor`"
            } else {
                ""
            };
            println!(
                "new token written to {}; a running bridge uses it from the next request{who}",
                path.display()
            );
        }
    }
    Ok(())
}
