//! What the run measured and whether anything went wrong: latency distributions, the
//! overhead ratio, every request accounted for, the audit chain against the tool calls,
//! memory. Printed as a table, or as JSON.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{Value, json};

use crate::agent::Outcome;
use crate::bridge::{AuditCounts, Bridge, Stopped};
use crate::pane::{App, Pane, Seen};
use crate::{Args, Probes, data};

/// The goal for the overhead ratio (issue #7).
pub const OVERHEAD_GOAL: f64 = 1.5;
/// The goal for the protocol ratio, with one caller: a tool call's p50 against what no
/// bridge can avoid, an MCP `ping` plus the pane's round trip (issue #17).
pub const PROTOCOL_GOAL: f64 = 2.0;
/// Memory counts as flat when it grew less than this over the last three quarters of the
/// run (the first quarter is warm-up: caches, connection buffers, SQLite's page cache).
pub const MEMORY_GROWTH_LIMIT: f64 = 0.10;

#[derive(Clone, Copy, Debug, Default)]
pub struct Dist {
    pub n: usize,
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

impl Dist {
    /// From microseconds; figures in milliseconds. Nearest-rank percentiles.
    pub fn of(samples: &[u32]) -> Dist {
        if samples.is_empty() {
            return Dist::default();
        }
        let mut v = samples.to_vec();
        v.sort_unstable();
        let rank = |p: f64| {
            let k = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len());
            v[k - 1] as f64 / 1000.0
        };
        Dist {
            n: v.len(),
            p50: rank(0.50),
            p99: rank(0.99),
            max: *v.last().unwrap() as f64 / 1000.0,
            mean: v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64 / 1000.0,
        }
    }

    pub fn json(&self) -> Value {
        json!({"n": self.n, "p50_ms": r3(self.p50), "p99_ms": r3(self.p99), "max_ms": r3(self.max), "mean_ms": r3(self.mean)})
    }
}

fn r3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn mib(kib: u64) -> f64 {
    (kib as f64 / 1024.0 * 10.0).round() / 10.0
}

pub struct Inputs<'a> {
    pub args: &'a Args,
    pub bridge: &'a Bridge,
    pub workbooks: usize,
    pub decks: usize,
    pub elapsed: Duration,
    pub load: Outcome,
    pub probes: Probes,
    pub baseline: Outcome,
    pub baseline_probes: Probes,
    pub panes: &'a [Pane],
    pub seen: &'a Seen,
    pub audit: AuditCounts,
    pub audit_intact: bool,
    pub audit_report: Value,
    pub rss_start: Option<u64>,
    pub rss_end: Option<u64>,
    pub rss_series: Vec<(f64, u64)>,
    pub bridge_alive: bool,
    /// CPU seconds used during the load by the bridge and by this tool.
    pub cpu: Option<(f64, f64)>,
    /// The bridge's group-commit counters when the load started and ended.
    pub counters: Option<(BridgeCounters, BridgeCounters)>,
    /// The machine's 1-minute load average when the load started and ended.
    pub loadavg: (Option<f64>, Option<f64>),
    pub started: std::time::Instant,
    pub stopped: Stopped,
    pub dropped: Vec<String>,
    pub log: Option<(usize, usize, Vec<String>)>,
    /// `--slow-clients`: how many, and what they and the fresh connections saw.
    pub slow: Option<(usize, crate::slow::Stats)>,
}

/// The bridge's own counters from `/v1/status`: group commit (`store`) and connections.
#[derive(Clone, Copy, Debug)]
pub struct BridgeCounters {
    pub commits: u64,
    pub flushes: u64,
    pub flush_ms: f64,
    /// TCP connections accepted since the bridge started.
    pub connections: u64,
}

pub struct Report {
    pub json: Value,
    pub text: String,
    pub ok: bool,
}

/// Latency figures of one phase (baseline or load).
struct Phase {
    read: Dist,
    write: Dist,
    all: Dist,
    ws: Dist,
    https: Dist,
    /// MCP `ping` through a session: the protocol's own share (baseline only).
    mcp: Dist,
    floor: f64,
    ratio: f64,
}

impl Phase {
    /// A tool call's p50 against an MCP `ping`'s plus a bare pane round trip's (0 when
    /// either was not measured): what the bridge adds beyond the protocol and the pane.
    fn protocol_ratio(&self) -> f64 {
        let unavoidable = self.mcp.p50 + self.ws.p50;
        if self.mcp.n > 0 && self.ws.n > 0 && unavoidable > 0.0 {
            self.all.p50 / unavoidable
        } else {
            0.0
        }
    }
}

impl Phase {
    fn of(o: &Outcome, p: &Probes) -> Phase {
        let mut all = o.read_us.clone();
        all.extend(&o.write_us);
        let (ws, https) = (Dist::of(&p.ws_us), Dist::of(&p.https_us));
        let floor = ws.p50 + https.p50;
        let all = Dist::of(&all);
        Phase {
            read: Dist::of(&o.read_us),
            write: Dist::of(&o.write_us),
            ratio: if floor > 0.0 { all.p50 / floor } else { 0.0 },
            all,
            ws,
            https,
            mcp: Dist::of(&p.mcp_us),
            floor,
        }
    }

    fn json(&self) -> Value {
        json!({
            "excel_read_range": self.read.json(),
            "ppt_add_table": self.write.json(),
            "all_tool_calls": self.all.json(),
            "floor": {
                "ws_round_trip": self.ws.json(),
                "https_round_trip": self.https.json(),
                "p50_ms": r3(self.floor),
            },
            "mcp_ping": self.mcp.json(),
            "mcp_ping_ratio_p50": r3(if self.floor > 0.0 { self.mcp.p50 / self.floor } else { 0.0 }),
            "overhead_ratio_p50": r3(self.ratio),
            "overhead_ratio_p50_read": r3(if self.floor > 0.0 { self.read.p50 / self.floor } else { 0.0 }),
            "overhead_ratio_p50_write": r3(if self.floor > 0.0 { self.write.p50 / self.floor } else { 0.0 }),
            "protocol_ratio_p50": r3(self.protocol_ratio()),
            "protocol_ratio_goal": PROTOCOL_GOAL,
        })
    }
}

impl Report {
    pub fn build(i: Inputs<'_>) -> Report {
        let mut failures: Vec<String> = Vec::new();
        let secs = i.elapsed.as_secs_f64();
        let load = Phase::of(&i.load, &i.probes);
        let base = Phase::of(&i.baseline, &i.baseline_probes);
        let reads_ok_load: u64 = i.load.reads_ok.iter().sum();
        let writes_ok_load = i.load.writes_ok.len() as u64;
        let calls_ok = reads_ok_load + writes_ok_load;
        let calls_per_s = calls_ok as f64 / secs.max(1e-9);

        // Every request accounted for: reads per workbook by count, writes one by one by
        // their tag, and the bridge's request ids across every pane.
        let mut reads_ok = vec![0u64; i.workbooks];
        let mut reads_failed = vec![0u64; i.workbooks];
        for o in [&i.load, &i.baseline] {
            for (k, n) in o.reads_ok.iter().enumerate() {
                reads_ok[k] += n;
            }
            for (k, n) in o.reads_failed.iter().enumerate() {
                reads_failed[k] += n;
            }
        }
        let (mut reads_seen, mut read_lost, mut read_dup) = (0u64, 0u64, 0u64);
        let mut deck_writes_seen = 0u64;
        let (mut properties, mut other_requests, mut notices, mut approvals) = (0u64, 0, 0, 0);
        for p in i.panes {
            let s = &p.stats;
            properties += s.get_properties.load(Ordering::Relaxed);
            other_requests += s.other_requests.load(Ordering::Relaxed);
            notices += s.flow_notices.load(Ordering::Relaxed);
            approvals += s.approval_requests.load(Ordering::Relaxed);
            match p.app {
                App::Excel => {
                    let seen = s.read_range.load(Ordering::Relaxed);
                    reads_seen += seen;
                    let (ok, failed) = (reads_ok[p.index], reads_failed[p.index]);
                    read_lost += ok.saturating_sub(seen);
                    read_dup += seen.saturating_sub(ok + failed);
                }
                App::Powerpoint => deck_writes_seen += s.add_table.load(Ordering::Relaxed),
            }
        }
        let writes_ok: Vec<_> = i
            .baseline
            .writes_ok
            .iter()
            .chain(&i.load.writes_ok)
            .collect();
        let writes_failed: Vec<_> = i
            .baseline
            .writes_failed
            .iter()
            .chain(&i.load.writes_failed)
            .collect();
        let (mut write_lost, mut write_dup, mut misrouted) = (0u64, 0u64, 0u64);
        let mut known: HashSet<&str> = HashSet::new();
        for w in &writes_ok {
            known.insert(&w.tag);
            match i.seen.write(&w.tag) {
                None => write_lost += 1,
                Some(s) => {
                    write_dup += u64::from(s.count.saturating_sub(1));
                    if s.deck != w.deck {
                        misrouted += 1;
                    }
                }
            }
        }
        for (tag, _) in &writes_failed {
            known.insert(tag);
            if let Some(s) = i.seen.write(tag) {
                write_dup += u64::from(s.count.saturating_sub(1));
            }
        }
        let unknown_writes = i
            .seen
            .writes_seen()
            .iter()
            .filter(|(t, _)| !known.contains(t.as_str()))
            .count() as u64;
        let dup_ids = i.seen.duplicate_ids.load(Ordering::Relaxed);
        let odd_ids = i.seen.odd_ids.load(Ordering::Relaxed);
        let lost = read_lost + write_lost;
        let duplicated = read_dup + write_dup + unknown_writes + dup_ids;

        let (before, at, after) = write_phases(&i.load, i.seen);
        let (b_before, b_at, b_after) = write_phases(&i.baseline, i.seen);

        // The audit chain against the calls that succeeded.
        let count = |k: &str| i.audit.by_kind.get(k).copied().unwrap_or(0);
        let (write_records, read_records) = (count("write"), count("read"));
        let writes_ok_total = writes_ok.len() as u64;
        let reads_ok_total: u64 = reads_ok.iter().sum();
        let write_gap = writes_ok_total.saturating_sub(write_records);
        let read_gap = reads_ok_total.saturating_sub(read_records);
        let mut per_deck_mismatch = Vec::new();
        let mut ok_by_deck: BTreeMap<String, u64> = BTreeMap::new();
        for w in &writes_ok {
            *ok_by_deck.entry(data::deck_name(w.deck)).or_default() += 1;
        }
        for j in 0..i.decks {
            let name = data::deck_name(j);
            let ok = ok_by_deck.get(&name).copied().unwrap_or(0);
            let recorded = i.audit.writes_by_document.get(&name).copied().unwrap_or(0);
            if recorded < ok {
                per_deck_mismatch.push(format!(
                    "{name}: {ok} successful writes, {recorded} write records"
                ));
            }
        }
        let mut per_book_mismatch = Vec::new();
        for (k, ok) in reads_ok.iter().enumerate() {
            let name = data::workbook_name(k);
            let recorded = i.audit.reads_by_document.get(&name).copied().unwrap_or(0);
            if recorded < *ok {
                per_book_mismatch.push(format!(
                    "{name}: {ok} successful reads, {recorded} read records"
                ));
            }
        }

        // Memory: start, a quarter in (after warm-up), end, peak.
        let quarter = i
            .rss_series
            .iter()
            .find(|(t, _)| *t >= secs / 4.0)
            .map(|(_, k)| *k)
            .or(i.rss_start);
        let peak = i.rss_series.iter().map(|(_, k)| *k).max();
        let growth = match (quarter, i.rss_end) {
            (Some(q), Some(e)) if q > 0 => Some((e as f64 - q as f64) / q as f64),
            _ => None,
        };
        let memory_flat = growth.is_some_and(|g| g < MEMORY_GROWTH_LIMIT);

        let errors = i.load.errors + i.baseline.errors;
        let flows_missed = i.load.flows_missed + i.baseline.flows_missed;
        let flows_found = i.load.flows_found + i.baseline.flows_found;
        if errors > 0 {
            failures.push(format!("{errors} tool call(s) failed"));
        }
        if i.baseline_probes.mcp_errors > 0 {
            failures.push(format!(
                "{} MCP ping(s) failed",
                i.baseline_probes.mcp_errors
            ));
        }
        if lost > 0 {
            failures.push(format!(
                "{lost} request(s) lost (a successful call the pane never saw)"
            ));
        }
        if duplicated > 0 {
            failures.push(format!("{duplicated} request(s) duplicated"));
        }
        if misrouted > 0 {
            failures.push(format!("{misrouted} write(s) reached the wrong deck"));
        }
        if odd_ids > 0 {
            failures.push(format!("{odd_ids} bridge request(s) without an integer id"));
        }
        if other_requests > 0 {
            failures.push(format!("{other_requests} unexpected request(s) to panes"));
        }
        if approvals > 0 {
            failures.push(format!(
                "{approvals} approval request(s) under a notify policy"
            ));
        }
        if flows_missed > 0 {
            failures.push(format!(
                "{flows_missed} write(s) without the confirmed flow from the workbook read"
            ));
        }
        if !i.audit_intact {
            failures.push("audit verify: the chain is BROKEN".to_string());
        }
        if write_gap > 0 || !per_deck_mismatch.is_empty() {
            failures.push(format!(
                "audit gap: {writes_ok_total} successful writes, {write_records} write records"
            ));
        }
        if read_gap > 0 || !per_book_mismatch.is_empty() {
            failures.push(format!(
                "audit gap: {reads_ok_total} successful reads, {read_records} read records"
            ));
        }
        if !i.bridge_alive {
            failures.push("the bridge died during the run".to_string());
        }
        if !i.dropped.is_empty() {
            failures.push(format!(
                "{} pane connection(s) dropped during the run",
                i.dropped.len()
            ));
        }
        match &i.stopped {
            Stopped::Clean(status) if !status.success() => {
                failures.push(format!("the bridge exited with {status} after SIGTERM"))
            }
            Stopped::Killed => {
                failures.push("the bridge did not stop within 20 s of SIGTERM".to_string())
            }
            _ => {}
        }
        // The bridge's deadlines are 10 s: a run three times as long that saw none of the
        // slow clients closed means they are kept forever.
        if let Some((n, s)) = &i.slow
            && *n > 0
            && secs >= 30.0
            && s.closed() == 0
        {
            failures.push(format!("the bridge closed none of the {n} slow clients"));
        }
        let ok = failures.is_empty();

        // Throughput over time, in tenths of the run: a falling rate means something in
        // the bridge gets slower as it accumulates state.
        let mut tenths = [0u64; 10];
        for t in &i.load.ended {
            let at = t.saturating_duration_since(i.started).as_secs_f64() / secs.max(1e-9);
            tenths[((at * 10.0) as usize).min(9)] += 1;
        }
        let timeline: Vec<f64> = tenths
            .iter()
            .map(|n| (*n as f64 / (secs / 10.0).max(1e-9)).round())
            .collect();
        // Commits and flushes during the load: how many calls shared each flush.
        let durability = i.counters.map(|(a, b)| {
            let commits = b.commits.saturating_sub(a.commits);
            let flushes = b.flushes.saturating_sub(a.flushes);
            let per_flush = if flushes > 0 {
                commits as f64 / flushes as f64
            } else {
                0.0
            };
            let mean_ms = if flushes > 0 {
                (b.flush_ms - a.flush_ms) / flushes as f64
            } else {
                0.0
            };
            (commits, flushes, per_flush, mean_ms)
        });
        // Every pane, agent and probe connected before the load: any connection accepted
        // during it is a client that dropped one and opened another.
        let reconnects = i
            .counters
            .map(|(a, b)| b.connections.saturating_sub(a.connections));
        let durability_json = durability.map(|(c, f, per, mean)| {
            json!({
                "commits": c, "flushes": f, "commits_per_flush": r3(per), "flush_mean_ms": r3(mean),
            })
        });
        let cpu_json = i.cpu.map(|(b, t)| json!({
            "bridge_s": r3(b), "bridge_cores": r3(b / secs.max(1e-9)),
            "bridge_us_per_call": if calls_ok > 0 { (b * 1e6 / calls_ok as f64).round() } else { 0.0 },
            "load_tool_s": r3(t), "load_tool_cores": r3(t / secs.max(1e-9)),
        }));

        let json = json!({
            "ok": ok,
            "failures": failures,
            "config": {
                "panes": i.args.panes, "excel_panes": i.workbooks, "powerpoint_panes": i.decks,
                "agents": i.args.agents, "duration_s": i.args.duration, "max_flows": i.args.max_flows,
                "baseline_flows": i.args.baseline, "probe_ms": i.args.probe_ms,
                "bridge": {"bin": i.bridge.bin.display().to_string(), "pid": i.bridge.pid, "port": i.bridge.port, "attached": !i.bridge.started_here()},
                "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
            },
            "elapsed_s": r3(secs),
            "throughput": {"tool_calls_per_s": r3(calls_per_s), "flows_per_s": r3(writes_ok_load as f64 / secs.max(1e-9)),
                           "tool_calls_per_s_by_tenth": timeline},
            "cpu": cpu_json,
            "durability": durability_json,
            "connections_opened_during_load": reconnects,
            "loadavg": {"start": i.loadavg.0, "end": i.loadavg.1},
            "load": load.json(),
            "baseline": base.json(),
            "write_phases": {"before_pane": before.json(), "at_pane": at.json(), "after_pane": after.json()},
            "write_phases_baseline": {"before_pane": b_before.json(), "at_pane": b_at.json(), "after_pane": b_after.json()},
            "counts": {
                "reads_ok": reads_ok_total, "writes_ok": writes_ok_total, "errors": errors,
                "first_errors": i.load.first_errors.iter().chain(&i.baseline.first_errors).collect::<Vec<_>>(),
            },
            "requests": {
                "excel_read_range_seen_by_panes": reads_seen,
                "powerpoint_add_table_seen_by_panes": deck_writes_seen,
                "get_properties": properties,
                "bridge_request_ids_seen": i.seen.ids_seen(),
                "lost": lost, "duplicated": duplicated, "misrouted": misrouted,
                "duplicate_request_ids": dup_ids, "unexpected": other_requests,
                "flow_notices": notices, "approval_requests": approvals,
                "ws_probe_errors": i.probes.ws_errors, "https_probe_errors": i.probes.https_errors,
            },
            "flows": {"confirmed_from_the_source": flows_found, "missed": flows_missed,
                      "decisions": i.load.decisions},
            "audit": {
                "intact": i.audit_intact, "verify": i.audit_report,
                "records_in_run": i.audit.by_kind, "write_records": write_records, "read_records": read_records,
                "write_gap": write_gap, "read_gap": read_gap,
                "per_document_mismatches": per_deck_mismatch.iter().chain(&per_book_mismatch).collect::<Vec<_>>(),
            },
            "memory": {
                "rss_start_mib": i.rss_start.map(mib), "rss_quarter_mib": quarter.map(mib),
                "rss_end_mib": i.rss_end.map(mib), "rss_peak_mib": peak.map(mib),
                "growth_after_warmup": growth.map(r3), "flat": memory_flat,
                "series": i.rss_series.iter().map(|(t, k)| json!([r3(*t), mib(*k)])).collect::<Vec<_>>(),
            },
            "bridge": {
                "stopped": format!("{:?}", i.stopped),
                "log_warnings": i.log.as_ref().map(|l| l.0), "log_errors": i.log.as_ref().map(|l| l.1),
                "first_log_lines": i.log.as_ref().map(|l| l.2.clone()),
                "panes_dropped": i.dropped,
            },
            "slow_clients": i.slow.as_ref().map(|(n, s)| s.json(*n)),
            "goals": {
                "overhead_ratio_below": OVERHEAD_GOAL, "overhead_met": load.ratio > 0.0 && load.ratio < OVERHEAD_GOAL,
                "memory_flat": memory_flat, "nothing_lost_or_duplicated": lost == 0 && duplicated == 0,
                "no_audit_gap": i.audit_intact && write_gap == 0 && read_gap == 0,
            },
        });

        let mut t = String::new();
        let _ = writeln!(
            t,
            "\noffice-bridge load: {} panes ({} Excel, {} PowerPoint), {} agents, {:.1} s, {} CPU(s)",
            i.args.panes,
            i.workbooks,
            i.decks,
            i.args.agents,
            secs,
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(0)
        );
        let _ = writeln!(
            t,
            "throughput: {calls_per_s:.1} tool calls/s ({:.1} read-then-write flows/s), {calls_ok} calls ok, {} errors",
            writes_ok_load as f64 / secs.max(1e-9),
            i.load.errors
        );
        let _ = writeln!(
            t,
            "tool calls/s by tenth of the run: {}",
            timeline
                .iter()
                .map(|x| format!("{x:.0}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        if let Some((b, tool)) = i.cpu {
            let _ = writeln!(
                t,
                "CPU during the load: bridge {b:.1} s ({:.2} cores, {:.0} us per tool call), this tool {tool:.1} s ({:.2} cores); machine load average {} -> {}",
                b / secs.max(1e-9),
                if calls_ok > 0 {
                    b * 1e6 / calls_ok as f64
                } else {
                    0.0
                },
                tool / secs.max(1e-9),
                opt2(i.loadavg.0),
                opt2(i.loadavg.1),
            );
        }
        let row = |t: &mut String, name: &str, d: &Dist| {
            let _ = writeln!(
                t,
                "  {name:<38} {:>7} {:>9.2} {:>9.2} {:>9.2}",
                d.n, d.p50, d.p99, d.max
            );
        };
        for (title, ph) in [
            ("under load", &load),
            ("baseline (one caller, nothing else running)", &base),
        ] {
            if ph.all.n == 0 && ph.ws.n == 0 {
                continue;
            }
            let _ = writeln!(t, "\n{title}:");
            let _ = writeln!(
                t,
                "  {:<38} {:>7} {:>9} {:>9} {:>9}",
                "", "calls", "p50 ms", "p99 ms", "max ms"
            );
            row(&mut t, "excel_read_range", &ph.read);
            row(&mut t, "ppt_add_table", &ph.write);
            row(&mut t, "all tool calls", &ph.all);
            row(&mut t, "floor: bare WebSocket round trip", &ph.ws);
            row(&mut t, "floor: bare HTTPS round trip", &ph.https);
            if ph.mcp.n > 0 {
                row(&mut t, "MCP ping (no tool, pane or store)", &ph.mcp);
            }
            let _ = writeln!(
                t,
                "  overhead: tool call p50 / (HTTPS + WebSocket floor p50 = {:.2} ms) = {:.1}x (read {:.1}x, write {:.1}x; goal < {OVERHEAD_GOAL}x: {})",
                ph.floor,
                ph.ratio,
                if ph.floor > 0.0 {
                    ph.read.p50 / ph.floor
                } else {
                    0.0
                },
                if ph.floor > 0.0 {
                    ph.write.p50 / ph.floor
                } else {
                    0.0
                },
                if ph.ratio > 0.0 && ph.ratio < OVERHEAD_GOAL {
                    "met"
                } else {
                    "not met"
                }
            );
            if ph.mcp.n > 0 && ph.floor > 0.0 {
                let _ = writeln!(
                    t,
                    "  of which the MCP protocol alone (ping p50 / floor p50): {:.1}x",
                    ph.mcp.p50 / ph.floor
                );
                let ratio = ph.protocol_ratio();
                let _ = writeln!(
                    t,
                    "  against the protocol: tool call p50 / (MCP ping p50 + WebSocket round trip p50 = {:.2} ms) = {ratio:.2}x (goal <= {PROTOCOL_GOAL}x: {})",
                    ph.mcp.p50 + ph.ws.p50,
                    if ratio > 0.0 && ratio <= PROTOCOL_GOAL {
                        "met"
                    } else {
                        "not met"
                    }
                );
            }
        }
        let _ = writeln!(
            t,
            "\nppt_add_table, p50 (p99) ms: before the pane (MCP in, detection, durable flow + decision), at the pane, after the pane (durable write record, MCP out)"
        );
        for (title, (b, a, f)) in [
            ("under load", (&before, &at, &after)),
            ("baseline", (&b_before, &b_at, &b_after)),
        ] {
            if b.n > 0 {
                let _ = writeln!(
                    t,
                    "  {title:<10} {:.2} ({:.2}) | {:.2} ({:.2}) | {:.2} ({:.2})",
                    b.p50, b.p99, a.p50, a.p99, f.p50, f.p99
                );
            }
        }
        let _ = writeln!(
            t,
            "\nrequests: panes saw {reads_seen} excel.readRange for {reads_ok_total} successful reads, {deck_writes_seen} powerpoint.addTable for {writes_ok_total} successful writes; lost {lost}, duplicated {duplicated}, misrouted {misrouted}, repeated bridge ids {dup_ids}"
        );
        let _ = writeln!(
            t,
            "flows: {flows_found} writes reported the confirmed flow from the workbook read, {flows_missed} did not; decisions {:?}; {notices} flow notices to panes, {approvals} approval requests",
            i.load.decisions
        );
        let _ = writeln!(
            t,
            "audit: verify {} ({} records in all); this run: {write_records} write records for {writes_ok_total} successful writes, {read_records} read records for {reads_ok_total} successful reads; by kind {:?}",
            if i.audit_intact { "intact" } else { "BROKEN" },
            i.audit_report["records"],
            i.audit.by_kind
        );
        if let Some((c, f, per, mean)) = durability {
            let _ = writeln!(
                t,
                "durability: {c} commits made durable by {f} flushes of the write-ahead log during the load ({per:.1} commits per flush, {mean:.2} ms per flush)"
            );
        }
        if let Some(n) = reconnects {
            let _ = writeln!(
                t,
                "connections: {n} opened during the load (every client connected before it; an agent's HTTP pool may add one or two, a client that drops its connection adds one per call)"
            );
        }
        let _ = writeln!(
            t,
            "memory (VmRSS): start {}, a quarter in {}, end {}, peak {} MiB; growth after warm-up {} ({})",
            opt_mib(i.rss_start),
            opt_mib(quarter),
            opt_mib(i.rss_end),
            opt_mib(peak),
            growth
                .map(|g| format!("{:+.1}%", g * 100.0))
                .unwrap_or_else(|| "?".into()),
            if memory_flat { "flat" } else { "NOT flat" }
        );
        if let Some((n, s)) = &i.slow {
            t.push_str(&s.text(*n));
        }
        if let Some((w, e, first)) = &i.log {
            let _ = writeln!(
                t,
                "bridge log: {w} warning(s), {e} error(s); stopped: {:?}",
                i.stopped
            );
            for l in first {
                let _ = writeln!(t, "  {l}");
            }
        }
        for e in i
            .load
            .first_errors
            .iter()
            .chain(&i.baseline.first_errors)
            .take(10)
        {
            let _ = writeln!(t, "  error: {e}");
        }
        for d in i.dropped.iter().take(5) {
            let _ = writeln!(t, "  dropped: {d}");
        }
        for m in per_deck_mismatch.iter().chain(&per_book_mismatch).take(10) {
            let _ = writeln!(t, "  audit: {m}");
        }
        if ok {
            let _ = writeln!(
                t,
                "\nresult: PASS (nothing lost, repeated or failed; audit chain complete)"
            );
        } else {
            let _ = writeln!(t, "\nresult: FAIL");
            for f in &failures {
                let _ = writeln!(t, "  - {f}");
            }
        }
        Report { json, text: t, ok }
    }
}

/// Where a write's time goes, from the deck's own clock (same process): before the pane
/// (MCP in, detection, the durable flow + decision, routing), at the pane, and after it
/// (the durable `write` record, MCP out).
fn write_phases(o: &Outcome, seen: &Seen) -> (Dist, Dist, Dist) {
    let (mut before, mut at, mut after) = (Vec::new(), Vec::new(), Vec::new());
    for w in &o.writes_ok {
        if let Some(s) = seen.write(&w.tag) {
            before.push(micro(s.arrived.saturating_duration_since(w.started)));
            at.push(micro(s.answered.saturating_duration_since(s.arrived)));
            after.push(micro(w.ended.saturating_duration_since(s.answered)));
        }
    }
    (Dist::of(&before), Dist::of(&at), Dist::of(&after))
}

fn micro(d: Duration) -> u32 {
    d.as_micros().min(u32::MAX as u128) as u32
}

fn opt2(x: Option<f64>) -> String {
    x.map(|x| format!("{x:.2}")).unwrap_or_else(|| "?".into())
}

fn opt_mib(k: Option<u64>) -> String {
    k.map(|k| format!("{:.1}", mib(k)))
        .unwrap_or_else(|| "?".into())
}
