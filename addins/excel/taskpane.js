// The Excel task pane: connects to office-bridge, serves the bridge's Excel operations,
// shows the person what the agent read here and what left this workbook, and asks about
// writes into this workbook held for approval (another document's data, a sheet deletion).

import { BridgeClient, STATES, bridgeUrl, supportedSets } from "../shared/client.js";
import { loadOffice } from "../shared/office-host.js";
import { ApprovalCards } from "../shared/approvals.js";
import { Feed, bindStatus, cellCount, decisionWords, describeFlow, fatal, h, levelWords, sensitivityClass } from "../shared/ui.js";
import { createExcelOperations, excelDocumentInfo, excelSelection, purviewLabel } from "./operations.js";

export const ADDIN_VERSION = "0.1.0";

const $ = (id) => document.getElementById(id);
const feed = new Feed($("feed"), $("feed-empty"));
const markButton = $("mark");
markButton.disabled = true;
let client = null;
const cards = new ApprovalCards({
  host: "excel",
  list: $("approvals"),
  empty: $("approvals-empty"),
  heading: $("approvals-h"),
  feed,
  decide: (id, decision, scope) => client.decideApproval(id, decision, scope),
  connected: () => client?.state === STATES.CONNECTED,
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
    getDocument: () => excelDocumentInfo({ Excel, Office }),
    getCapabilities: () => supportedSets(Office, "excel"),
    operations: ops,
  });
  bindStatus(client, {
    onState: (s) => {
      markButton.disabled = s !== STATES.CONNECTED;
      cards.setEnabled(s === STATES.CONNECTED);
    },
  });

  client.addEventListener("registered", async () => {
    const doc = client.documentInfo ?? {};
    $("doc-name").textContent = doc.name || "Untitled workbook";
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
      $("marks").append(h("li", {}, `${sel.sheet}!${sel.address}`));
      setSensitivity("Confidential (marked by you)", "Confidential");
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
    const label = purviewLabel(props.custom);
    if (label) setSensitivity(`${label} (sensitivity label)`, label);
    else if (!$("marks").children.length) setSensitivity("No sensitivity label", "");
  } catch (e) {
    if (e?.code === -32004) setSensitivity("Unknown (this version of Excel cannot read labels)", "");
    else setSensitivity(`Unknown (${errorWords(e)})`, "");
  }
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
  if (READS[method]) {
    const where = method === "excel.getChartImage" ? `${params.sheet} > chart "${params.chart}"` : `${result.sheet}!${result.address}`;
    const n = cellCount(result.values);
    feed.add({ kind: "read", title: `${READS[method]}: ${where}`, detail: n ? `${n} cell${n === 1 ? "" : "s"}` : result.sourceRange ? `data from ${result.sourceRange}` : "" });
  } else if (method === "excel.writeRange") {
    feed.add({ kind: "info", title: `The agent wrote to ${params.sheet}!${result.address}`, detail: `${cellCount(params.values)} cell(s)` });
  } else if (method === "excel.deleteSheet") {
    feed.add({ kind: "blocked", title: `The agent deleted the sheet "${result.deleted}"` });
  }
}

function onNotification({ method, params }) {
  if (method === "flow.notice") {
    const f = describeFlow(params);
    const decision = decisionWords(f.decision);
    const blocked = /blocked/.test(decision);
    const detail = [f.matched && `${f.matched} matched`, f.level && `sensitivity: ${levelWords(f.level)}`, decision].filter(Boolean).join(" · ");
    // The bridge tells both ends of a flow: this workbook is its source or its target.
    if (isIncoming(params)) {
      feed.add({ kind: blocked ? "blocked" : "in", title: `Came into this workbook: from ${f.from}${f.location ? ` → ${f.location}` : ""}`, detail });
      return;
    }
    const to = [f.targetName || "another document", f.location].filter(Boolean).join(", ");
    feed.add({ kind: blocked ? "blocked" : "out", title: `Left this workbook: ${f.where || f.sourceName} → ${to}`, detail });
  } else if (method === "approval.request") {
    cards.add(params ?? {});
  } else if (method === "approval.resolved") {
    cards.settle(params ?? {});
  } else if (method === "policy.changed") {
    const p = params?.policy ?? params ?? {};
    if (p.flows_enabled === false) feed.add({ kind: "info", title: "Your administrator turned off transfers between documents" });
  }
}

/** A flow whose target is this workbook (by the document id the bridge gave at register). */
function isIncoming(params) {
  const f = params?.flow ?? params ?? {};
  const mine = client?.session?.document_id;
  const target = f.target && typeof f.target === "object" ? f.target.id : undefined;
  const source = f.source && typeof f.source === "object" ? f.source.id : undefined;
  return Boolean(mine) && target === mine && source !== mine;
}

export function errorWords(e) {
  if (!e) return "unknown error";
  if (e.code === -32601) return "this version of office-bridge cannot do that yet";
  if (e.code === -32002) return "disabled by your administrator";
  return e.message || String(e);
}

main();
