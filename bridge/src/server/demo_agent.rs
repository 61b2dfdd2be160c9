//! The playground's demo agent (`POST /playground/demo-agent`, only with `serve
//! --playground`): so a person can see what office-bridge does without connecting an agent,
//! it acts as one. It speaks MCP to this bridge's own `/mcp` with the agent's token, like any
//! agent's client, so everything it does goes through the real tools, gate and tracker:
//! it reads `Revenue!A1:D4` from the playground's simulated workbook and writes the figures,
//! reformatted in millions ("$1.23M"), as a table on slide 2 of the simulated deck. That
//! write carries workbook data into the deck, so it is announced, held or blocked as the
//! policy says; a held one waits for the person in the deck's pane like any other.
//!
//! It touches only documents whose panes run on the Office.js stand-in (`simulated`), one
//! run at a time, and only when asked from the bridge's own pages (an `Origin` header that is
//! the bridge's own; the guard refuses any other origin before this).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};
use tracker::App;

use super::AppState;

/// What the demo agent reads, and where it writes it.
pub const DEMO_SHEET: &str = "Revenue";
pub const DEMO_RANGE: &str = "A1:D4";
pub const DEMO_SLIDE: u32 = 2;

/// At most one demo at a time (per bridge).
#[derive(Debug, Default)]
pub struct DemoAgent {
    running: AtomicBool,
}

struct Running<'a>(&'a AtomicBool);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

fn refuse(status: StatusCode, error: &str) -> Response {
    (status, Json(json!({"error": error}))).into_response()
}

/// A number as the demo's slide shows it: millions with two decimals ("$1.23M"); other
/// values as they are.
pub fn millions(v: &Value) -> String {
    match v {
        Value::Number(n) => match n.as_f64() {
            Some(x) if x.abs() >= 1_000.0 => format!("${:.2}M", x / 1e6),
            Some(x) => format!("{x}"),
            None => n.to_string(),
        },
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The text of a tool result (its first text block).
fn result_text(r: &CallToolResult) -> String {
    r.content
        .iter()
        .find_map(|c| c.as_text().map(|t| t.text.clone()))
        .unwrap_or_default()
}

pub async fn run(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !state.playground {
        return refuse(
            StatusCode::NOT_FOUND,
            "the playground is off: start office-bridge with `office-bridge serve --playground`",
        );
    }
    // Only the bridge's own pages (the guard already refused any other origin).
    if headers.get(header::ORIGIN).is_none() {
        return refuse(
            StatusCode::FORBIDDEN,
            "the demo agent runs only from the playground page",
        );
    }
    let simulated = |app: App| {
        state
            .registry
            .matching(|s| s.connected && s.simulated && s.app == app)
            .into_iter()
            .next()
    };
    let (Some(workbook), Some(deck)) = (simulated(App::Excel), simulated(App::Powerpoint)) else {
        return refuse(
            StatusCode::CONFLICT,
            "the demo agent needs the playground's workbook and deck: wait until both panes say they are connected",
        );
    };
    if state.demo.running.swap(true, Ordering::SeqCst) {
        return refuse(
            StatusCode::CONFLICT,
            "the demo agent is already running: answer or wait for the approval it asked for",
        );
    }
    let _running = Running(&state.demo.running);
    match demo(&state, &workbook.document.id.0, &deck.document.id.0).await {
        Ok(steps) => Json(json!({"steps": steps})).into_response(),
        Err(e) => refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("the demo agent could not talk to office-bridge: {e:#}"),
        ),
    }
}

/// Reads the range and writes it, reformatted, into the deck, as an agent's client would.
async fn demo(state: &AppState, workbook: &str, deck: &str) -> anyhow::Result<Vec<Value>> {
    let port = state.origins.port();
    let tls = certs::client_config_trusting(&state.ca_pem)?;
    let http = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .no_proxy()
        .connect_timeout(Duration::from_secs(5))
        .build()?;
    let config =
        StreamableHttpClientTransportConfig::with_uri(format!("https://localhost:{port}/mcp"))
            .auth_header(state.token.current().expose().to_string());
    let transport = StreamableHttpClientTransport::with_client(http, config);
    let client = tokio::time::timeout(Duration::from_secs(10), ().serve(transport))
        .await
        .map_err(|_| anyhow::anyhow!("no answer to initialize within 10 s"))??;
    let call = |tool: &'static str, args: Value| {
        let params = CallToolRequestParams::new(tool)
            .with_arguments(args.as_object().cloned().unwrap_or_default());
        client.call_tool(params)
    };
    let mut steps = Vec::new();
    let read = call(
        "excel_read_range",
        json!({"document": workbook, "sheet": DEMO_SHEET, "range": DEMO_RANGE}),
    )
    .await?;
    let values = read
        .structured_content
        .as_ref()
        .and_then(|s| s.get("values"))
        .and_then(Value::as_array)
        .cloned();
    let failed = read.is_error == Some(true) || values.is_none();
    steps.push(json!({
        "tool": "excel_read_range",
        "ok": !failed,
        "what": format!("read {DEMO_SHEET}!{DEMO_RANGE}"),
        "text": if failed { result_text(&read) } else { String::new() },
    }));
    if let Some(values) = values.filter(|_| !failed) {
        let rows: Vec<Vec<String>> = values
            .iter()
            .map(|row| {
                row.as_array()
                    .map(|r| r.iter().map(millions).collect())
                    .unwrap_or_default()
            })
            .collect();
        let write = call(
            "ppt_add_table",
            json!({"document": deck, "slide": DEMO_SLIDE, "rows": rows}),
        )
        .await?;
        let ok = write.is_error != Some(true);
        steps.push(json!({
            "tool": "ppt_add_table",
            "ok": ok,
            "what": format!("add a table to slide {DEMO_SLIDE} with the figures in millions"),
            "text": if ok { String::new() } else { result_text(&write) },
        }));
    }
    let _ = client.cancel().await;
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_shown_in_millions() {
        assert_eq!(millions(&json!(1234567.89)), "$1.23M");
        assert_eq!(millions(&json!(987654.32)), "$0.99M");
        assert_eq!(millions(&json!("EMEA")), "EMEA");
        assert_eq!(millions(&json!(12)), "12");
        assert_eq!(millions(&Value::Null), "");
    }
}
