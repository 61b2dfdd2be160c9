//! `office-bridge notify [--print]`: follows the bridge's event stream (`GET /v1/events`,
//! with the desktop token) and shows one line per transfer and per approval, as native
//! desktop notifications (D-Bus on Linux and the BSDs, Notification Center on macOS, toasts
//! on Windows, under office-bridge's own registered name: `cli/toast_id.rs`) or, with
//! `--print`, on stdout. An approval's notice carries the two `office-bridge approvals
//! allow|deny <id>` commands that answer it, on lines of their own. Action buttons are not offered: they depend on the notification service and could
//! not be tested here.
//!
//! What is shown (see [`Interpreter::interpret`]): confirmed flows the policy decided to
//! show (`notify`) or blocked, approvals asked and answered, and an administrator's policy
//! file that could not be used. Left out as noise: reads, flows the policy simply allowed,
//! panes coming and going, flows held for approval (the approval line that follows at
//! once says the same, with the deadline), and possible flows unless `--possible` asks for
//! them. A possible flow is a weak match (a few common values) that never blocks; in the
//! detector's evaluation about a third of unrelated writes in the same domain carry one,
//! too many for something that pops up on screen. The panes, the monitor and the event
//! stream still show every one. Transfers between the same two documents in a burst are
//! coalesced into one line ([`Coalescer`]); approvals are never coalesced or delayed.
//!
//! The formatting and the coalescing are pure (events and timestamps in, lines out) so
//! they are tested exactly; the network side only feeds them.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde::Deserialize;
use tokio::sync::mpsc;

use crate::cli::approvals::answer_command;
use crate::client::sse::{SseReader, idle_limited};
use crate::client::{choose_port, error_chain, https_client_builder, read_run_file};
use crate::datadir::DataDir;
use crate::token::Token;

/// Flows of one pair arriving with less than this between them form one burst.
pub const COALESCE_WINDOW_MS: u64 = 2_000;
/// A burst that keeps going is still shown this long after its first flow.
pub const COALESCE_MAX_DELAY_MS: u64 = 10_000;
/// Reconnect backoff: from 1 s, doubling, up to 30 s.
const BACKOFF_START: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// The bridge sends a keep-alive comment every 15 s; silence for this long means the
/// connection is dead even if no error surfaced.
const IDLE_LIMIT: Duration = Duration::from_secs(45);
/// Approval lines remembered for their resolution (approvals expire within minutes).
const REMEMBERED_APPROVALS: usize = 1024;

// ---------------------------------------------------------------------------------------
// Events as the stream carries them (only the fields shown; unknown ones are ignored).

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct DocData {
    name: String,
    id: String,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct FlowData {
    source: DocData,
    target: DocData,
    matched: u64,
    strength: String,
    decision: String,
    reason: String,
    /// Why, as data (absent from bridges before it was sent).
    why: Option<tracker::DecisionWhy>,
    line: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct FlowEvent {
    flow: FlowData,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ApprovalRequested {
    approval_id: String,
    expires_at: i64,
    line: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ApprovalResolved {
    approval_id: String,
    state: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PolicyChanged {
    error: Option<String>,
}

// ---------------------------------------------------------------------------------------
// Formatting: pure functions, exact strings.

/// A transfer worth showing, before coalescing.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowNotice {
    pub source_id: String,
    pub source_name: String,
    pub target_id: String,
    pub target_name: String,
    pub matched: u64,
    pub possible: bool,
    /// allow, notify, ask or block.
    pub decision: String,
    /// Why, in the words after the transfer is named (`DecisionWhy::because`).
    pub because: String,
    /// The whole line for this flow alone.
    pub line: String,
}

/// What one event becomes.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// A transfer: coalesced with others between the same two documents.
    Flow(FlowNotice),
    /// Shown at once, never coalesced: approvals, the administrator's policy errors.
    Now(String),
}

/// The words after a flow's line for its decision; `because` is why, without the
/// transfer restated (the line says what moved where).
pub fn decision_suffix(decision: &str, because: &str) -> String {
    match decision {
        "ask" => " — waiting for your approval".to_string(),
        "block" => format!(" — blocked: {because}"),
        _ => String::new(),
    }
}

/// The line for one flow: the bridge's own line, "possibly " first for a weak match, then
/// the decision in words.
pub fn flow_line(line: &str, possible: bool, decision: &str, because: &str) -> String {
    format!(
        "{}{line}{}",
        if possible { "possibly " } else { "" },
        decision_suffix(decision, because)
    )
}

/// How an approval's line begins; the desktop shows those lines as urgent.
pub const APPROVAL_NEEDED: &str = "Approval needed: ";

/// "Approval needed: … (answer within N s in the pane, on the monitor, or with one of:)",
/// then the two commands that answer it, each on its own line. `prefix` is how to run
/// `office-bridge approvals` against this bridge (`cli::approvals::approvals_command`).
pub fn approval_requested_line(
    line: &str,
    approval_id: &str,
    expires_at: i64,
    now_unix_ms: i64,
    prefix: &str,
) -> String {
    let seconds = ((expires_at - now_unix_ms).max(0) + 500) / 1000;
    format!(
        "{APPROVAL_NEEDED}{line} (answer within {seconds} s in the pane, on the monitor, or with one of:)\n  {}\n  {}",
        answer_command(prefix, true, approval_id),
        answer_command(prefix, false, approval_id)
    )
}

/// "Allowed: …", "Denied: …" or "Expired (denied): …", naming what the request named.
pub fn approval_resolved_line(state: &str, line: Option<&str>, approval_id: &str) -> String {
    let what = match line {
        Some(l) => l.to_string(),
        None => format!("approval {approval_id}"),
    };
    match state {
        "allowed" => format!("Allowed: {what}"),
        "denied" => format!("Denied: {what}"),
        "expired" => format!("Expired (denied): {what}"),
        other => format!("{other}: {what}"),
    }
}

pub fn policy_error_line(error: &str) -> String {
    format!("Administrator policy file not used: {error}")
}

/// "3 transfers: 36 values from Q3.xlsx moved into Board.pptx", with the group's
/// decision in words (every flow of a group has the same decision).
pub fn burst_line(flows: &[FlowNotice]) -> String {
    match flows {
        [] => String::new(),
        [one] => one.line.clone(),
        [first, ..] => {
            let values: u64 = flows.iter().map(|f| f.matched).sum();
            let possibly = if flows.iter().all(|f| f.possible) {
                "possibly "
            } else {
                ""
            };
            format!(
                "{} transfers: {possibly}{values} value{} from {} {} {}{}",
                flows.len(),
                if values == 1 { "" } else { "s" },
                first.source_name,
                if first.decision == "block" {
                    "kept out of"
                } else {
                    "moved into"
                },
                first.target_name,
                decision_suffix(&first.decision, &first.because)
            )
        }
    }
}

/// Turns stream events into notices, remembering each approval's line until it is
/// resolved. Events not shown give `None`.
pub struct Interpreter {
    approvals: HashMap<String, String>,
    order: VecDeque<String>,
    /// Show possible (weak) flows too (`--possible`).
    show_possible: bool,
    /// How the answering commands start: `office-bridge approvals`, with `--data-dir` and
    /// `--port` when this is not the default bridge.
    command_prefix: String,
}

impl Default for Interpreter {
    fn default() -> Self {
        Interpreter::new(false, "office-bridge approvals".to_string())
    }
}

impl Interpreter {
    /// `show_possible`: whether possible flows get a line (confirmed ones always do).
    /// `command_prefix`: see [`approval_requested_line`].
    pub fn new(show_possible: bool, command_prefix: String) -> Self {
        Interpreter {
            approvals: HashMap::new(),
            order: VecDeque::new(),
            show_possible,
            command_prefix,
        }
    }

    /// `event` is the SSE event name, `data` its JSON; `now_unix_ms` is the wall clock
    /// (for the seconds left on an approval).
    pub fn interpret(&mut self, event: &str, data: &str, now_unix_ms: i64) -> Option<Notice> {
        match event {
            "flow" => {
                let f = serde_json::from_str::<FlowEvent>(data).ok()?.flow;
                // Allowed flows are routine; held ones are announced by their approval.
                if !matches!(f.decision.as_str(), "notify" | "block") {
                    return None;
                }
                let possible = f.strength == "possible";
                if possible && !self.show_possible {
                    return None;
                }
                // Why comes as data; an older bridge's event has only the sentence.
                let because = match &f.why {
                    Some(why) => why.because(),
                    None => f.reason.clone(),
                };
                Some(Notice::Flow(FlowNotice {
                    line: flow_line(&f.line, possible, &f.decision, &because),
                    source_id: f.source.id,
                    source_name: f.source.name,
                    target_id: f.target.id,
                    target_name: f.target.name,
                    matched: f.matched,
                    possible,
                    decision: f.decision,
                    because,
                }))
            }
            "approval_requested" => {
                let a = serde_json::from_str::<ApprovalRequested>(data).ok()?;
                let text = approval_requested_line(
                    &a.line,
                    &a.approval_id,
                    a.expires_at,
                    now_unix_ms,
                    &self.command_prefix,
                );
                self.remember(a.approval_id, a.line);
                Some(Notice::Now(text))
            }
            "approval_resolved" => {
                let r = serde_json::from_str::<ApprovalResolved>(data).ok()?;
                let line = self.approvals.remove(&r.approval_id);
                self.order.retain(|id| *id != r.approval_id);
                Some(Notice::Now(approval_resolved_line(
                    &r.state,
                    line.as_deref(),
                    &r.approval_id,
                )))
            }
            "policy_changed" => {
                let p = serde_json::from_str::<PolicyChanged>(data).ok()?;
                p.error.map(|e| Notice::Now(policy_error_line(&e)))
            }
            // read, addin_connected, addin_disconnected and anything newer: not shown.
            _ => None,
        }
    }

    fn remember(&mut self, id: String, line: String) {
        if self.approvals.insert(id.clone(), line).is_none() {
            self.order.push_back(id);
        }
        while self.order.len() > REMEMBERED_APPROVALS {
            if let Some(old) = self.order.pop_front() {
                self.approvals.remove(&old);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Coalescing: pure, driven by the caller's clock.

struct Burst {
    key: (String, String, String),
    first_ms: u64,
    last_ms: u64,
    flows: Vec<FlowNotice>,
}

/// Collects flows between the same source and target document (and with the same
/// decision) into bursts. A burst is shown once [`COALESCE_WINDOW_MS`] pass without
/// another flow of its pair, or [`COALESCE_MAX_DELAY_MS`] after its first flow, whichever
/// comes first: a lone flow appears after the window, alone and in full; several become
/// "N transfers: …". An immediate notice (an approval) first shows every waiting burst,
/// so lines stay in the order things happened, and is never held itself.
pub struct Coalescer {
    window_ms: u64,
    max_delay_ms: u64,
    bursts: Vec<Burst>,
}

impl Default for Coalescer {
    fn default() -> Self {
        Self::new(COALESCE_WINDOW_MS, COALESCE_MAX_DELAY_MS)
    }
}

impl Coalescer {
    pub fn new(window_ms: u64, max_delay_ms: u64) -> Self {
        Coalescer {
            window_ms,
            max_delay_ms,
            bursts: Vec::new(),
        }
    }

    /// Takes a notice at `now_ms`; returns the lines to show now.
    pub fn push(&mut self, notice: Notice, now_ms: u64) -> Vec<String> {
        let mut out = self.due(now_ms);
        match notice {
            Notice::Now(line) => {
                out.extend(self.flush());
                out.push(line);
            }
            Notice::Flow(flow) => {
                let key = (
                    flow.source_id.clone(),
                    flow.target_id.clone(),
                    flow.decision.clone(),
                );
                match self.bursts.iter_mut().find(|b| b.key == key) {
                    Some(burst) => {
                        burst.last_ms = now_ms;
                        burst.flows.push(flow);
                    }
                    None => self.bursts.push(Burst {
                        key,
                        first_ms: now_ms,
                        last_ms: now_ms,
                        flows: vec![flow],
                    }),
                }
            }
        }
        out
    }

    fn deadline(&self, burst: &Burst) -> u64 {
        (burst.last_ms + self.window_ms).min(burst.first_ms + self.max_delay_ms)
    }

    /// When the next burst is due, if any is waiting.
    pub fn next_due(&self) -> Option<u64> {
        self.bursts.iter().map(|b| self.deadline(b)).min()
    }

    /// The bursts due at `now_ms`, in the order they began.
    pub fn due(&mut self, now_ms: u64) -> Vec<String> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.bursts.len() {
            if self.deadline(&self.bursts[i]) <= now_ms {
                out.push(burst_line(&self.bursts.remove(i).flows));
            } else {
                i += 1;
            }
        }
        out
    }

    /// Every waiting burst, now (before an approval, and on exit).
    pub fn flush(&mut self) -> Vec<String> {
        self.bursts
            .drain(..)
            .map(|b| burst_line(&b.flows))
            .collect()
    }
}

// ---------------------------------------------------------------------------------------
// Where lines go.

/// Desktop notifications on a thread of their own (the D-Bus client blocks), or stdout.
enum Sink {
    Print,
    Desktop(std::sync::mpsc::Sender<String>),
}

impl Sink {
    fn new(print: bool) -> Sink {
        if print {
            return Sink::Print;
        }
        if let Err(e) = desktop::probe() {
            eprintln!(
                "office-bridge notify: no desktop notifications here ({e}); printing them instead"
            );
            return Sink::Print;
        }
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        std::thread::spawn(move || {
            let mut working = true;
            for line in rx {
                if working && let Err(e) = desktop::show(&line) {
                    eprintln!(
                        "office-bridge notify: desktop notifications failed ({e}); printing them instead"
                    );
                    working = false;
                }
                if !working {
                    print_line(&line);
                }
            }
        });
        Sink::Desktop(tx)
    }

    /// Shows a line; `false` once stdout is gone (the reader of `--print` went away).
    fn show(&self, line: String) -> bool {
        match self {
            Sink::Print => print_line(&line),
            Sink::Desktop(tx) => match tx.send(line) {
                Ok(()) => true,
                Err(e) => print_line(&e.0),
            },
        }
    }
}

fn print_line(line: &str) -> bool {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").and_then(|()| out.flush()).is_ok()
}

mod desktop {
    use notify_rust::Notification;

    pub(super) fn notification(line: &str) -> Notification {
        let mut n = Notification::new();
        n.appname("office-bridge")
            .summary("office-bridge")
            .body(line);
        // Under office-bridge's own name once registered (cli/toast_id.rs); otherwise
        // notify-rust's default, PowerShell's ID, rather than no toast at all.
        #[cfg(windows)]
        if *REGISTERED.get_or_init(register_toast_id) {
            n.app_id(crate::cli::toast_id::AUMID);
        }
        // A held transfer waits for the person: critical notifications stay on screen
        // until dismissed (XDG servers; a reminder toast on Windows) instead of fading
        // while the approval runs out. macOS has no such setting in notify-rust.
        #[cfg(any(target_os = "windows", all(unix, not(target_os = "macos"))))]
        if line.starts_with(super::APPROVAL_NEEDED) {
            n.urgency(notify_rust::Urgency::Critical);
        }
        n
    }

    #[cfg(windows)]
    static REGISTERED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

    #[cfg(windows)]
    fn register_toast_id() -> bool {
        crate::cli::toast_id::register()
            .map_err(|e| {
                eprintln!(
                    "office-bridge notify: cannot register the toast name ({e}); toasts show as Windows PowerShell's"
                )
            })
            .is_ok()
    }

    /// Is there a notification service to talk to? (Only D-Bus can be asked up front.)
    #[cfg(all(unix, not(target_os = "macos")))]
    pub fn probe() -> Result<(), String> {
        notify_rust::get_server_information()
            .map(|_| ())
            .map_err(|e| format!("no notification service on the D-Bus session bus: {e}"))
    }

    #[cfg(not(all(unix, not(target_os = "macos"))))]
    pub fn probe() -> Result<(), String> {
        Ok(())
    }

    pub fn show(line: &str) -> Result<(), String> {
        notification(line)
            .show()
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

// ---------------------------------------------------------------------------------------
// Following the stream.

/// One event off the stream.
struct Incoming {
    name: String,
    data: String,
}

/// Runs until interrupted; the result is the exit code. `command_prefix`: how the approval
/// notices spell the commands that answer ([`approval_requested_line`]).
pub fn run(
    data_dir: DataDir,
    print: bool,
    possible: bool,
    port: Option<u16>,
    command_prefix: String,
) -> Result<i32> {
    if port == Some(0) {
        bail!("--port 0 is not a port a bridge listens on; give the bridge's port");
    }
    // Before the async runtime: the D-Bus probe blocks on a runtime of its own.
    let sink = Sink::new(print);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(watch(
        data_dir,
        port,
        sink,
        Interpreter::new(possible, command_prefix),
    ))
}

async fn watch(
    data_dir: DataDir,
    port: Option<u16>,
    sink: Sink,
    mut interpreter: Interpreter,
) -> Result<i32> {
    let (tx, mut rx) = mpsc::channel::<Incoming>(256);
    let follower = tokio::spawn(follow(data_dir, port, tx));
    let start = tokio::time::Instant::now();
    let elapsed = move || start.elapsed().as_millis() as u64;
    let mut coalescer = Coalescer::default();
    let stop = stop_signal();
    tokio::pin!(stop);
    loop {
        let due = coalescer
            .next_due()
            .map(|ms| start + Duration::from_millis(ms));
        tokio::select! {
            incoming = rx.recv() => {
                let Some(incoming) = incoming else { break };
                if incoming.name == "lagged" {
                    eprintln!("office-bridge notify: fell behind the bridge and missed some events ({})", incoming.data);
                    continue;
                }
                if let Some(notice) = interpreter.interpret(&incoming.name, &incoming.data, tracker::unix_millis_now())
                    && !show_all(&sink, coalescer.push(notice, elapsed()))
                {
                    break;
                }
            }
            () = sleep_until(due) => {
                if !show_all(&sink, coalescer.due(elapsed())) {
                    break;
                }
            }
            () = &mut stop => break,
        }
    }
    show_all(&sink, coalescer.flush());
    follower.abort();
    // Let the desktop thread hand over what it still holds.
    drop(sink);
    tokio::time::sleep(Duration::from_millis(100)).await;
    Ok(0)
}

fn show_all(sink: &Sink, lines: Vec<String>) -> bool {
    lines.into_iter().all(|line| sink.show(line))
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {},
                    _ = term.recv() => {},
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Why a connection attempt did not give a stream.
enum Refused {
    /// The token was refused (it is re-read on the next attempt).
    Token,
    /// Anything else, in words.
    Other(String),
}

/// Connects, reads, and reconnects with backoff, for as long as the receiver listens.
/// Says on stderr when it connects and when it loses the stream; a failure is said once,
/// not on every retry.
async fn follow(data_dir: DataDir, explicit_port: Option<u16>, tx: mpsc::Sender<Incoming>) {
    let mut backoff = BACKOFF_START;
    let mut last_problem: Option<String> = None;
    loop {
        // The run file is re-read every time: a restarted bridge may use another port.
        let port = choose_port(explicit_port, read_run_file(&data_dir.run_file()).as_ref());
        let url = format!("https://localhost:{port}/v1/events");
        match open(&data_dir, &url).await {
            Ok(response) => {
                eprintln!("office-bridge notify: connected to {url}");
                last_problem = None;
                backoff = BACKOFF_START;
                let why = read_stream(response, &tx).await;
                if tx.is_closed() {
                    return;
                }
                eprintln!("office-bridge notify: lost the event stream ({why}); reconnecting");
            }
            Err(refused) => {
                let problem = match refused {
                    Refused::Token => format!(
                        "the bridge at {url} refused the desktop token in {} (HTTP 401); is it using another data directory? The file is read again on each retry",
                        data_dir.desktop_token_file().display()
                    ),
                    Refused::Other(detail) => {
                        format!("waiting for the bridge at {url}: {detail}")
                    }
                };
                if last_problem.as_deref() != Some(problem.as_str()) {
                    eprintln!("office-bridge notify: {problem}");
                    last_problem = Some(problem);
                }
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// One attempt: the CA and the desktop token are read afresh (a first start creates the CA,
/// and `office-bridge token rotate --desktop` may have replaced the token).
async fn open(data_dir: &DataDir, url: &str) -> Result<reqwest::Response, Refused> {
    let ca_path = data_dir.certs().ca_cert();
    let ca = std::fs::read_to_string(&ca_path).map_err(|e| {
        Refused::Other(if e.kind() == std::io::ErrorKind::NotFound {
            format!(
                "no CA certificate at {} yet (has the bridge run with this data directory?)",
                ca_path.display()
            )
        } else {
            format!("cannot read {}: {e}", ca_path.display())
        })
    })?;
    let token = Token::load_or_create(&data_dir.desktop_token_file())
        .map_err(|e| Refused::Other(format!("{e:#}")))?;
    // No overall timeout: the stream is meant to last.
    let client = https_client_builder(&ca)
        .map_err(|e| Refused::Other(e.to_string()))?
        .build()
        .map_err(|e| Refused::Other(error_chain(&e)))?;
    let response = client
        .get(url)
        .bearer_auth(token.expose())
        .header(ACCEPT, "text/event-stream")
        .send()
        .await
        .map_err(|e| Refused::Other(root_cause(&e)))?;
    match response.status() {
        StatusCode::OK => {}
        StatusCode::UNAUTHORIZED => return Err(Refused::Token),
        status => return Err(Refused::Other(format!("HTTP {status}"))),
    }
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type.starts_with("text/event-stream") {
        return Err(Refused::Other(format!(
            "not an event stream ({content_type:?}); is it an office-bridge?"
        )));
    }
    Ok(response)
}

/// Forwards events until the stream ends; returns why it ended.
async fn read_stream(response: reqwest::Response, tx: &mpsc::Sender<Incoming>) -> String {
    let mut events = SseReader::new(idle_limited(response.bytes_stream(), IDLE_LIMIT));
    loop {
        let event = match events.next().await {
            None => return "the bridge closed it".to_string(),
            Some(Err(why)) => return why,
            Some(Ok(event)) => event,
        };
        let incoming = Incoming {
            name: event.event.unwrap_or_else(|| "message".to_string()),
            data: event.data,
        };
        if tx.send(incoming).await.is_err() {
            return "stopped".to_string();
        }
    }
}

/// The innermost cause ("Connection refused (os error 111)", "invalid peer certificate:
/// UnknownIssuer"): what a person can act on.
fn root_cause(e: &dyn std::error::Error) -> String {
    let mut cause = e;
    while let Some(s) = cause.source() {
        cause = s;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    #[cfg(all(unix, not(target_os = "macos")))]
    #[test]
    fn approvals_are_critical_and_other_lines_are_not() {
        use notify_rust::{Hint, Urgency};
        let critical = Hint::Urgency(Urgency::Critical);
        let approval = super::approval_requested_line(
            "9 values moved",
            "apr_1",
            120_000,
            0,
            "office-bridge approvals",
        );
        assert!(
            super::desktop::notification(&approval)
                .hints
                .contains(&critical)
        );
        for line in [
            "9 values from Q3.xlsx moved into Board.pptx",
            "Allowed: 9 values",
        ] {
            assert!(
                !super::desktop::notification(line).hints.contains(&critical),
                "{line}"
            );
        }
    }

    use super::*;
    use serde_json::json;

    const LINE: &str = "12 values from Q3.xlsx > Revenue!A1:D4 moved into Board.pptx slide 3";

    fn flow_event(decision: &str, strength: &str, reason: &str) -> String {
        let why = json!({"rule": "admin_policy", "policy": decision,
                         "sensitivity": {"level": "normal", "origin": {"by": "default"}}});
        flow_event_why(decision, strength, reason, why)
    }

    fn flow_event_why(
        decision: &str,
        strength: &str,
        reason: &str,
        why: serde_json::Value,
    ) -> String {
        json!({"type": "flow", "at": 1764460002345i64, "flow": {
            "flow_id": 42,
            "source": {"app": "excel", "name": "Q3.xlsx", "id": "doc_q3"},
            "sheet": "Revenue", "cells": "A1:D4", "cell_count": 12,
            "target": {"app": "powerpoint", "name": "Board.pptx", "id": "doc_board"},
            "location": "slide 3", "matched": 12, "confidence": 0.97,
            "strength": strength, "sensitivity": "normal", "explicit": false,
            "decision": decision, "reason": reason, "why": why, "line": LINE}})
        .to_string()
    }

    fn flow_notice(source: &str, target: &str, matched: u64, decision: &str) -> Notice {
        let because = "your administrator blocks data moving between documents";
        Notice::Flow(FlowNotice {
            source_id: format!("id_{source}"),
            source_name: source.to_string(),
            target_id: format!("id_{target}"),
            target_name: target.to_string(),
            matched,
            possible: false,
            decision: decision.to_string(),
            because: because.to_string(),
            line: flow_line(
                &format!("{matched} values from {source} > S!A1 moved into {target} slide 1"),
                false,
                decision,
                because,
            ),
        })
    }

    fn lines(i: &mut Interpreter, event: &str, data: &str) -> Option<String> {
        match i.interpret(event, data, 1764460002345)? {
            Notice::Flow(f) => Some(f.line),
            Notice::Now(l) => Some(l),
        }
    }

    #[test]
    fn flow_lines_by_decision_and_strength() {
        let mut i = Interpreter::new(true, "office-bridge approvals".to_string());
        let shown = "data from Q3.xlsx goes to Board.pptx: shown to you";
        assert_eq!(
            lines(&mut i, "flow", &flow_event("notify", "confirmed", shown)).as_deref(),
            Some(LINE)
        );
        assert_eq!(
            lines(&mut i, "flow", &flow_event("notify", "possible", shown)).as_deref(),
            Some("possibly 12 values from Q3.xlsx > Revenue!A1:D4 moved into Board.pptx slide 3")
        );
        let blocked = "12 values from Q3.xlsx > Revenue!A1:D4 would go to Board.pptx; your administrator blocks data moving between documents";
        assert_eq!(
            lines(&mut i, "flow", &flow_event("block", "confirmed", blocked)).as_deref(),
            Some(
                "12 values from Q3.xlsx > Revenue!A1:D4 moved into Board.pptx slide 3 — blocked: your administrator blocks data moving between documents"
            )
        );
        // Why is read from the data, never from the sentence: a reason with no "; " in it
        // still gives just the why, and an older bridge's event gives its whole reason.
        let off = json!({"rule": "transfers_off"});
        assert_eq!(
            lines(
                &mut i,
                "flow",
                &flow_event_why("block", "confirmed", "anything at all", off)
            )
            .as_deref(),
            Some(
                "12 values from Q3.xlsx > Revenue!A1:D4 moved into Board.pptx slide 3 — blocked: cross-app transfers are switched off by your administrator"
            )
        );
        assert_eq!(
            lines(
                &mut i,
                "flow",
                &flow_event_why("block", "confirmed", "kept out", serde_json::Value::Null)
            )
            .as_deref(),
            Some(
                "12 values from Q3.xlsx > Revenue!A1:D4 moved into Board.pptx slide 3 — blocked: kept out"
            )
        );
        // Routine and held flows are not shown (the approval line says it for held ones).
        assert_eq!(
            lines(&mut i, "flow", &flow_event("allow", "confirmed", shown)),
            None
        );
        assert_eq!(
            lines(&mut i, "flow", &flow_event("ask", "confirmed", shown)),
            None
        );
    }

    #[test]
    fn possible_flows_are_left_out_unless_asked_for() {
        let shown = "data from Q3.xlsx goes to Board.pptx: shown to you";
        let mut default = Interpreter::default();
        assert_eq!(
            lines(
                &mut default,
                "flow",
                &flow_event("notify", "possible", shown)
            ),
            None
        );
        assert_eq!(
            lines(
                &mut default,
                "flow",
                &flow_event("notify", "confirmed", shown)
            )
            .as_deref(),
            Some(LINE)
        );
        let mut asked = Interpreter::new(true, "office-bridge approvals".to_string());
        assert!(
            lines(&mut asked, "flow", &flow_event("notify", "possible", shown))
                .is_some_and(|l| l.starts_with("possibly "))
        );
    }

    #[test]
    fn decision_words() {
        assert_eq!(
            flow_line(LINE, false, "ask", "r"),
            format!("{LINE} — waiting for your approval")
        );
        assert_eq!(flow_line(LINE, false, "allow", "r"), LINE);
        assert_eq!(flow_line(LINE, false, "notify", "r"), LINE);
        assert_eq!(
            flow_line(LINE, false, "block", "switched off"),
            format!("{LINE} — blocked: switched off")
        );
        assert_eq!(
            flow_line(
                "2 values from A.xlsx > S!A1:A2 moved into B.pptx slide 1",
                true,
                "block",
                "a; b; c"
            ),
            "possibly 2 values from A.xlsx > S!A1:A2 moved into B.pptx slide 1 — blocked: a; b; c",
            "the words are shown as given, never cut at \"; \""
        );
    }

    #[test]
    fn approvals_are_announced_and_resolved_with_the_requests_line() {
        let mut i = Interpreter::default();
        let request = json!({"type": "approval_requested", "approval_id": "apr_1",
            "target": {"app": "powerpoint", "name": "Board.pptx", "id": "doc_board"},
            "kind": "flow", "flow": {}, "expires_at": 1764460002345i64 + 119_990, "line": LINE})
        .to_string();
        assert_eq!(
            lines(&mut i, "approval_requested", &request).unwrap(),
            format!(
                "Approval needed: {LINE} (answer within 120 s in the pane, on the monitor, or with one of:)\n  office-bridge approvals allow apr_1\n  office-bridge approvals deny apr_1"
            )
        );
        let resolved = |id: &str, state: &str| {
            json!({"type": "approval_resolved", "approval_id": id, "state": state,
                "decided_by": "pane", "scope": "once", "at": 1})
            .to_string()
        };
        assert_eq!(
            lines(&mut i, "approval_resolved", &resolved("apr_1", "allowed")).unwrap(),
            format!("Allowed: {LINE}")
        );
        for (state, word) in [("denied", "Denied"), ("expired", "Expired (denied)")] {
            let req = request.replace("apr_1", "apr_2");
            lines(&mut i, "approval_requested", &req);
            assert_eq!(
                lines(&mut i, "approval_resolved", &resolved("apr_2", state)).unwrap(),
                format!("{word}: {LINE}")
            );
        }
        // One the command never saw requested (it started later).
        assert_eq!(
            lines(&mut i, "approval_resolved", &resolved("apr_9", "denied")).unwrap(),
            "Denied: approval apr_9"
        );
        // A deletion carries its own line.
        let deletion = json!({"type": "approval_requested", "approval_id": "apr_3",
            "kind": "deletion", "what": "slide 2", "expires_at": 1764460002345i64 + 30_000,
            "line": "delete slide 2 from Board.pptx"})
        .to_string();
        assert_eq!(
            lines(&mut i, "approval_requested", &deletion).unwrap(),
            "Approval needed: delete slide 2 from Board.pptx (answer within 30 s in the pane, on the monitor, or with one of:)\n  office-bridge approvals allow apr_3\n  office-bridge approvals deny apr_3"
        );
        // The commands reach the bridge the notice came from.
        assert_eq!(
            approval_requested_line(
                "x",
                "apr_4",
                1000,
                5000,
                "office-bridge --data-dir /srv/ob approvals --port 31000"
            ),
            "Approval needed: x (answer within 0 s in the pane, on the monitor, or with one of:)\n  office-bridge --data-dir /srv/ob approvals --port 31000 allow apr_4\n  office-bridge --data-dir /srv/ob approvals --port 31000 deny apr_4"
        );
    }

    #[test]
    fn policy_errors_shown_and_the_rest_left_out() {
        let mut i = Interpreter::default();
        let bad = json!({"type": "policy_changed", "policy": {}, "error": "line 1: expected value", "at": 1}).to_string();
        assert_eq!(
            lines(&mut i, "policy_changed", &bad).unwrap(),
            "Administrator policy file not used: line 1: expected value"
        );
        let good =
            json!({"type": "policy_changed", "policy": {}, "error": null, "at": 1}).to_string();
        assert_eq!(lines(&mut i, "policy_changed", &good), None);
        let read = json!({"type": "read", "provenance_id": "p", "document": {"app": "excel", "name": "Q3.xlsx", "id": "d"}, "sheet": "Revenue", "address": "A1:D4", "cells": 16, "flagged": 0, "at": 1}).to_string();
        assert_eq!(lines(&mut i, "read", &read), None);
        assert_eq!(lines(&mut i, "addin_connected", "{}"), None);
        assert_eq!(lines(&mut i, "flow", "not json"), None);
    }

    #[test]
    fn resolved_approvals_are_forgotten_and_memory_is_bounded() {
        let mut i = Interpreter::default();
        for n in 0..(REMEMBERED_APPROVALS + 10) {
            let req = json!({"approval_id": format!("apr_{n}"), "expires_at": 0, "line": "l"})
                .to_string();
            i.interpret("approval_requested", &req, 0);
        }
        assert_eq!(i.approvals.len(), REMEMBERED_APPROVALS);
        assert_eq!(i.order.len(), REMEMBERED_APPROVALS);
        i.interpret(
            "approval_resolved",
            &json!({"approval_id": "apr_20", "state": "allowed"}).to_string(),
            0,
        );
        assert_eq!(i.approvals.len(), REMEMBERED_APPROVALS - 1);
        assert_eq!(i.order.len(), REMEMBERED_APPROVALS - 1);
    }

    #[test]
    fn a_lone_flow_shows_after_the_window_in_full() {
        let mut c = Coalescer::new(2000, 10_000);
        assert!(
            c.push(flow_notice("Q3.xlsx", "Board.pptx", 12, "notify"), 0)
                .is_empty()
        );
        assert_eq!(c.next_due(), Some(2000));
        assert!(c.due(1999).is_empty());
        assert_eq!(
            c.due(2000),
            ["12 values from Q3.xlsx > S!A1 moved into Board.pptx slide 1"]
        );
        assert_eq!(c.next_due(), None);
    }

    #[test]
    fn a_burst_between_two_documents_becomes_one_line() {
        let mut c = Coalescer::new(2000, 10_000);
        assert!(
            c.push(flow_notice("Q3.xlsx", "Board.pptx", 12, "notify"), 0)
                .is_empty()
        );
        assert!(
            c.push(flow_notice("Q3.xlsx", "Board.pptx", 16, "notify"), 800)
                .is_empty()
        );
        assert!(
            c.push(flow_notice("Q3.xlsx", "Board.pptx", 8, "notify"), 2500)
                .is_empty()
        );
        // Another pair is its own burst; blocked flows are not mixed with shown ones.
        assert!(
            c.push(flow_notice("Q3.xlsx", "Notes.pptx", 3, "notify"), 2600)
                .is_empty()
        );
        assert!(
            c.push(flow_notice("Q3.xlsx", "Board.pptx", 4, "block"), 2700)
                .is_empty()
        );
        assert_eq!(c.next_due(), Some(4500));
        assert_eq!(
            c.due(4500),
            ["3 transfers: 36 values from Q3.xlsx moved into Board.pptx"]
        );
        assert_eq!(
            c.due(4700),
            [
                "3 values from Q3.xlsx > S!A1 moved into Notes.pptx slide 1",
                "4 values from Q3.xlsx > S!A1 moved into Board.pptx slide 1 — blocked: your administrator blocks data moving between documents"
            ]
        );
        assert!(c.due(100_000).is_empty());
    }

    #[test]
    fn a_burst_that_keeps_going_is_shown_after_the_longest_delay() {
        let mut c = Coalescer::new(2000, 10_000);
        let mut t = 0;
        while t < 10_000 {
            assert!(
                c.push(flow_notice("A.xlsx", "B.pptx", 1, "block"), t)
                    .is_empty(),
                "{t}"
            );
            t += 1000;
        }
        assert_eq!(c.next_due(), Some(10_000));
        assert_eq!(
            c.due(10_000),
            [
                "10 transfers: 10 values from A.xlsx kept out of B.pptx — blocked: your administrator blocks data moving between documents"
            ]
        );
        // The next flow starts a new burst.
        assert!(
            c.push(flow_notice("A.xlsx", "B.pptx", 1, "block"), 10_000)
                .is_empty()
        );
        assert_eq!(c.next_due(), Some(12_000));
    }

    #[test]
    fn approvals_are_never_held_and_keep_the_order() {
        let mut c = Coalescer::new(2000, 10_000);
        assert!(
            c.push(flow_notice("Q3.xlsx", "Board.pptx", 12, "notify"), 0)
                .is_empty()
        );
        assert!(
            c.push(flow_notice("Q3.xlsx", "Board.pptx", 4, "notify"), 100)
                .is_empty()
        );
        assert_eq!(
            c.push(Notice::Now("Approval needed: x".into()), 200),
            [
                "2 transfers: 16 values from Q3.xlsx moved into Board.pptx",
                "Approval needed: x"
            ]
        );
        assert_eq!(
            c.push(Notice::Now("Allowed: x".into()), 300),
            ["Allowed: x"]
        );
        // A due burst comes out before a later notice even without a tick in between.
        assert!(
            c.push(flow_notice("Q3.xlsx", "Board.pptx", 1, "notify"), 400)
                .is_empty()
        );
        assert_eq!(
            c.push(Notice::Now("Denied: y".into()), 5000),
            [
                "1 values from Q3.xlsx > S!A1 moved into Board.pptx slide 1",
                "Denied: y"
            ]
        );
        assert!(c.flush().is_empty());
    }

    #[test]
    fn possible_bursts_say_so_and_singular_counts() {
        let possible = |n: u64| {
            let Notice::Flow(mut f) = flow_notice("Q3.xlsx", "Board.pptx", n, "notify") else {
                unreachable!()
            };
            f.possible = true;
            f
        };
        assert_eq!(
            burst_line(&[possible(1), possible(2)]),
            "2 transfers: possibly 3 values from Q3.xlsx moved into Board.pptx"
        );
        let Notice::Flow(sure) = flow_notice("Q3.xlsx", "Board.pptx", 5, "notify") else {
            unreachable!()
        };
        assert_eq!(
            burst_line(&[possible(1), sure]),
            "2 transfers: 6 values from Q3.xlsx moved into Board.pptx"
        );
        let mut one = [possible(0), possible(1)];
        one[0].possible = false;
        assert_eq!(
            burst_line(&one),
            "2 transfers: 1 value from Q3.xlsx moved into Board.pptx"
        );
    }

    #[tokio::test]
    async fn lines_from_a_raw_stream() {
        // The whole path but the network: SSE bytes in, lines out.
        let mut i = Interpreter::default();
        let mut c = Coalescer::default();
        let stream = format!(
            ": keep-alive\n\nevent: read\ndata: {{\"type\":\"read\"}}\n\nevent: flow\ndata: {}\n\n",
            flow_event("notify", "confirmed", "shown")
        );
        let mut out = Vec::new();
        let body = futures_util::stream::iter([Ok::<_, std::io::Error>(stream.as_bytes())]);
        let mut events = SseReader::new(body);
        while let Some(ev) = events.next().await {
            let ev = ev.unwrap();
            if let Some(n) = i.interpret(ev.event.as_deref().unwrap_or("message"), &ev.data, 0) {
                out.extend(c.push(n, 0));
            }
        }
        out.extend(c.due(COALESCE_WINDOW_MS));
        assert_eq!(out, [LINE]);
    }
}
