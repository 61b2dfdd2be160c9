//! `office-bridge-load`: N simulated panes (Excel and PowerPoint) and M MCP agents against
//! the real `office-bridge` binary on loopback, each agent looping "read a workbook range,
//! write it reformatted into a deck". Reports throughput, tool-call latency, the bridge's
//! overhead against bare round trips measured in the same run (and, before the load, what
//! an MCP `ping` alone costs against them), every request accounted
//! for (none lost, none repeated), the audit chain checked against the successful writes,
//! and the bridge's memory. Exit 0 when nothing was lost, repeated, failed or missing from
//! the audit chain; 1 otherwise; 2 when the run could not be made.

mod agent;
mod bridge;
mod data;
mod pane;
mod report;
mod slow;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;

use bridge::Bridge;
use pane::{App, Pane, Seen};

#[derive(Parser, Debug)]
#[command(
    name = "office-bridge-load",
    about = "Load and reliability run against the real office-bridge: simulated panes and MCP agents doing read-then-write flows"
)]
pub struct Args {
    /// Simulated panes, half Excel workbooks and half PowerPoint decks (at least 2).
    #[arg(long, default_value_t = 50)]
    panes: usize,
    /// MCP clients, each looping excel_read_range -> ppt_add_table on random pairs.
    #[arg(long, default_value_t = 20)]
    agents: usize,
    /// Seconds of load.
    #[arg(long, default_value_t = 60.0)]
    duration: f64,
    /// Read-then-write flows per agent at most (0: until the duration is over).
    #[arg(long, default_value_t = 0)]
    max_flows: u64,
    /// Serial flows and probes measured before the load, with nothing else running
    /// (0: skip).
    #[arg(long, default_value_t = 50)]
    baseline: u64,
    /// Milliseconds between floor probes during the load (a bare WebSocket round trip
    /// and a bare HTTPS round trip, alternately).
    #[arg(long, default_value_t = 20)]
    probe_ms: u64,
    /// The office-bridge binary (default: OFFICE_BRIDGE_BIN, else next to this program).
    #[arg(long = "bin", env = "OFFICE_BRIDGE_BIN")]
    bin: Option<PathBuf>,
    /// Attach to a bridge already running on this port (needs --data-dir) instead of
    /// starting one. It is left running; its audit chain is checked live.
    #[arg(long)]
    port: Option<u16>,
    /// With --port: the bridge's process id as this system sees it, for its liveness and
    /// memory (default: the one in bridge.json; a Windows bridge under Wine records its
    /// Windows id).
    #[arg(long, requires = "port")]
    bridge_pid: Option<u32>,
    /// The bridge's data directory (default: a fresh temporary one).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Keep the temporary data directory (its path is printed).
    #[arg(long)]
    keep_data: bool,
    /// Seed of the agents' choices.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Hostile connections held open during the load, kinds in turn: TCP without TLS, TLS
    /// without a request, a request head trickled one byte a second. Each one the bridge
    /// closes is reopened; the report says how many it closed and how fast, and what a
    /// fresh connection's /healthz saw meanwhile.
    #[arg(long, default_value_t = 0)]
    slow_clients: usize,
    /// Start the bridge with this open-file limit (RLIMIT_NOFILE), as `ulimit -n` would,
    /// leaving this tool's own limit alone (unix).
    #[arg(long, value_name = "N")]
    bridge_fd_limit: Option<u64>,
}

fn main() {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(args)) {
        Ok(ok) => std::process::exit(if ok { 0 } else { 1 }),
        Err(e) => {
            eprintln!("office-bridge-load: {e:#}");
            std::process::exit(2);
        }
    }
}

fn say(args: &Args, line: impl AsRef<str>) {
    if !args.json {
        eprintln!("{}", line.as_ref());
    }
}

/// Samples taken while the load runs.
#[derive(Default)]
pub struct Probes {
    pub ws_us: Vec<u32>,
    pub https_us: Vec<u32>,
    /// MCP `ping`s through an agent's session (baseline only).
    pub mcp_us: Vec<u32>,
    pub mcp_errors: u64,
    pub https_errors: u64,
    pub ws_errors: u64,
}

fn micros(d: Duration) -> u32 {
    d.as_micros().min(u32::MAX as u128) as u32
}

async fn probe_once(
    panes: &[Pane],
    https: &reqwest::Client,
    url: &str,
    k: usize,
    out: &mut Probes,
) {
    if k.is_multiple_of(2) {
        match panes[(k / 2) % panes.len()].ping().await {
            Some(d) => out.ws_us.push(micros(d)),
            None => out.ws_errors += 1,
        }
    } else {
        let start = Instant::now();
        let ok = match https.get(url).send().await {
            Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
            Err(_) => false,
        };
        if ok {
            out.https_us.push(micros(start.elapsed()));
        } else {
            out.https_errors += 1;
        }
    }
}

async fn run(args: Args) -> Result<bool> {
    if args.panes < 2 {
        bail!("--panes must be at least 2 (one workbook and one deck)");
    }
    if args.agents == 0 {
        bail!("--agents must be at least 1");
    }
    let bin = bridge::find_binary(args.bin.clone())?;
    let mut bridge = match (args.port, &args.data_dir) {
        (Some(port), Some(dir)) => {
            if args.bridge_fd_limit.is_some() {
                bail!("--bridge-fd-limit applies to a bridge this tool starts, not with --port");
            }
            Bridge::attach(bin, Some(port), dir.clone(), args.bridge_pid)?
        }
        (Some(_), None) => bail!("--port attaches to a running bridge and needs its --data-dir"),
        (None, Some(dir)) => {
            std::fs::create_dir_all(dir)?;
            Bridge::start(bin, dir.clone(), None, args.bridge_fd_limit)?
        }
        (None, None) => {
            let temp = tempfile::Builder::new()
                .prefix("office-bridge-load-")
                .tempdir()?;
            let dir = temp.path().to_path_buf();
            Bridge::start(bin, dir, Some(temp), args.bridge_fd_limit)?
        }
    };
    say(
        &args,
        format!(
            "bridge: pid {} on port {} (data {}){}",
            bridge.pid,
            bridge.port,
            bridge.data_dir.display(),
            if bridge.started_here() {
                ""
            } else {
                ", attached"
            }
        ),
    );
    let ep = bridge.endpoint()?;
    let audit_from = bridge::audit_head(&bridge.database())?;

    // Panes: workbooks first, then decks.
    let workbooks = args.panes.div_ceil(2);
    let decks = args.panes - workbooks;
    let seen = Arc::new(Seen::default());
    let mut panes = Vec::with_capacity(args.panes);
    for i in 0..workbooks {
        panes.push(Pane::open(&ep, App::Excel, i, seen.clone()).await?);
    }
    for j in 0..decks {
        panes.push(Pane::open(&ep, App::Powerpoint, j, seen.clone()).await?);
    }
    let panes = Arc::new(panes);
    let mut clients = Vec::with_capacity(args.agents);
    for _ in 0..args.agents {
        clients.push(Arc::new(agent::connect(&ep).await?));
    }
    say(
        &args,
        format!(
            "connected: {workbooks} Excel panes, {decks} PowerPoint panes, {} MCP agents",
            args.agents
        ),
    );
    let https = ep.https_client()?;
    let health = format!("https://localhost:{}/healthz", ep.port);

    // Baseline: one caller at a time, nothing else running.
    let mut baseline_probes = Probes::default();
    let mut baseline = agent::Outcome::default();
    if args.baseline > 0 {
        for k in 0..(4 * args.baseline as usize) {
            probe_once(&panes, &https, &health, k, &mut baseline_probes).await;
        }
        for _ in 0..(2 * args.baseline) {
            match agent::ping(&clients[0]).await {
                Some(d) => baseline_probes.mcp_us.push(micros(d)),
                None => baseline_probes.mcp_errors += 1,
            }
        }
        baseline = agent::run(
            &clients[0],
            agent::Plan {
                agent: 0,
                workbooks,
                decks,
                until: Instant::now() + Duration::from_secs(120),
                max_flows: args.baseline,
                seed: args.seed ^ 0xb5,
                prefix: "base-",
            },
        )
        .await;
        say(
            &args,
            format!(
                "baseline: {} serial flows, {} probes, {} MCP pings",
                args.baseline,
                4 * args.baseline,
                2 * args.baseline
            ),
        );
    }

    // The load.
    let rss_start = bridge.rss_kib();
    let cpu_start = (cpu_seconds(bridge.pid), cpu_seconds(std::process::id()));
    let counters_start = bridge_counters(&https, &ep).await;
    let loadavg_start = loadavg();
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(args.duration);
    let running = Arc::new(AtomicBool::new(true));
    let sampler = {
        let running = running.clone();
        let pid = bridge.pid;
        tokio::spawn(async move {
            let mut samples = Vec::new();
            let start = Instant::now();
            while running.load(Ordering::Relaxed) {
                if let Some(kib) = rss_of(pid) {
                    samples.push((start.elapsed().as_secs_f64(), kib));
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            samples
        })
    };
    let prober = {
        let running = running.clone();
        let panes = panes.clone();
        let https = https.clone();
        let health = health.clone();
        let every = Duration::from_millis(args.probe_ms.max(1));
        tokio::spawn(async move {
            let mut out = Probes::default();
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut k = 0usize;
            while running.load(Ordering::Relaxed) {
                tick.tick().await;
                probe_once(&panes, &https, &health, k, &mut out).await;
                k += 1;
            }
            out
        })
    };
    say(
        &args,
        format!(
            "load: {} agents for {:.0} s{}",
            args.agents,
            args.duration,
            if args.max_flows > 0 {
                format!(" (at most {} flows each)", args.max_flows)
            } else {
                String::new()
            }
        ),
    );
    let attack = (args.slow_clients > 0).then(|| {
        say(
            &args,
            format!(
                "slow clients: {} hostile connections held open during the load",
                args.slow_clients
            ),
        );
        slow::start(&ep, args.slow_clients)
    });
    let mut tasks = Vec::new();
    for (a, client) in clients.iter().enumerate() {
        let client = client.clone();
        let plan = agent::Plan {
            agent: a,
            workbooks,
            decks,
            until,
            max_flows: args.max_flows,
            seed: args.seed,
            prefix: "",
        };
        tasks.push(tokio::spawn(async move { agent::run(&client, plan).await }));
    }
    let mut load = agent::Outcome::default();
    for t in tasks {
        load.merge(t.await.context("an agent task failed")?);
    }
    let elapsed = started.elapsed();
    let slow = match attack {
        Some(attack) => Some(attack.stop().await),
        None => None,
    };
    let rss_end = bridge.rss_kib();
    let cpu = match (
        cpu_start,
        (cpu_seconds(bridge.pid), cpu_seconds(std::process::id())),
    ) {
        ((Some(b0), Some(t0)), (Some(b1), Some(t1))) => Some((b1 - b0, t1 - t0)),
        _ => None,
    };
    let counters_end = bridge_counters(&https, &ep).await;
    running.store(false, Ordering::Relaxed);
    let probes = prober.await.context("probe task")?;
    let rss_series = sampler.await.context("memory sampler")?;
    let bridge_alive = bridge.alive();
    say(
        &args,
        format!("load done after {:.1} s; closing", elapsed.as_secs_f64()),
    );

    // Close agents and panes the normal way, then stop the bridge.
    for c in clients {
        if let Ok(c) = Arc::try_unwrap(c) {
            let _ = tokio::time::timeout(Duration::from_secs(5), c.cancel()).await;
        }
    }
    let dropped: Vec<String> = panes
        .iter()
        .filter(|p| p.stats.dropped.load(Ordering::Relaxed))
        .map(|p| {
            p.stats
                .drop_reason
                .lock()
                .unwrap()
                .clone()
                .unwrap_or_default()
        })
        .collect();
    for p in panes.iter() {
        p.close().await;
    }
    let stopped = tokio::task::block_in_place(|| bridge.stop(Duration::from_secs(20)))?;
    let (audit_intact, audit_report) = bridge.audit_verify()?;
    let audit = bridge::audit_counts(&bridge.database(), audit_from)?;
    let log = bridge.log_levels();

    let r = report::Report::build(report::Inputs {
        args: &args,
        bridge: &bridge,
        workbooks,
        decks,
        elapsed,
        load,
        probes,
        baseline,
        baseline_probes,
        panes: &panes,
        seen: &seen,
        audit,
        audit_intact,
        audit_report,
        rss_start,
        rss_end,
        rss_series,
        bridge_alive,
        cpu,
        counters: counters_start.zip(counters_end),
        loadavg: (loadavg_start, loadavg()),
        started,
        stopped,
        dropped,
        log,
        slow,
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r.json)?);
    } else {
        print!("{}", r.text);
    }
    if let Some(temp) = bridge.temp.take()
        && args.keep_data
    {
        let kept = temp.keep();
        eprintln!("data directory kept: {}", kept.display());
    }
    Ok(r.ok)
}

fn rss_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// User + system CPU time of a process so far, in seconds (Linux /proc).
#[cfg(not(unix))]
fn cpu_seconds(_pid: u32) -> Option<f64> {
    None
}

/// User + system CPU time of a process so far, in seconds (Linux /proc).
#[cfg(unix)]
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the name.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    let hz = rustix::param::clock_ticks_per_second();
    Some(ticks / if hz > 0 { hz as f64 } else { 100.0 })
}

/// The machine's 1-minute load average: other work competing with the run.
fn loadavg() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The bridge's counters from `/v1/status`: group commit (commits, flushes, time spent
/// flushing) and connections accepted. None from a bridge that does not report them.
async fn bridge_counters(
    https: &reqwest::Client,
    ep: &pane::Endpoint,
) -> Option<report::BridgeCounters> {
    let status: serde_json::Value = https
        .get(format!("https://localhost:{}/v1/status", ep.port))
        .bearer_auth(&ep.token)
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    let store = &status["store"];
    Some(report::BridgeCounters {
        commits: store["commits"].as_u64()?,
        flushes: store["flushes"].as_u64()?,
        flush_ms: store["flush_ms"].as_f64()?,
        connections: status["connections"]["accepted"].as_u64()?,
    })
}
