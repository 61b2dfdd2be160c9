//! Simulated Office documents behind real panes, and a real MCP client (rmcp over HTTPS
//! trusting only the bridge's CA), for end-to-end tests of the agent's tools.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

use super::{TestBridge, WAIT};

/// What a simulated document answers to a bridge request.
pub type Office = Arc<dyn Fn(&str, &Value) -> Result<Value, Value> + Send + Sync>;

/// A call from a pane to the bridge, with where to put the answer.
type PaneCall = (String, Value, oneshot::Sender<Result<Value, Value>>);

/// A pane of a simulated document, running on its own task: it answers the bridge's
/// requests with `office`, records every request and notification it receives, and can
/// call the bridge (approval.decide, label.set).
pub struct SimPane {
    pub session_id: String,
    pub document_id: String,
    received: mpsc::UnboundedReceiver<(String, Value)>,
    calls: mpsc::UnboundedSender<PaneCall>,
    task: tokio::task::JoinHandle<()>,
}

impl SimPane {
    pub async fn open(bridge: &TestBridge, app: &str, name: &str, office: Office) -> SimPane {
        let ws = bridge
            .ws(Some(&bridge.origin()))
            .await
            .expect("pane connects");
        let mut pane = super::Pane::new(ws);
        let reg = pane
            .call(
                "register",
                json!({"app": app, "document": {"name": name, "url": format!("https://contoso.example/{name}")}}),
            )
            .await
            .expect("registered");
        let session_id = reg["session_id"].as_str().unwrap().to_string();
        let document_id = reg["document_id"].as_str().unwrap().to_string();
        let (seen_tx, received) = mpsc::unbounded_channel();
        let (calls, mut call_rx) = mpsc::unbounded_channel::<PaneCall>();
        let mut ws = pane.ws;
        let task = tokio::spawn(async move {
            let mut next_id = 1000i64;
            let mut waiting: HashMap<i64, oneshot::Sender<Result<Value, Value>>> = HashMap::new();
            loop {
                tokio::select! {
                    msg = ws.next() => {
                        let Some(Ok(msg)) = msg else { return };
                        let Message::Text(text) = msg else { continue };
                        let v: Value = serde_json::from_str(text.as_str()).expect("JSON from the bridge");
                        if let Some(method) = v.get("method").and_then(Value::as_str) {
                            let params = v.get("params").cloned().unwrap_or(Value::Null);
                            let _ = seen_tx.send((method.to_string(), params.clone()));
                            if let Some(id) = v.get("id") {
                                let reply = match office(method, &params) {
                                    Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
                                    Err(error) => json!({"jsonrpc": "2.0", "id": id, "error": error}),
                                };
                                if ws.send(Message::Text(reply.to_string().into())).await.is_err() { return }
                            }
                        } else if let Some(id) = v.get("id").and_then(Value::as_i64)
                            && let Some(tx) = waiting.remove(&id)
                        {
                            let _ = tx.send(match v.get("error") {
                                Some(e) => Err(e.clone()),
                                None => Ok(v["result"].clone()),
                            });
                        }
                    }
                    call = call_rx.recv() => {
                        let Some((method, params, tx)) = call else { return };
                        next_id += 1;
                        waiting.insert(next_id, tx);
                        let req = json!({"jsonrpc": "2.0", "id": next_id, "method": method, "params": params});
                        if ws.send(Message::Text(req.to_string().into())).await.is_err() { return }
                    }
                }
            }
        });
        SimPane {
            session_id,
            document_id,
            received,
            calls,
            task,
        }
    }

    /// Calls a bridge method from this pane.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, Value> {
        let (tx, rx) = oneshot::channel();
        self.calls
            .send((method.to_string(), params, tx))
            .expect("pane task running");
        tokio::time::timeout(WAIT, rx)
            .await
            .expect("answer within the wait")
            .expect("pane task running")
    }

    /// The next message of `method` this pane received (request or notification).
    pub async fn next(&mut self, method: &str) -> Value {
        loop {
            let (m, params) = tokio::time::timeout(WAIT, self.received.recv())
                .await
                .unwrap_or_else(|_| panic!("no {method} within the wait"))
                .expect("pane open");
            if m == method {
                return params;
            }
        }
    }

    /// Everything received so far, without waiting.
    pub fn drain(&mut self) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        while let Ok(m) = self.received.try_recv() {
            out.push(m);
        }
        out
    }

    /// Closes the pane's connection abruptly.
    pub fn vanish(self) {
        self.task.abort();
    }
}

/// The revenue sheet every test reads: regions down A, quarters across row 1.
pub fn revenue_answer(address: &str) -> Value {
    let values = json!([
        ["Region", "Q1", "Q2", "Q3"],
        ["EMEA", 1234567.89, 1456789.12, 1611022.47],
        ["Americas", 2345678.91, 2567890.23, 2789012.35],
        ["APAC", 987654.32, 1098765.43, 1209876.54]
    ]);
    let text = json!([
        ["Region", "Q1", "Q2", "Q3"],
        ["EMEA", "$1,234,568", "$1,456,789", "$1,611,022"],
        ["Americas", "$2,345,679", "$2,567,890", "$2,789,012"],
        ["APAC", "$987,654", "$1,098,765", "$1,209,877"]
    ]);
    let fmt = json!([
        ["General", "General", "General", "General"],
        ["General", "$#,##0", "$#,##0", "$#,##0"],
        ["General", "$#,##0", "$#,##0", "$#,##0"],
        ["General", "$#,##0", "$#,##0", "$#,##0"]
    ]);
    json!({"sheet": "Revenue", "address": address, "values": values, "text": text, "numberFormat": fmt})
}

/// An Excel workbook with a Revenue sheet (A1:D4) and one chart over it.
pub fn workbook() -> Office {
    Arc::new(|method, params| match method {
        "excel.readRange" | "excel.getSelection" => Ok(revenue_answer("A1:D4")),
        "excel.listSheets" => {
            Ok(json!({"sheets": [{"name": "Revenue", "position": 0, "visible": "Visible"}]}))
        }
        "excel.listCharts" => Ok(
            json!({"charts": [{"name": "Revenue chart", "sheet": "Revenue", "sourceRange": "Revenue!A1:D4"}]}),
        ),
        "excel.getChartImage" => {
            Ok(json!({"png_base64": "iVBORw0KGgo=", "sourceRange": "Revenue!B2:D4"}))
        }
        "excel.writeRange" => Ok(json!({"address": params["address"].clone()})),
        "excel.deleteSheet" => Ok(json!({"deleted": params["sheet"].clone()})),
        // A current Excel that can read the workbook's properties: no sensitivity label.
        "excel.getProperties" => Ok(json!({"name": "Q3.xlsx", "url": "", "custom": {}})),
        other => Err(json!({"code": -32601, "message": format!("no {other}")})),
    })
}

/// A PowerPoint deck that records every write it receives.
pub fn deck(writes: Arc<Mutex<Vec<(String, Value)>>>) -> Office {
    Arc::new(move |method, params| {
        let result = match method {
            "powerpoint.listSlides" => {
                json!({"slides": [{"id": "256", "index": 1, "shapes": [{"id": "1", "name": "Title", "text": "Board meeting"}]}]})
            }
            "powerpoint.readSlide" => {
                json!({"id": "256", "index": 1, "shapes": [{"id": "1", "name": "Title", "text": "Board meeting"}]})
            }
            "powerpoint.addSlide" => json!({"id": "257", "index": 2}),
            "powerpoint.addTextBox" | "powerpoint.addTable" | "powerpoint.insertImage" => {
                json!({"shape_id": "9"})
            }
            "powerpoint.deleteSlide" => json!({"deleted": "256"}),
            // Asked when the pane registers; not a write.
            "powerpoint.getProperties" => {
                return Ok(json!({"name": "Board.pptx", "url": "", "custom": {}}));
            }
            other => return Err(json!({"code": -32601, "message": format!("no {other}")})),
        };
        writes
            .lock()
            .unwrap()
            .push((method.to_string(), params.clone()));
        Ok(result)
    })
}

pub type Client = RunningService<RoleClient, ClientImpl>;

/// A client handler that answers elicitations with `allow` (None: declares no
/// elicitation support).
#[derive(Clone, Default)]
pub struct ClientImpl {
    pub elicitation: Option<bool>,
    /// Told of every `notifications/tools/list_changed`.
    pub tools_changed: Option<mpsc::UnboundedSender<()>>,
    /// Counts the elicitations the bridge sent.
    pub elicitations: Arc<std::sync::atomic::AtomicUsize>,
    /// Told of every progress notification.
    pub progress: Option<mpsc::UnboundedSender<rmcp::model::ProgressNotificationParam>>,
}

impl ClientHandler for ClientImpl {
    fn get_info(&self) -> rmcp::model::ClientConfig {
        let mut caps = rmcp::model::ClientCapabilities::default();
        if self.elicitation.is_some() {
            caps = rmcp::model::ClientCapabilities::builder()
                .enable_elicitation()
                .build();
        }
        rmcp::model::ClientConfig::new(
            caps,
            rmcp::model::Implementation::new("office-bridge-tests", "0"),
        )
    }

    async fn on_tool_list_changed(&self, _context: rmcp::service::NotificationContext<RoleClient>) {
        if let Some(tx) = &self.tools_changed {
            let _ = tx.send(());
        }
    }

    async fn on_progress(
        &self,
        mut params: rmcp::model::ProgressNotificationParam,
        context: rmcp::service::NotificationContext<RoleClient>,
    ) {
        // rmcp's client keeps the notification's `_meta` in the context's extensions.
        if params.meta.is_none() {
            params.meta = context
                .extensions
                .get::<rmcp::model::NotificationMetaObject>()
                .cloned()
                .or(Some(context.meta).filter(|m| !m.0.0.is_empty()));
        }
        if let Some(tx) = &self.progress {
            let _ = tx.send(params);
        }
    }

    async fn create_elicitation(
        &self,
        _request: rmcp::model::ElicitRequestParams,
        _context: rmcp::service::RequestContext<RoleClient>,
    ) -> Result<rmcp::model::ElicitResult, rmcp::ErrorData> {
        self.elicitations
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let allow = self.elicitation.unwrap_or(false);
        Ok(
            rmcp::model::ElicitResult::new(rmcp::model::ElicitationAction::Accept)
                .with_content(json!({"allow": allow})),
        )
    }
}

impl TestBridge {
    /// An HTTPS client trusting only this bridge's CA.
    pub fn https_client(&self) -> reqwest::Client {
        let tls = certs::client_config_trusting(&self.ca_pem).expect("client TLS");
        reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .build()
            .expect("client")
    }

    /// A real MCP client (rmcp, Streamable HTTP) with the bearer token.
    pub async fn mcp(&self) -> Client {
        self.mcp_with(ClientImpl::default()).await
    }

    pub async fn mcp_with(&self, handler: ClientImpl) -> Client {
        let config = StreamableHttpClientTransportConfig::with_uri(format!(
            "https://localhost:{}/mcp",
            self.port()
        ))
        .auth_header(self.token.clone());
        let transport = StreamableHttpClientTransport::with_client(self.https_client(), config);
        tokio::time::timeout(WAIT, handler.serve(transport))
            .await
            .expect("MCP initialize within the wait")
            .expect("MCP session")
    }
}

/// Calls a tool; returns (is_error, text of the first content block, structured content).
pub async fn call(
    client: &rmcp::Peer<RoleClient>,
    tool: &str,
    args: Value,
) -> (bool, String, Value) {
    let params = CallToolRequestParams::new(tool.to_string())
        .with_arguments(args.as_object().cloned().expect("args are an object"));
    let result: CallToolResult =
        tokio::time::timeout(Duration::from_secs(30), client.call_tool(params))
            .await
            .expect("tool answers within 30 s")
            .expect("tool call is not a protocol error");
    let text = result
        .content
        .first()
        .and_then(|c| c.as_text())
        .map(|t| t.text.clone())
        .unwrap_or_default();
    (
        result.is_error.unwrap_or(false),
        text,
        result.structured_content.unwrap_or(Value::Null),
    )
}

/// Calls a tool that must succeed; its structured content. Panics with the tool's text
/// on a tool error.
pub async fn call_ok(client: &rmcp::Peer<RoleClient>, tool: &str, args: Value) -> Value {
    let (err, text, result) = call(client, tool, args).await;
    assert!(!err, "{tool}: {text}");
    result
}

/// A workbook and a deck open, an agent connected with `handler`, and the revenue table
/// already read from the workbook: the start of the held-transfer tests.
pub struct Desk {
    pub excel: SimPane,
    pub ppt: SimPane,
    pub writes: Arc<Mutex<Vec<(String, Value)>>>,
    pub client: Client,
}

impl Desk {
    pub async fn open(bridge: &TestBridge, handler: ClientImpl) -> Desk {
        let writes = Arc::new(Mutex::new(Vec::new()));
        let excel = SimPane::open(bridge, "excel", "Q3.xlsx", workbook()).await;
        let ppt = SimPane::open(bridge, "powerpoint", "Board.pptx", deck(writes.clone())).await;
        let client = bridge.mcp_with(handler).await;
        call_ok(
            &client,
            "excel_read_range",
            json!({"sheet": "Revenue", "range": "A1:D4"}),
        )
        .await;
        Desk {
            excel,
            ppt,
            writes,
            client,
        }
    }

    /// Tables that reached the deck.
    pub fn tables_written(&self) -> usize {
        self.writes
            .lock()
            .unwrap()
            .iter()
            .filter(|(m, _)| m == "powerpoint.addTable")
            .count()
    }
}

/// The write the decision tests make: the workbook's revenue figures as "$1.23M", for
/// `ppt_add_table` on slide 3.
pub fn reformatted_table() -> Value {
    json!({"slide": 3, "rows": [
        ["Region", "Q1", "Q2", "Q3"],
        ["EMEA", "$1.23M", "$1.46M", "$1.61M"],
        ["Americas", "$2.35M", "$2.57M", "$2.79M"],
        ["APAC", "$0.99M", "$1.10M", "$1.21M"]
    ]})
}

impl TestBridge {
    /// `audit verify` on the bridge's own store: the chain is intact.
    pub async fn assert_audit_intact(&self) {
        let report = self.state.gate.verify_audit().await.unwrap();
        assert!(report.ok(), "{report:?}");
    }
}

/// The cell at zero-based (`row`, `col`) of [`grid_workbook`]'s sheet "Data".
pub fn grid_value(row: u32, col: u32) -> i64 {
    i64::from(row) * 1000 + i64::from(col)
}

/// An Excel workbook whose sheet "Data" holds numbers in `rows` x `cols` cells from A1
/// ([`grid_value`]), answering as Office does: `excel.readRange` any rectangle of it
/// (`""` beyond the data), `excel.getUsedRange` with `addressOnly` the used part of a
/// range (null when it has none), and `excel.getSelection` with `addressOnly` where
/// `selection` is, `"Data!A1:C3"`. Every request is also recorded by the pane.
pub fn grid_workbook(rows: u32, cols: u32, selection: &str) -> Office {
    use tracker::{CellAddr, CellRange};
    let selection = selection.to_string();
    let data = CellRange::new(CellAddr::new(0, 0), CellAddr::new(rows - 1, cols - 1));
    Arc::new(move |method, params| {
        let sheet_ok = || params["sheet"] == "Data";
        match method {
            "excel.readRange" if sheet_ok() => {
                let asked = CellRange::parse(params["address"].as_str().unwrap_or(""))
                    .map_err(|e| json!({"code": -32602, "message": e.to_string()}))?;
                if asked.cell_count() > 100_000 {
                    return Err(json!({"code": -32602, "message": "read at most 100000 cells"}));
                }
                let grid = |f: &dyn Fn(u32, u32) -> Value| -> Value {
                    (asked.start.row..=asked.end.row)
                        .map(|r| {
                            (asked.start.col..=asked.end.col)
                                .map(|c| f(r, c))
                                .collect::<Vec<_>>()
                        })
                        .collect::<Vec<_>>()
                        .into()
                };
                let inside = |r, c| data.contains(CellAddr::new(r, c));
                Ok(json!({
                    "sheet": "Data",
                    "address": format!("Data!{asked}"),
                    "values": grid(&|r, c| if inside(r, c) { json!(grid_value(r, c)) } else { json!("") }),
                    "text": grid(&|r, c| if inside(r, c) { json!(grid_value(r, c).to_string()) } else { json!("") }),
                    "numberFormat": grid(&|_, _| json!("General")),
                }))
            }
            "excel.getUsedRange" if sheet_ok() && params["addressOnly"] == true => {
                let within = match params["address"].as_str() {
                    Some(a) => CellRange::parse_whole(a)
                        .map_err(|e| json!({"code": -32602, "message": e.to_string()}))?,
                    None => data,
                };
                let start = CellAddr::new(
                    within.start.row.max(data.start.row),
                    within.start.col.max(data.start.col),
                );
                let end = CellAddr::new(
                    within.end.row.min(data.end.row),
                    within.end.col.min(data.end.col),
                );
                let used = (start.row <= end.row && start.col <= end.col)
                    .then(|| CellRange::new(start, end).to_string());
                Ok(json!({"sheet": "Data", "address": used}))
            }
            "excel.getSelection" if params["addressOnly"] == true => {
                let (sheet, address) = tracker::split_sheet(&selection);
                Ok(json!({"sheet": sheet, "address": address}))
            }
            "excel.writeRange" => Ok(json!({"address": params["address"].clone()})),
            "excel.getProperties" => Ok(json!({"name": "Grid.xlsx", "url": "", "custom": {}})),
            "excel.readRange" | "excel.getUsedRange" => Err(
                json!({"code": -32005, "message": "The requested resource doesn't exist.", "data": {"code": "ItemNotFound"}}),
            ),
            other => Err(json!({"code": -32601, "message": format!("no {other}")})),
        }
    })
}
