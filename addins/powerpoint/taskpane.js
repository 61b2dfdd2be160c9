// The PowerPoint task pane: connects to office-bridge, serves the bridge's PowerPoint
// operations, lists incoming content with its source and asks the person about held transfers.

import { BridgeClient, STATES, bridgeUrl, supportedSets } from "../shared/client.js";
import { loadOffice } from "../shared/office-host.js";
import { ApprovalCards } from "../shared/approvals.js";
import { Feed, bindStatus, decisionWords, describeFlow, fatal, levelWords } from "../shared/ui.js";
import { createPowerPointOperations, powerpointDocumentInfo } from "./operations.js";

export const ADDIN_VERSION = "0.1.0";

const $ = (id) => document.getElementById(id);
const feed = new Feed($("feed"), $("feed-empty"));
let client = null;
const cards = new ApprovalCards({
  host: "powerpoint",
  list: $("approvals"),
  empty: $("approvals-empty"),
  heading: $("approvals-h"),
  feed,
  decide: (id, decision, scope) => client.decideApproval(id, decision, scope),
  connected: () => client?.state === STATES.CONNECTED,
});

async function main() {
  try {
    await loadOffice("PowerPoint");
  } catch (e) {
    fatal(e.message);
    return;
  }
  const { Office, PowerPoint } = globalThis;
  client = new BridgeClient({
    url: bridgeUrl(),
    app: "powerpoint",
    addinVersion: ADDIN_VERSION,
    getDocument: () => powerpointDocumentInfo({ Office }),
    getCapabilities: () => supportedSets(Office, "powerpoint"),
    operations: createPowerPointOperations({ PowerPoint, Office }),
  });
  bindStatus(client, { onState: (s) => cards.setEnabled(s === STATES.CONNECTED) });
  client.addEventListener("registered", () => {
    $("doc-name").textContent = client.documentInfo?.name || "Untitled presentation";
  });
  powerpointDocumentInfo({ Office }).then((d) => ($("doc-name").textContent = d.name));
  client.addEventListener("served", (ev) => onServed(ev.detail));
  client.addEventListener("notification", (ev) => onNotification(ev.detail));
  setInterval(() => cards.tick(), 1000);
  client.start();
}

const WRITES = {
  "powerpoint.addTextBox": (p) => `The agent added text to slide ${p.slide}`,
  "powerpoint.addTable": (p) => `The agent added a table to slide ${p.slide}`,
  "powerpoint.insertImage": (p) => `The agent inserted a picture on slide ${p.slide}`,
  "powerpoint.addSlide": (_p, r) => `The agent added slide ${r.index}`,
  "powerpoint.deleteSlide": (p) => `The agent deleted slide ${p.slide}`,
};

function onServed({ method, params, result, error }) {
  if (error) {
    if (method.startsWith("powerpoint.") && WRITES[method]) {
      feed.add({ kind: "error", title: `The agent's change failed (${method.replace("powerpoint.", "")})`, detail: error.message });
    }
    return;
  }
  const words = WRITES[method];
  if (!words) return;
  let detail = "";
  if (method === "powerpoint.addTextBox") detail = preview(params.text);
  if (method === "powerpoint.addTable") detail = `${params.rows.length} row(s): ${preview(params.rows[0].join(" | "))}`;
  feed.add({ kind: method === "powerpoint.deleteSlide" ? "blocked" : "info", title: words(params, result), detail });
}

function preview(text) {
  const t = String(text ?? "").replace(/\s+/g, " ").trim();
  return t.length > 80 ? `${t.slice(0, 79)}…` : t;
}

function onNotification({ method, params }) {
  if (method === "flow.notice") {
    const f = describeFlow(params);
    const decision = decisionWords(f.decision);
    feed.add({
      kind: /blocked/.test(decision) ? "blocked" : "in",
      title: `from ${f.from}`,
      detail: [f.location && `to ${f.location}`, f.matched && `${f.matched} matched`, f.level && `sensitivity: ${levelWords(f.level)}`, decision].filter(Boolean).join(" · "),
    });
  } else if (method === "approval.request") {
    cards.add(params ?? {});
  } else if (method === "approval.resolved") {
    cards.settle(params ?? {});
  } else if (method === "policy.changed") {
    const p = params?.policy ?? params ?? {};
    if (p.flows_enabled === false) feed.add({ kind: "info", title: "Your administrator turned off transfers between documents" });
  }
}

main();
