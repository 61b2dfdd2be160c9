//! The `office-bridge` command line.

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

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
    /// Where certificates, the token and the database live.
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
    /// Run the bridge (creates certificates and the token on first run).
    Serve {
        /// Port on loopback.
        #[arg(long, default_value_t = server::DEFAULT_PORT)]
        port: u16,
        /// Loopback address to listen on (127.0.0.1 or ::1); anything else is refused.
        #[arg(long, default_value = "127.0.0.1")]
        bind: IpAddr,
    },
    /// The local certificate authority and the localhost certificate.
    Certs {
        #[command(subcommand)]
        action: CertsAction,
    },
    /// The bearer token that agents and desktop tools present.
    Token {
        #[command(subcommand)]
        action: TokenAction,
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
enum TokenAction {
    /// Print the token (for an MCP client's configuration).
    Show,
    /// Print where the token file is.
    Path,
    /// Replace the token; clients with the old one are refused from then on.
    Rotate,
}

fn main() {
    let cli = Cli::parse();
    logging::init(cli.log_format);
    if let Err(e) = run(cli) {
        eprintln!("office-bridge: {e:#}");
        std::process::exit(2);
    }
}

fn run(cli: Cli) -> Result<()> {
    let data_dir = DataDir::resolve(cli.data_dir)?;
    match cli.command {
        Command::Serve { port, bind } => serve(data_dir, port, bind),
        Command::Certs { action } => certs_command(&data_dir, action),
        Command::Token { action } => token_command(&data_dir, action),
    }
}

fn serve(data_dir: DataDir, port: u16, bind: IpAddr) -> Result<()> {
    server::check_loopback(bind)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let mut options = ServeOptions::new(data_dir);
        options.port = port;
        options.bind = bind;
        let bridge = Bridge::bind(options).await?;
        print_banner(&bridge);
        bridge.serve(shutdown_signal()).await
    })
}

fn print_banner(bridge: &Bridge) {
    let port = bridge.local_addr().port();
    let paths = bridge.data_dir().certs();
    let certs = bridge.certificates();
    println!("office-bridge {} is running", env!("CARGO_PKG_VERSION"));
    println!("  URL:           https://localhost:{port}/");
    println!("  MCP endpoint:  https://localhost:{port}/mcp");
    println!("  Add-in channel wss://localhost:{port}/addin/ws");
    println!(
        "  CA:            {} (expires {})",
        paths.ca_cert().display(),
        certs.ca_not_after.date()
    );
    println!(
        "  Token file:    {} (print it with `office-bridge token show`)",
        bridge.data_dir().token_file().display()
    );
    println!("  Sideload:      trust the CA once with `office-bridge certs install`, then add");
    println!("                 manifests/excel.xml and manifests/powerpoint.xml in Office:");
    println!(
        "                 Insert > Add-ins > My Add-ins > Upload My Add-in (see README, Sideload)."
    );
    println!("  Stop with Ctrl-C.");
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

fn certs_command(data_dir: &DataDir, action: CertsAction) -> Result<()> {
    let paths = data_dir.certs();
    match action {
        CertsAction::Status => {
            let status = certs::status(&paths, time::OffsetDateTime::now_utc())?;
            print!("{status}");
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
        }
    }
    Ok(())
}

fn token_command(data_dir: &DataDir, action: TokenAction) -> Result<()> {
    data_dir.ensure()?;
    let path = data_dir.token_file();
    match action {
        TokenAction::Show => println!("{}", Token::load_or_create(&path)?.expose()),
        TokenAction::Path => println!("{}", path.display()),
        TokenAction::Rotate => {
            Token::rotate(&path)?;
            println!(
                "new token written to {}; a running bridge uses it from the next request",
                path.display()
            );
        }
    }
    Ok(())
}
