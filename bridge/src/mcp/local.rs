//! Tools that need no pane: the bridge's status, workbook files in allowed folders,
//! scanning a file for tracked data, and the recent flows.

use std::path::PathBuf;

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};
use serde_json::json;
use tracker::files::ReadControl;
use tracker::{ProvenanceId, ReadEvent, SheetRead, WriteContent};

use super::paging::{self, Asked};
use super::pane_data::{flag_cells, warning_json};
use super::tool_args::{FlowsRecentArgs, ScanFileArgs, StatusArgs, XlsxReadArgs, XlsxWriteArgs};
use super::{OfficeBridgeMcp, fail, internal, ok};
use crate::files::{self, FileToolError, SheetInput};

/// Test setting (milliseconds): every file read first waits this long (or until it is
/// stopped), standing in for a read that takes a minute, which the reader budgets no
/// longer let a real file do, in `tests/hostile_clients.rs`: a stop must not wait for it.
/// Not meant for use otherwise; the bridge logs a warning when it is set.
pub const TEST_SLOW_FILE_TOOLS_ENV: &str = "OFFICE_BRIDGE_TEST_SLOW_FILE_TOOLS_MS";

fn test_slow_file_tools() -> Option<std::time::Duration> {
    static DELAY: std::sync::OnceLock<Option<std::time::Duration>> = std::sync::OnceLock::new();
    *DELAY.get_or_init(|| {
        let ms = std::env::var(TEST_SLOW_FILE_TOOLS_ENV).ok()?.parse().ok()?;
        tracing::warn!("{TEST_SLOW_FILE_TOOLS_ENV} is set: file tools are slowed by {ms} ms");
        Some(std::time::Duration::from_millis(ms))
    })
}

/// Reads a file off the async threads, under a [`files::ReadHandle`]: when the request is
/// cancelled (`ct`) the read is stopped and the call answers at once; when the call's
/// future is dropped instead (the client went away), dropping the handle stops it. Either
/// way the blocking thread ends within milliseconds instead of finishing a read nobody
/// waits for.
async fn reading<T: Send + 'static>(
    switch: &files::ReadSwitch,
    ct: &tokio_util::sync::CancellationToken,
    f: impl FnOnce(ReadControl) -> Result<T, FileToolError> + Send + 'static,
) -> Result<T, CallToolResult> {
    // The handle stays here, with this future: only the control goes to the thread.
    let handle = files::ReadHandle::new(switch);
    let control = handle.control();
    let slow = test_slow_file_tools();
    let task = tokio::task::spawn_blocking(move || {
        if let Some(delay) = slow {
            let until = std::time::Instant::now() + delay;
            while std::time::Instant::now() < until && !control.is_stopped() {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
        let stopped = control.clone();
        let result = f(control);
        if stopped.is_stopped() {
            // Said by the thread itself, once it is free again.
            tracing::info!("a file read stopped early: nobody waits for it any more");
        }
        result
    });
    tokio::select! {
        joined = task => match joined {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(fail(e.to_string())),
            Err(e) => Err(internal(e)),
        },
        () = ct.cancelled() => {
            handle.cancel();
            Err(fail("cancelled: the request was cancelled; the file read was stopped".to_string()))
        }
    }
}

/// Runs blocking file work off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, FileToolError> + Send + 'static,
) -> Result<T, CallToolResult> {
    let slow = test_slow_file_tools();
    let f = move || {
        if let Some(delay) = slow {
            std::thread::sleep(delay);
        }
        f()
    };
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(fail(e.to_string())),
        Err(e) => Err(internal(e)),
    }
}

#[tool_router(router = local_tools, vis = "pub(super)")]
impl OfficeBridgeMcp {
    #[tool(
        description = "What office-bridge is connected to: open documents and their panes, the administrator's policy, the folders file tools may use, pending approvals.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn office_status(&self, Parameters(_): Parameters<StatusArgs>) -> CallToolResult {
        let policy = self.ctx.policy.borrow().clone();
        let mut documents = Vec::new();
        for s in self.ctx.registry.list() {
            let label = self
                .ctx
                .gate
                .document_label(s.document.id.clone())
                .await
                .ok()
                .flatten();
            documents.push(json!({
                "app": s.app,
                "name": s.document.name,
                "url": s.document.location,
                "id": s.document.id.0,
                "connected": s.connected,
                "addin_enabled": policy.addin_enabled(s.app),
                "sensitivity_label": label,
            }));
        }
        let indexed = self.ctx.gate.indexed_cells().await.unwrap_or(0);
        let pending = self.ctx.gate.pending().await.map(|p| p.len()).unwrap_or(0);
        ok(json!({
            "bridge": {"version": env!("CARGO_PKG_VERSION"), "uptime_seconds": self.ctx.started.elapsed().as_secs()},
            "documents": documents,
            "policy": policy,
            "allowed_folders": self.ctx.allowed_dirs.roots().iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "pending_approvals": pending,
            "labelled_cells": indexed,
        }))
    }

    #[tool(
        description = "Read a workbook file (xlsx, xlsm, xls, ods, csv) from a folder the person allowed: values and their displayed form. The cells are labelled with their source like a live read; instruction-like text is flagged. A big read comes back in pages: while the result has next_range, call again with it as range (next_call is that call).",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn xlsx_read(
        &self,
        Parameters(args): Parameters<XlsxReadArgs>,
        call: RequestContext<RoleServer>,
    ) -> CallToolResult {
        // The range's form and size are checked before the file is opened.
        let asked = match args.checked_range() {
            Ok(r) => r.map_or(Asked::UsedRange, Asked::Range),
            Err(e) => return fail(e),
        };
        let dirs = self.ctx.allowed_dirs.clone();
        let limits = self.ctx.limits.clone();
        let sheets = self.ctx.sheets.clone();
        let (path, sheet, range) = (args.path.clone(), args.sheet.clone(), args.range.clone());
        let read = reading(&self.ctx.reads, &call.ct, move |control| {
            let file = dirs.open_existing(&path)?;
            let wb = files::read_workbook_page(
                &sheets,
                &file,
                sheet.as_deref(),
                range.as_deref(),
                paging::file_cells_to_read(),
                &limits.with_control(control),
            )?;
            // The reader opened the file by path: what it read counts only if the path
            // still leads, without links, to the file that was checked.
            file.recheck()?;
            Ok(wb)
        })
        .await;
        let mut wb = match read {
            Ok(wb) => wb,
            Err(e) => return e,
        };
        // What the file says of its label is what is known of this document now (a csv
        // cannot carry one).
        let label = tracker::files::PurviewLabel::document_label(wb.purview.as_ref());
        if let Err(e) = self
            .ctx
            .gate
            .learn_document_label(wb.document.clone(), label, "file")
            .await
        {
            return internal(e);
        }
        // As many of the rows read as fit one answer.
        let mut costs = Vec::new();
        paging::add_row_costs(&mut costs, &wb.values);
        paging::add_row_costs(&mut costs, &wb.text);
        let band_start = wb.covers.map(|c| c.start);
        let cells_in = |cells: &[tracker::ReadCell], n: usize| -> Vec<tracker::ReadCell> {
            let Some(start) = band_start else {
                return Vec::new();
            };
            cells
                .iter()
                .filter(|c| ((c.addr.row - start.row) as usize) < n)
                .cloned()
                .collect()
        };
        let mut flagged = Vec::new();
        let fitted = paging::fit_rows(&costs, |n| {
            let cells = cells_in(&wb.cells, n);
            flagged = flag_cells(&self.ctx.injection, &wb.document.name, &wb.sheet, &cells);
            let next = wb.covers.and_then(|covers| {
                paging::rest(asked, covers, n as u32).map(|next| (covers, next))
            });
            let mut result = json!({
                "path": wb.document.location,
                "sheet": wb.sheet,
                "sheets": wb.sheets,
                "address": band_address(wb.covers, n),
                "values": wb.values[..n],
                "text": wb.text[..n],
                "truncated": next.is_some(),
                "sensitivity_label": wb.purview.as_ref().map(|l| l.name.clone()),
                "provenance_id": paging::PROVENANCE_PLACEHOLDER,
            });
            if let Some(w) = warning_json(&flagged) {
                result["instructions_in_data"] = w;
            }
            if let Some((covers, next)) = next {
                paging::add_next(
                    &mut result,
                    n as u32,
                    covers,
                    next,
                    "xlsx_read",
                    json!({"path": wb.document.location, "sheet": wb.sheet}),
                );
            }
            result
        });
        let (n, mut result) = match fitted {
            Ok(f) => f,
            Err(bytes) => {
                let row = wb.covers.map_or(0, |c| c.start.row);
                return fail(paging::row_too_big(&wb.sheet, row, bytes));
            }
        };
        wb.cells = cells_in(&wb.cells, n);
        let event = ReadEvent {
            id: ProvenanceId::new(),
            document: wb.document.clone(),
            sheets: vec![SheetRead {
                sheet: wb.sheet.clone(),
                cells: wb.cells,
            }],
            at: tracker::unix_millis_now(),
            request: "xlsx_read".into(),
        };
        let provenance = match self
            .ctx
            .gate
            .record_read(event, band_address(wb.covers, n), flagged)
            .await
        {
            Ok(id) => id,
            Err(e) => return internal(e),
        };
        result["provenance_id"] = json!(provenance.to_string());
        let result = ok(result);
        super::report_page(&call, &result).await;
        result
    }

    #[tool(
        description = "Write an .xlsx workbook into a folder the person allowed. Checked first for data from other documents like any write: may be held for approval (the call waits) or blocked (the error says why). Refuses to replace a file unless overwrite is true.",
        annotations(
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn xlsx_write(
        &self,
        Parameters(args): Parameters<XlsxWriteArgs>,
        call: RequestContext<RoleServer>,
    ) -> CallToolResult {
        let dirs = self.ctx.allowed_dirs.clone();
        let requested = args.path.clone();
        let path: PathBuf = match blocking(move || dirs.resolve_for_write(&requested)).await {
            Ok(p) => p,
            Err(e) => return e,
        };
        let sheets: Vec<SheetInput> = super::validate::sheet_inputs(args.sheets);
        // Everything that would stop the write is checked before anyone is asked to
        // approve it.
        if let Err(e) = files::check_writable(&path, &sheets) {
            return fail(e.to_string());
        }
        if !args.overwrite && path.exists() {
            // Said before the check: a write that cannot happen should not be decided.
            return fail(format!(
                "refused: {} exists; pass overwrite: true to replace it",
                path.display()
            ));
        }
        let target = tracker::files::file_document(&path);
        let content = WriteContent::workbook(
            target,
            sheets.iter().map(|s| (s.name.as_str(), s.rows.as_slice())),
        );
        let location = path.display().to_string();
        let overwrite = args.overwrite;
        let shown = location.clone();
        self.gated_write("xlsx_write", content, &location, &call, || async move {
            let written =
                tokio::task::spawn_blocking(move || files::write_workbook(&path, &sheets, overwrite))
                    .await
                    .map_err(|e| e.to_string())?
                    .map_err(|e| e.to_string())?;
            Ok(json!({
                "path": shown,
                "sheets": written.iter().map(|w| json!({"name": w.name, "address": w.address})).collect::<Vec<_>>(),
            }))
        })
        .await
    }

    #[tool(
        description = "Check a file (pptx, docx, xlsx, csv, txt, md) in an allowed folder for data from tracked sources: everything read through office-bridge, or the workbooks given in against. Moves no data and records nothing.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn scan_file(
        &self,
        Parameters(args): Parameters<ScanFileArgs>,
        call: RequestContext<RoleServer>,
    ) -> CallToolResult {
        let dirs = self.ctx.allowed_dirs.clone();
        let limits = self.ctx.limits.clone();
        match args.against {
            Some(against) => {
                let report = reading(&self.ctx.reads, &call.ct, move |control| {
                    let target = dirs.open_existing(&args.path)?;
                    let sources = against
                        .iter()
                        .map(|s| dirs.open_existing(s))
                        .collect::<Result<Vec<_>, _>>()?;
                    let paths = |files: &[files::CheckedFile]| {
                        files
                            .iter()
                            .map(|f| f.path().to_path_buf())
                            .collect::<Vec<_>>()
                    };
                    let report = tracker::scan::scan(
                        &paths(std::slice::from_ref(&target)),
                        &paths(&sources),
                        &limits.with_control(control),
                        tracker::unix_millis_now(),
                        &mut |_| {},
                    );
                    // As in xlsx_read: every file read must still be the one checked.
                    target.recheck()?;
                    for source in &sources {
                        source.recheck()?;
                    }
                    Ok(report)
                })
                .await;
                match report {
                    Ok(r) => ok(json!(r)),
                    Err(e) => e,
                }
            }
            None => {
                let doc = reading(&self.ctx.reads, &call.ct, move |control| {
                    let target = dirs.open_existing(&args.path)?;
                    let doc =
                        tracker::files::read_target(target.path(), &limits.with_control(control))?;
                    target.recheck()?;
                    Ok(doc)
                })
                .await;
                let doc = match doc {
                    Ok(d) => d,
                    Err(e) => return e,
                };
                let skipped = doc.skipped;
                let content = WriteContent {
                    target: doc.document.clone(),
                    parts: doc.parts,
                    explicit_sources: vec![],
                };
                let flows = match self.ctx.gate.find_flows(content).await {
                    Ok(f) => f,
                    Err(e) => return internal(e),
                };
                ok(json!({
                    "path": doc.document.location,
                    "flows": flows.iter().map(|f| json!({
                        "source": {"document": f.source.name, "location": f.source.location, "app": f.source.app, "sheet": f.sheet,
                                   "cells": tracker::CellRange::bounding(&f.cells).map(|r| r.to_string())},
                        "location": f.location,
                        "matched": f.matched,
                        "confidence": f.confidence,
                        "strength": f.strength,
                        "sensitivity": f.sensitivity.level,
                    })).collect::<Vec<_>>(),
                    "skipped": skipped,
                }))
            }
        }
    }

    #[tool(
        description = "The most recent transfers between documents that office-bridge saw, newest first, with their decisions.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn flows_recent(&self, Parameters(args): Parameters<FlowsRecentArgs>) -> CallToolResult {
        let limit = args.limit.unwrap_or(20).clamp(1, 200) as usize;
        match self.ctx.gate.recent_flows(limit).await {
            Ok(flows) => ok(json!({
                "flows": flows.iter().map(crate::events::stored_flow_json).collect::<Vec<_>>(),
            })),
            Err(e) => internal(e),
        }
    }
}

/// `A1:C10`: the first `rows` rows of `covers`; `""` when none.
fn band_address(covers: Option<tracker::CellRange>, rows: usize) -> String {
    match covers {
        Some(c) if rows > 0 => tracker::CellRange::new(
            c.start,
            tracker::CellAddr::new(c.start.row + rows as u32 - 1, c.end.col),
        )
        .to_string(),
        _ => String::new(),
    }
}
