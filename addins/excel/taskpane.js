// The Excel task pane: connects to office-bridge, serves the bridge's Excel operations,
// shows the person what the agent read here, what left this workbook and what came in (one
// line per transfer, updated until its outcome), asks about writes into this workbook held
// for approval (another document's data, a sheet deletion), and keeps the person's
// confidential marks (mark the selection, list, remove).

import { BridgeClient, STATES, bridgeUrl, supportedSets } from "../shared/client.js";
import { loadOffice } from "../shared/office-host.js";
import { ApprovalCards, reconcileApprovals } from "../shared/approvals.js";
import { FlowFeed, flowRole } from "../shared/flows.js";
import { Feed, bindStatus, cellCount, fatal, sensitivityClass, sheetRef } from "../shared/ui.js";
import { purviewLabel } from "../shared/purview.js";
import { createExcelOperations, excelDocumentInfo, excelSelection } from "./operations.js";
import { MarksList } from "./marks.js";
import { FlaggedCells, cellWords } from "./flagged.js";

export const ADDIN_VERSION = "0.1.0";

const $ = (id) => document.getElementById(id);
const feed = new Feed($("feed"), $("feed-empty"));
const markButton = $("mark");
markButton.disabled = true;
let client = null;
const connected = () => client?.state === STATES.CONNECTED;
// A workbook is usually where data comes from; the document ids register gave say for sure.
const flows = new FlowFeed({ feed, noun: "workbook", role: (flow) => flowRole(flow, client?.session?.document_id, "source") });
const flagged = new FlaggedCells({ section: $("flagged-section"), list: $("flagged") });
// The latest read of each range's feed line, to add what the bridge found in it.
const readLines = new Map(); // "sheet!address" -> {li, line}
const sensitivity = { checked: false, label: null, problem: "" }; // the Purview label, or why it is unknown
const marks = new MarksList({
  list: $("marks"),
  empty: $("marks-empty"),
  message: $("mark-message"),
  listMarks: () => client.listMarks(),
  setLabel: (sheet, address, level) => client.setLabel(sheet, address, level),
  connected,
  onChange: () => renderSensitivity(),
});
const cards = new ApprovalCards({
  host: "excel",
  list: $("approvals"),
  empty: $("approvals-empty"),
  heading: $("approvals-h"),
  feed,
  decide: (id, decision, scope) => client.decideApproval(id, decision, scope),
  // A held transfer's card ends on the transfer's own line: one entry per transfer.
  told: (c, msg) => c.flowId !== null && flows.has(c.flowId) && (msg ? flows.settled({ ...msg, flow_id: c.flowId }) : true),
  connected,
});

async function main() {
  try {
    await loadOffice("Excel");
  } catch (e) {
    fatal(e.message);
    markButton.disabled = true;
    return;
  }
  const { Office, Excel } = globalThis;
  const ops = createExcelOperations({ Excel, Office });
  client = new BridgeClient({
    url: bridgeUrl(),
    app: "excel",
    addinVersion: ADDIN_VERSION,
    // Running on the Office.js stand-in (the playground): its documents are simulated.
    simulated: Boolean(globalThis.OfficeStandin),
    getDocument: () => excelDocumentInfo({ Excel, Office }),
    getCapabilities: () => supportedSets(Office, "excel"),
    operations: ops,
  });
  bindStatus(client, {
    onState: (s) => {
      markButton.disabled = s !== STATES.CONNECTED;
      cards.setEnabled(s === STATES.CONNECTED);
      marks.setEnabled(s === STATES.CONNECTED);
    },
  });

  // After every register (first connect and each reconnect): the bridge's open approvals
  // and the person's marks, which may have changed (or been lost with a restart) meanwhile.
  client.addEventListener("registered", async () => {
    const doc = client.documentInfo ?? {};
    $("doc-name").textContent = doc.name || "Untitled workbook";
    reconcileApprovals({ listApprovals: () => client.listApprovals(), listFlows: (ids) => client.listFlows(ids), listRecent: () => client.listRecentFlows(50), cards, flows, restarted: client.restarted }).catch(() => {
      /* the connection went again; the next register reconciles */
    });
    marks.refresh();
    await showSensitivity(ops);
  });

  excelDocumentInfo({ Excel, Office }).then((d) => ($("doc-name").textContent = d.name));
  setSensitivity("Not checked yet", "");

  client.addEventListener("served", (ev) => onServed(ev.detail));
  client.addEventListener("notification", (ev) => onNotification(ev.detail));
  setInterval(() => cards.tick(), 1000);

  markButton.addEventListener("click", async () => {
    const msg = $("mark-message");
    msg.className = "message";
    msg.textContent = "Marking…";
    markButton.disabled = true;
    try {
      const sel = await excelSelection({ Excel });
      if (!sel.sheet) throw new Error("Excel did not say which sheet is selected");
      await client.setLabel(sel.sheet, sel.address, "confidential");
      msg.className = "message ok";
      msg.textContent = `Marked ${sel.sheet}!${sel.address} as confidential.`;
      await marks.marked(sel.sheet, sel.address);
    } catch (e) {
      msg.className = "message error";
      msg.textContent = `Could not mark the selection: ${errorWords(e)}`;
    } finally {
      markButton.disabled = client.state !== STATES.CONNECTED;
    }
  });

  client.start();
}

async function showSensitivity(ops) {
  try {
    const props = await ops["excel.getProperties"]({});
    sensitivity.label = purviewLabel(props.custom);
    sensitivity.problem = "";
    sensitivity.checked = true;
  } catch (e) {
    sensitivity.label = null;
    sensitivity.problem = e?.code === -32004 ? "this version of Excel cannot read labels" : errorWords(e);
    sensitivity.checked = true;
  }
  renderSensitivity();
}

/** The workbook's Purview label first; else the person's own marks; else why it is unknown. */
function renderSensitivity() {
  if (sensitivity.label) setSensitivity(`${sensitivity.label} (sensitivity label)`, sensitivity.label);
  else if (marks.marks.length) setSensitivity("Confidential (marked by you)", "Confidential");
  else if (!sensitivity.checked) return; // the label is still being read
  else if (sensitivity.problem) setSensitivity(`Unknown (${sensitivity.problem})`, "");
  else setSensitivity("No sensitivity label", "");
}

function setSensitivity(text, level) {
  const el = $("doc-sensitivity");
  el.textContent = text;
  el.className = `badge ${sensitivityClass(level)}`;
}

const READS = {
  "excel.readRange": "The agent read",
  "excel.getSelection": "The agent read your selection",
  "excel.getUsedRange": "The agent read the whole sheet",
  "excel.getChartImage": "The agent took a picture of a chart",
};

function onServed({ method, params, result, error }) {
  if (error) {
    if (method.startsWith("excel.")) {
      feed.add({ kind: "error", title: `The agent's request failed (${method.replace("excel.", "")})`, detail: error.message });
    }
    return;
  }
  // An addressOnly answer says where a range is, not what it holds: the read follows.
  if (READS[method] && !params?.addressOnly) {
    const where = method === "excel.getChartImage" ? `${sheetRef(params.sheet)} > chart "${params.chart}"` : sheetRef(result.sheet, result.address);
    const n = cellCount(result.values);
    const line = { kind: "read", title: `${READS[method]}: ${where}`, detail: n ? `${n} cell${n === 1 ? "" : "s"}` : result.sourceRange ? `data from ${result.sourceRange}` : "" };
    const li = feed.add(line);
    if (method !== "excel.getChartImage") {
      readLines.set(`${result.sheet}!${result.address}`, { li, line });
      while (readLines.size > 50) readLines.delete(readLines.keys().next().value);
    }
  } else if (method === "excel.writeRange") {
    feed.add({ kind: "info", title: `The agent wrote to ${sheetRef(params.sheet, result.address)}`, detail: `${cellCount(params.values)} cell(s)` });
  } else if (method === "excel.deleteSheet") {
    feed.add({ kind: "blocked", title: `The agent deleted the sheet "${result.deleted}"` });
  }
}

function onNotification({ method, params }) {
  // The bridge tells both ends of a transfer: this workbook is its source or its target.
  if (method === "read.notice") {
    // What the bridge found in a read of this workbook: instruction-like cells.
    const n = flagged.notice(params ?? {});
    const read = readLines.get(`${params?.sheet}!${params?.address}`);
    if (n && read) {
      const where = (params.flagged ?? []).map((f) => cellWords(f?.location)).slice(0, 3).join(", ");
      feed.update(read.li, { ...read.line, kind: "warn", detail: `${read.line.detail} · ${n === 1 ? "1 cell looks" : `${n} cells look`} like instructions aimed at the agent: ${where}` });
    } else if (n) {
      feed.add({ kind: "warn", title: `Text that looks like instructions to the agent: ${cellWords(params.flagged[0]?.location)}`, detail: String(params.flagged[0]?.reason ?? "") });
    }
  } else if (method === "flow.notice") {
    flows.notice(params ?? {});
  } else if (method === "flow.outcome") {
    flows.outcome(params ?? {});
  } else if (method === "approval.request") {
    cards.add(params ?? {});
    flows.held(params ?? {});
  } else if (method === "approval.resolved") {
    cards.settle(params ?? {});
    flows.resolved(params ?? {});
  } else if (method === "policy.changed") {
    const p = params?.policy ?? params ?? {};
    if (p.flows_enabled === false) feed.add({ kind: "info", title: "Your administrator turned off transfers between documents" });
  }
}

export function errorWords(e) {
  if (!e) return "unknown error";
  if (e.code === -32601) return "this version of office-bridge cannot do that yet";
  if (e.code === -32002) return "disabled by your administrator";
  return e.message || String(e);
}

main();
