//! Simulated agents: real MCP clients (rmcp, Streamable HTTP over TLS, bearer token), each
//! looping "read a workbook range, write it reformatted into a deck" on random pairs.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rmcp::RoleClient;
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult, ClientRequest, PingRequest};
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};

use crate::data;
use crate::pane::Endpoint;

pub type Client = RunningService<RoleClient, ()>;

/// How long one tool call may take before it counts as an error (the bridge gives a pane
/// 30 s).
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

pub async fn connect(ep: &Endpoint) -> Result<Client> {
    let config =
        StreamableHttpClientTransportConfig::with_uri(format!("https://localhost:{}/mcp", ep.port))
            .auth_header(ep.token.clone());
    let transport = StreamableHttpClientTransport::with_client(ep.https_client()?, config);
    tokio::time::timeout(Duration::from_secs(30), ().serve(transport))
        .await
        .context("MCP initialize took over 30 s")?
        .context("MCP initialize")
}

/// One MCP `ping` through the agent's session: the protocol's own cost (HTTPS POST, the
/// session, rmcp's dispatch, the SSE answer) with no tool, pane or store behind it.
pub async fn ping(client: &Client) -> Option<Duration> {
    let start = Instant::now();
    let sent = client.send_request(ClientRequest::PingRequest(PingRequest::default()));
    match tokio::time::timeout(CALL_TIMEOUT, sent).await {
        Ok(Ok(_)) => Some(start.elapsed()),
        _ => None,
    }
}

/// One successful write, for matching against what the decks saw and the audit chain.
#[derive(Clone, Debug)]
pub struct WriteDone {
    pub tag: String,
    pub deck: usize,
    pub started: Instant,
    pub ended: Instant,
}

#[derive(Default)]
pub struct Outcome {
    /// Latencies in microseconds.
    pub read_us: Vec<u32>,
    pub write_us: Vec<u32>,
    /// When each successful call ended, for throughput over time.
    pub ended: Vec<Instant>,
    /// Per workbook: reads that succeeded, and reads that failed (may or may not have
    /// reached the pane).
    pub reads_ok: Vec<u64>,
    pub reads_failed: Vec<u64>,
    pub writes_ok: Vec<WriteDone>,
    pub writes_failed: Vec<(String, usize)>,
    /// Writes whose result named a confirmed flow from the workbook just read.
    pub flows_found: u64,
    pub flows_missed: u64,
    pub decisions: std::collections::BTreeMap<String, u64>,
    pub errors: u64,
    pub first_errors: Vec<String>,
}

impl Outcome {
    fn new(workbooks: usize) -> Self {
        Outcome {
            reads_ok: vec![0; workbooks],
            reads_failed: vec![0; workbooks],
            ..Outcome::default()
        }
    }

    fn error(&mut self, what: String) {
        self.errors += 1;
        if self.first_errors.len() < 5 {
            self.first_errors.push(what);
        }
    }

    pub fn merge(&mut self, other: Outcome) {
        self.read_us.extend(other.read_us);
        self.write_us.extend(other.write_us);
        self.ended.extend(other.ended);
        if self.reads_ok.len() < other.reads_ok.len() {
            self.reads_ok.resize(other.reads_ok.len(), 0);
            self.reads_failed.resize(other.reads_failed.len(), 0);
        }
        for (i, n) in other.reads_ok.iter().enumerate() {
            self.reads_ok[i] += n;
        }
        for (i, n) in other.reads_failed.iter().enumerate() {
            self.reads_failed[i] += n;
        }
        self.writes_ok.extend(other.writes_ok);
        self.writes_failed.extend(other.writes_failed);
        self.flows_found += other.flows_found;
        self.flows_missed += other.flows_missed;
        for (k, v) in other.decisions {
            *self.decisions.entry(k).or_default() += v;
        }
        self.errors += other.errors;
        for e in other.first_errors {
            if self.first_errors.len() < 10 {
                self.first_errors.push(e);
            }
        }
    }
}

pub struct Plan {
    pub agent: usize,
    pub workbooks: usize,
    pub decks: usize,
    pub until: Instant,
    /// Read-then-write flows at most (0: until the deadline).
    pub max_flows: u64,
    pub seed: u64,
    /// Tags are `{prefix}a{agent}-{n}`, unique across the run.
    pub prefix: &'static str,
}

/// Calls a tool: (is_error, text, structured content), or a protocol/transport failure.
async fn call(client: &Client, tool: &str, args: Value) -> Result<(bool, String, Value), String> {
    let params = CallToolRequestParams::new(tool.to_string())
        .with_arguments(args.as_object().cloned().unwrap_or_default());
    let result: CallToolResult =
        match tokio::time::timeout(CALL_TIMEOUT, client.call_tool(params)).await {
            Err(_) => {
                return Err(format!(
                    "{tool}: no answer within {} s",
                    CALL_TIMEOUT.as_secs()
                ));
            }
            Ok(Err(e)) => return Err(format!("{tool}: {e}")),
            Ok(Ok(r)) => r,
        };
    let text = result
        .content
        .first()
        .and_then(|c| c.as_text())
        .map(|t| t.text.clone())
        .unwrap_or_default();
    Ok((
        result.is_error.unwrap_or(false),
        text,
        result.structured_content.unwrap_or(Value::Null),
    ))
}

fn micros(d: Duration) -> u32 {
    d.as_micros().min(u32::MAX as u128) as u32
}

/// Runs read-then-write flows until the deadline or the count.
pub async fn run(client: &Client, plan: Plan) -> Outcome {
    let mut out = Outcome::new(plan.workbooks);
    let mut rng = data::rng(plan.seed ^ (plan.agent as u64).wrapping_mul(0x2545_f491_4f6c_dd1d));
    let mut n = 0u64;
    while Instant::now() < plan.until && (plan.max_flows == 0 || n < plan.max_flows) {
        n += 1;
        let wb = rng.below(plan.workbooks);
        let deck = rng.below(plan.decks);
        let book = data::workbook_name(wb);
        let started = Instant::now();
        let read = call(
            client,
            "excel_read_range",
            json!({"document": book, "sheet": data::SHEET, "range": data::RANGE}),
        )
        .await;
        out.read_us.push(micros(started.elapsed()));
        match read {
            Ok((false, _, result)) => {
                let expected = data::value(wb, 1, 1);
                if result["values"][1][1].as_f64() != Some(expected) {
                    out.reads_ok[wb] += 1;
                    out.error(format!(
                        "excel_read_range {book}: unexpected values {}",
                        result["values"][1]
                    ));
                    continue;
                }
                out.reads_ok[wb] += 1;
                out.ended.push(Instant::now());
            }
            Ok((true, text, _)) => {
                out.reads_failed[wb] += 1;
                out.error(format!("excel_read_range {book}: {text}"));
                continue;
            }
            Err(e) => {
                out.reads_failed[wb] += 1;
                out.error(e);
                continue;
            }
        }
        let tag = format!("{}a{}-{}", plan.prefix, plan.agent, n);
        let rows = data::table_rows(wb, n as usize, &tag);
        let slide = 1 + (n % 10);
        let started = Instant::now();
        let write = call(
            client,
            "ppt_add_table",
            json!({"document": data::deck_name(deck), "slide": slide, "rows": rows}),
        )
        .await;
        let ended = Instant::now();
        out.write_us.push(micros(ended - started));
        match write {
            Ok((false, text, result)) if result["written"] == json!(true) => {
                out.ended.push(ended);
                out.writes_ok.push(WriteDone {
                    tag,
                    deck,
                    started,
                    ended,
                });
                let flows = result["flows"].as_array().cloned().unwrap_or_default();
                let from_source = flows.iter().find(|f| {
                    f["source"]["name"] == json!(book) && f["strength"] == json!("confirmed")
                });
                match from_source {
                    Some(f) => {
                        out.flows_found += 1;
                        let d = f["decision"].as_str().unwrap_or("?").to_string();
                        *out.decisions.entry(d).or_default() += 1;
                    }
                    None => {
                        out.flows_missed += 1;
                        if out.first_errors.len() < 5 {
                            out.first_errors.push(format!(
                                "ppt_add_table from {book} (style {}): no confirmed flow from it in {}",
                                n % 3,
                                text.chars().take(300).collect::<String>()
                            ));
                        }
                    }
                }
            }
            Ok((_, text, _)) => {
                out.writes_failed.push((tag, deck));
                out.error(format!("ppt_add_table: {text}"));
            }
            Err(e) => {
                out.writes_failed.push((tag, deck));
                out.error(e);
            }
        }
    }
    out
}
