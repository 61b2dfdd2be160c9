// The PowerPoint task pane: connects to office-bridge, serves the bridge's PowerPoint
// operations, shows the deck's sensitivity label, lists content that came in (or left) with
// its source, one line per transfer updated until its outcome, and asks the person about
// held transfers.

import { BridgeClient, STATES, bridgeUrl, supportedSets } from "../shared/client.js";
import { loadOffice } from "../shared/office-host.js";
import { ApprovalCards, reconcileApprovals } from "../shared/approvals.js";
import { FlowFeed, flowRole } from "../shared/flows.js";
import { Feed, bindStatus, fatal, sensitivityClass } from "../shared/ui.js";
import { labelSuggestion } from "./suggest.js";
import { purviewLabel } from "../shared/purview.js";
import { createPowerPointOperations, powerpointDocumentInfo } from "./operations.js";

export const ADDIN_VERSION = "0.1.0";

const $ = (id) => document.getElementById(id);
const feed = new Feed($("feed"), $("feed-empty"));
let client = null;
// The deck's Purview label as last read (null: none), and whether the person dismissed the
// suggestion to label it.
const deck = { label: undefined, dismissed: false };
// A deck is usually where data goes; the document ids register gave say for sure.
const flows = new FlowFeed({ feed, noun: "deck", role: (flow) => flowRole(flow, client?.session?.document_id, "target") });
const cards = new ApprovalCards({
  host: "powerpoint",
  list: $("approvals"),
  empty: $("approvals-empty"),
  heading: $("approvals-h"),
  feed,
  decide: (id, decision, scope) => client.decideApproval(id, decision, scope),
  // A held transfer's card ends on the transfer's own line: one entry per transfer.
  told: (c, msg) => c.flowId !== null && flows.has(c.flowId) && (msg ? flows.settled({ ...msg, flow_id: c.flowId }) : true),
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
  const ops = createPowerPointOperations({ PowerPoint, Office });
  client = new BridgeClient({
    url: bridgeUrl(),
    app: "powerpoint",
    addinVersion: ADDIN_VERSION,
    // Running on the Office.js stand-in (the playground): its documents are simulated.
    simulated: Boolean(globalThis.OfficeStandin),
    getDocument: () => powerpointDocumentInfo({ Office }),
    getCapabilities: () => supportedSets(Office, "powerpoint"),
    operations: ops,
  });
  bindStatus(client, { onState: (s) => cards.setEnabled(s === STATES.CONNECTED) });
  // After every register (first connect and each reconnect): the bridge's open approvals.
  client.addEventListener("registered", async () => {
    $("doc-name").textContent = client.documentInfo?.name || "Untitled presentation";
    const reconciled = reconcileApprovals({ listApprovals: () => client.listApprovals(), listFlows: (ids) => client.listFlows(ids), listRecent: () => client.listRecentFlows(50), cards, flows, restarted: client.restarted }).catch(() => {
      /* the connection went again; the next register reconciles */
    });
    await showSensitivity(ops);
    await reconciled;
    suggestLabel();
  });
  $("label-suggestion-dismiss").addEventListener("click", () => {
    deck.dismissed = true;
    $("label-suggestion").hidden = true;
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
  // The bridge tells both ends of a transfer: this deck is usually its target.
  if (method === "flow.notice") {
    flows.notice(params ?? {});
  } else if (method === "flow.outcome") {
    flows.outcome(params ?? {});
    suggestLabel();
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

/** The deck's Purview label, read the way the bridge reads it (powerpoint.getProperties). */
async function showSensitivity(ops) {
  const el = $("doc-sensitivity");
  let text = "No sensitivity label";
  let level = "";
  try {
    const label = purviewLabel((await ops["powerpoint.getProperties"]({})).custom);
    deck.label = label ?? null;
    if (label) [text, level] = [`${label} (sensitivity label)`, label];
  } catch (e) {
    deck.label = undefined; // not known: no suggestion on a guess
    text = e?.code === -32004 ? "Unknown (this version of PowerPoint cannot read labels)" : `Unknown (${e?.message ?? e})`;
  }
  el.textContent = text;
  el.className = `badge ${sensitivityClass(level)}`;
}

/** Confidential data moved into this deck and the deck has no label that says so: suggest
 * labelling it (Office.js cannot apply a label; the person does, in PowerPoint). */
function suggestLabel() {
  if (deck.dismissed) return;
  const docId = client?.session?.document_id;
  const moved = flows.ids().map((id) => flows.state(id)).filter(Boolean).filter((st) => flowRole(st.flow, docId, "target") === "target");
  const words = labelSuggestion({ label: deck.label, moved });
  $("label-suggestion").hidden = !words;
  if (words) $("label-suggestion-text").textContent = words;
}

main();
