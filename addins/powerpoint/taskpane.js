// The PowerPoint task pane: connects to office-bridge, serves the bridge's PowerPoint
// operations, lists incoming content with its source and asks the person about held transfers.

import { BridgeClient, STATES, bridgeUrl, supportedSets } from "../shared/client.js";
import { loadOffice } from "../shared/office-host.js";
import { Feed, bindStatus, decisionWords, describeApproval, describeFlow, fatal, formatCountdown, h, levelWords, sensitivityClass } from "../shared/ui.js";
import { createPowerPointOperations, powerpointDocumentInfo } from "./operations.js";

export const ADDIN_VERSION = "0.1.0";

const $ = (id) => document.getElementById(id);
const feed = new Feed($("feed"), $("feed-empty"));
const cards = new Map(); // approval_id -> {el, expiresAt, countdown, message, subject, location}
let client = null;

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
  bindStatus(client, {
    onState: (s) => {
      for (const c of cards.values()) c.el.querySelectorAll("button").forEach((b) => (b.disabled = s !== STATES.CONNECTED));
    },
  });
  client.addEventListener("registered", () => {
    $("doc-name").textContent = client.documentInfo?.name || "Untitled presentation";
  });
  powerpointDocumentInfo({ Office }).then((d) => ($("doc-name").textContent = d.name));
  client.addEventListener("served", (ev) => onServed(ev.detail));
  client.addEventListener("notification", (ev) => onNotification(ev.detail));
  setInterval(tick, 1000);
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
    addCard(params ?? {});
  } else if (method === "approval.resolved") {
    settleCard(params ?? {});
  } else if (method === "policy.changed") {
    const p = params?.policy ?? params ?? {};
    if (p.flows_enabled === false) feed.add({ kind: "info", title: "Your administrator turned off transfers between documents" });
  }
}

export function addCard(req) {
  const id = typeof req.approval_id === "string" ? req.approval_id : String(req.approval_id ?? "");
  if (!id || cards.has(id)) return;
  const a = describeApproval(req);
  const f = a.flow;
  const expiresAt = Number(req.expires_at) || Date.now() + 120000;
  const countdown = h("strong", {}, formatCountdown(expiresAt - Date.now()));
  const message = h("p", { class: "message", role: "status" });
  const titleId = `card-${cards.size}-${Date.now()}`;
  const button = (label, cls, decision, scope, aria) =>
    h("button", { type: "button", class: cls, "aria-label": aria, onclick: () => decide(id, decision, scope) }, label);
  const details = a.deletion
    ? [f.reason ? [h("dt", {}, "Why held"), h("dd", {}, f.reason)] : null]
    : [
        f.where ? [h("dt", {}, "From"), h("dd", {}, f.where)] : null,
        f.matched ? [h("dt", {}, "What"), h("dd", {}, `${f.matched} matched${f.how ? ` (${f.how})` : ""}`)] : null,
        [h("dt", {}, "Sensitivity"), h("dd", {}, h("span", { class: `badge ${sensitivityClass(f.level)}` }, levelWords(f.level)))],
        f.location ? [h("dt", {}, "Going to"), h("dd", {}, f.location)] : null,
        f.reason ? [h("dt", {}, "Why held"), h("dd", {}, f.reason)] : null,
      ];
  // A deletion has no source to remember a standing choice for: allow once or block.
  const actions = a.deletion
    ? [button("Allow once", "primary", "allow", "once", `Allow once: ${a.subject}`), button("Block", "danger", "deny", "once", `Block: ${a.subject}`)]
    : [
        button("Allow once", "primary", "allow", "once", `Allow once: content from ${f.from}`),
        button("Always for this deck", "", "allow", "document", `Always allow content from ${f.sourceName} in this deck`),
        button("Block", "danger", "deny", "once", `Block content from ${f.from}`),
      ];
  const el = h(
    "article",
    { class: "card", "aria-labelledby": titleId },
    h("h3", { id: titleId }, a.title),
    h("dl", {}, ...details),
    h("p", { class: "countdown" }, "Blocked automatically in ", countdown),
    h("div", { class: "actions" }, ...actions),
    message,
  );
  cards.set(id, { el, expiresAt, countdown, message, subject: a.subject, location: a.deletion ? "" : f.location });
  $("approvals").prepend(el);
  $("approvals-empty").hidden = true;
  // No focus() here: moving focus into the pane would take the keyboard away from the
  // person's slide. The region is aria-live, so screen readers announce the card.
}

async function decide(id, decision, scope) {
  const c = cards.get(id);
  if (!c) return;
  const buttons = [...c.el.querySelectorAll("button")];
  buttons.forEach((b) => (b.disabled = true));
  c.message.className = "message";
  c.message.textContent = "Sending your answer…";
  try {
    await client.decideApproval(id, decision, scope);
    removeCard(id);
    const words = decision === "deny" ? "You blocked" : scope === "document" ? "You allowed (always for this deck)" : "You allowed once";
    feed.add({ kind: decision === "deny" ? "blocked" : "ok", title: `${words}: ${c.subject}`, detail: c.location });
  } catch (e) {
    if (isGone(e)) {
      // Answered on the desktop (monitor, notification) or from the agent's client first,
      // or already expired: there is nothing left to answer here.
      removeCard(id);
      feed.add({ kind: "info", title: `Already answered elsewhere, or expired: ${c.subject}`, detail: c.location });
      return;
    }
    c.message.className = "message error";
    c.message.textContent = `Your answer was not recorded: ${e?.message ?? e}. Try again.`;
    buttons.forEach((b) => (b.disabled = client.state !== STATES.CONNECTED));
  }
}

/** The bridge's answer to approval.decide for an approval it no longer holds (-32602). */
function isGone(e) {
  return e?.code === -32602 && /no pending approval/i.test(String(e?.message ?? ""));
}

/** The bridge settled an approval (answered here, on the desktop, by the agent's client, or
 * expired): drop its card and say how it ended, unless this pane's own answer already did. */
export function settleCard(msg) {
  const id = String(msg.approval_id ?? "");
  const c = cards.get(id);
  if (!c) return;
  removeCard(id);
  const where = { events: " on the desktop", elicitation: " in the agent's app", pane: "", timeout: "", bridge: "" }[msg.decided_by] ?? "";
  const words =
    msg.state === "allowed" ? `Allowed${where}` : msg.state === "expired" ? "Not answered in time, blocked" : `Blocked${where}`;
  feed.add({ kind: msg.state === "allowed" ? "ok" : "blocked", title: `${words}: ${c.subject}`, detail: c.location });
}

function removeCard(id) {
  const c = cards.get(id);
  if (!c) return;
  c.el.remove();
  cards.delete(id);
  $("approvals-empty").hidden = cards.size > 0;
}

function tick() {
  const now = Date.now();
  for (const [id, c] of cards) {
    const left = c.expiresAt - now;
    if (left <= 0) {
      removeCard(id);
      feed.add({ kind: "blocked", title: `Not answered in time, blocked: ${c.subject}`, detail: c.location });
    } else {
      c.countdown.textContent = formatCountdown(left);
    }
  }
}

main();
