// Small DOM helpers shared by the panes. Text from documents, cell values and anything the
// bridge sends is untrusted: it only ever reaches the page through textContent/attributes.

import { NOT_RUNNING, STATES } from "./client.js";

/** h("p", {class: "x"}, "text", childNode) - strings become text nodes, never HTML. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const STATE_TEXT = {
  [STATES.CONNECTING]: "Connecting to office-bridge…",
  [STATES.CONNECTED]: "Connected to office-bridge",
  [STATES.RECONNECTING]: "Reconnecting to office-bridge…",
  [STATES.DISABLED]: "Disabled by your administrator",
  [STATES.SUPERSEDED]: "Connected from another window",
  [STATES.PLAYGROUND_OFF]: "The playground is off: start office-bridge with `office-bridge serve --playground`",
  [STATES.STOPPED]: "Not connected",
};

/** The status line's detail: why, and a live "Retrying in 9 s" while a retry is due. */
export function statusDetail(client, now = Date.now()) {
  if (client.state === STATES.CONNECTED) return "";
  const why = client.stateDetail && client.stateDetail !== NOT_RUNNING ? client.stateDetail : "";
  const retry = client.state === STATES.RECONNECTING && client.retryAt ? `Retrying in ${Math.max(1, Math.ceil((client.retryAt - now) / 1000))} s` : "";
  return [why, retry].filter(Boolean).join(". ");
}

/** The status line's words: "office-bridge is not running: …" when nothing answers. */
export function statusText(client) {
  if (client.state === STATES.RECONNECTING && client.notRunning) return NOT_RUNNING;
  return STATE_TEXT[client.state] ?? client.state;
}

/** Wires the status line, the disabled banner and the Retry button to a BridgeClient. */
export function bindStatus(client, { onState } = {}) {
  const status = document.getElementById("status");
  const text = document.getElementById("status-text");
  const detail = document.getElementById("status-detail");
  const retry = document.getElementById("retry");
  const banner = document.getElementById("disabled-banner");
  retry?.addEventListener("click", () => client.retryNow());
  const render = () => {
    const s = client.state;
    status.dataset.state = s;
    text.textContent = statusText(client);
    detail.textContent = statusDetail(client);
    if (retry) retry.hidden = !(s === STATES.RECONNECTING || s === STATES.SUPERSEDED);
    if (banner) banner.hidden = s !== STATES.DISABLED;
    document.body.classList.toggle("is-disabled", s === STATES.DISABLED);
    const main = document.querySelector("main");
    if (main) main.inert = s === STATES.DISABLED; // out of the tab order too, not just greyed
    document.body.classList.toggle("is-connected", s === STATES.CONNECTED);
    onState?.(s);
  };
  client.addEventListener("state", render);
  // The countdown to the next attempt counts down (the status line is polite: only its
  // state changes are announced, the seconds go in the detail, which is not live).
  setInterval(() => {
    if (client.state === STATES.RECONNECTING) detail.textContent = statusDetail(client);
  }, 1000);
  render();
}

/** A time of day as the panes show it: "14:05:09"; with the date when it is not today. */
export function clockWords(d) {
  const t = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  return d.toDateString() === new Date().toDateString() ? t : `${d.toLocaleDateString()} ${t}`;
}

/**
 * A cell reference as Excel writes it: the sheet name quoted when it is not a plain name
 * ("'Q3 data'!B2", "Revenue!B2"; a quote inside is doubled), the address after "!".
 */
export function sheetRef(sheet, address = "") {
  const name = String(sheet ?? "");
  const addr = String(address ?? "");
  if (!name) return addr;
  const plain = /^[A-Za-z_\u00C0-\uFFFF][A-Za-z0-9_.\u00C0-\uFFFF]*$/.test(name) && !/^[A-Za-z]{1,3}[0-9]+$/.test(name) && !/^[Rr]([0-9]*[Cc][0-9]*)?$|^[Cc][0-9]*$/.test(name);
  const quoted = plain ? name : `'${name.replace(/'/g, "''")}'`;
  return addr ? `${quoted}!${addr}` : quoted;
}

/** Shows an error that stops the pane (no Office, wrong host) in words. */
export function fatal(message) {
  const status = document.getElementById("status");
  if (status) status.dataset.state = "error";
  const text = document.getElementById("status-text");
  if (text) text.textContent = "The pane cannot start";
  const detail = document.getElementById("status-detail");
  if (detail) detail.textContent = message;
}

/**
 * A live list, newest first, capped. `add` returns the entry's element; `update` rewrites an
 * entry in place (a transfer's line as it goes from held to its outcome), keeping its place
 * and its time; `has` says whether an entry is still shown (the cap drops the oldest).
 */
export class Feed {
  constructor(listEl, emptyEl, max = 50) {
    this.list = listEl;
    this.empty = emptyEl;
    this.max = max;
    this.parts = new WeakMap(); // li -> {title, detail}
  }
  add({ title, detail, kind = "info", time = new Date() }) {
    const when = time instanceof Date ? time : new Date(Number(time) || Date.now());
    const titleEl = h("div", { class: "feed-title" }, title);
    const detailEl = h("div", { class: "feed-detail", hidden: !detail }, detail || "");
    const li = h(
      "li",
      { class: `feed-item feed-${kind}`, "data-at": String(when.getTime()) },
      h("span", { class: "feed-icon", "aria-hidden": "true" }),
      h(
        "div",
        { class: "feed-body" },
        titleEl,
        detailEl,
        h("time", { class: "feed-time", datetime: when.toISOString() }, clockWords(when)),
      ),
    );
    this.parts.set(li, { title: titleEl, detail: detailEl });
    // Newest first: an entry from the past (a transfer the bridge lists after a reload)
    // takes its place by time, not the top.
    const before = [...this.list.children].find((o) => Number(o.getAttribute?.("data-at") ?? 0) <= when.getTime());
    if (before) this.list.insertBefore(li, before);
    else this.list.append(li);
    while (this.list.children.length > this.max) this.list.lastElementChild.remove();
    if (this.empty) this.empty.hidden = true;
    return li;
  }
  has(li) {
    return Boolean(li) && li.parentNode === this.list;
  }
  /** Rewrites an entry still shown; false when it is gone (the caller adds a new one). */
  update(li, { title, detail, kind = "info" }) {
    const p = this.parts.get(li);
    if (!p || !this.has(li)) return false;
    li.className = `feed-item feed-${kind}`;
    p.title.textContent = title;
    p.detail.textContent = detail || "";
    p.detail.hidden = !detail;
    return true;
  }
}

/**
 * Reads a flow summary as the bridge sends it (docs/events.md, "flow"): a `flow.notice`'s
 * params, a `/v1/flows`, `flows_recent` or `flow.list` row, an approval's `flow`; or a
 * message that carries one in `flow` (the `flow` event, an approval). The shape is the
 * bridge's only (tests/addins/flow-contract.e2e.test.js holds it to the real payloads);
 * a field missing or of another type reads as "", never throws.
 */
export function describeFlow(raw) {
  const f = obj(raw?.flow ?? raw);
  const sourceName = str(obj(f.source).name) || "another document";
  const where = str(f.sheet) ? sheetRef(str(f.sheet), str(f.cells)) : str(f.cells);
  const targetName = str(obj(f.target).name);
  const matched = typeof f.matched === "number" && Number.isFinite(f.matched) ? `${f.matched} value${f.matched === 1 ? "" : "s"}` : "";
  return {
    sourceName,
    where,
    from: where ? `${sourceName} > ${where}` : sourceName,
    targetName,
    location: str(f.location),
    // "normal" or "confidential" (levelWords says it in words).
    level: str(f.sensitivity),
    matched,
    decision: str(f.decision),
    reason: str(f.reason),
    // Why, as the bridge decided it (data), in one short line; the sentence when absent.
    why: f.why && typeof f.why === "object" ? f.why : null,
    because: explainWhy(f.why) || str(f.reason),
    strength: str(f.strength),
    // Copied by reference (from_range, a chart) or found in what the agent wrote.
    how: f.explicit === true ? "copied from the workbook" : f.explicit === false ? "found in what the agent wrote" : "",
  };
}

/** Who said data is sensitive, from a decision's `why.sensitivity.origin`. */
function originWords(origin) {
  switch (origin?.by) {
    case "person":
      return "marked by you";
    case "admin_rule":
      return `your administrator's rule "${str(origin.pattern)}"`;
    case "purview":
      return `Purview label "${str(origin.label)}"`;
    case "label_unknown":
      return "its sensitivity label could not be read";
    default:
      return "";
  }
}

/**
 * A decision's why (the bridge's `DecisionWhy`: rule, policy, sensitivity, choice,
 * uncertain) in one short line; "" when there is none. Rendered from the data, so nothing
 * depends on the wording of the bridge's sentence.
 */
export function explainWhy(why) {
  if (!why || typeof why !== "object") return "";
  const confidential = String(why.sensitivity?.level ?? "") === "confidential";
  const origin = confidential ? originWords(why.sensitivity?.origin) : "";
  const kind = confidential ? `confidential data${origin ? ` (${origin})` : ""}` : "data moving between documents";
  const choice = why.choice === "always_block" ? "you chose to always block this pair" : why.choice === "always_allow" ? "you chose to always allow this pair" : "";
  const join = (...parts) => parts.filter(Boolean).join("; ");
  switch (why.rule) {
    case "same_document":
      return "It stays within the same document";
    case "transfers_off":
      return why.uncertain ? "Cross-app transfers are switched off; the match is uncertain, so it is only shown" : "Cross-app transfers are switched off by your administrator";
    case "deletion_policy":
      return { allow: "Your administrator allows deletions", notify: "Your administrator allows deletions", ask: "Your administrator requires approval for deletions", block: "Your administrator blocks deletions" }[why.policy] ?? "";
    case "after_flagged_instructions":
      return (
        {
          allow: "The agent read text that looks like instructions aimed at it; your administrator allows writes after that",
          notify: "The agent read text that looks like instructions aimed at it; your administrator allows writes after that and asks that you be told",
          ask: "The agent read text that looks like instructions aimed at it; your administrator requires approval for writes after that",
          block: "The agent read text that looks like instructions aimed at it; your administrator blocks writes after that",
        }[why.policy] ?? ""
      );
    case "admin_policy": {
      const policy =
        {
          allow: `Your administrator allows ${kind}`,
          notify: `Your administrator allows ${kind} and asks that you be told`,
          ask: `Your administrator requires approval for ${kind}`,
          block: `Your administrator blocks ${kind}`,
        }[why.policy] ?? "";
      return join(policy, choice, why.uncertain ? "the match is uncertain, so it is only shown" : "");
    }
    default:
      return "";
  }
}

/**
 * Reads a held approval: an `approval.request` (also each item of `approval.list` and of
 * `GET /v1/approvals`), where `held` is {kind: "flow", flow}, {kind: "deletion", what} or
 * {kind: "after_instructions"} (a whole write held because the agent read instruction-like
 * text) beside the flow summary in `flow`; or the `approval_requested` event, where `kind` and
 * `flow` or `what` are the message's own fields. `subject` names it in the feed ("content
 * from Q3.xlsx > Revenue!B2:D5", "delete slide 3 from Deck.pptx").
 */
export function describeApproval(req) {
  const r = obj(req);
  const held = r.held && typeof r.held === "object" ? r.held : r;
  // A deletion's why and reason are in `flow` (approval.request, /v1/approvals) or, on the
  // approval_requested event, beside its kind and what.
  const raw = r.flow ?? (held.kind === "flow" ? held.flow : held.kind === "deletion" || held.kind === "after_instructions" ? held : undefined);
  const flow = describeFlow(raw);
  if (held.kind === "after_instructions") {
    // Like a deletion it has no source to remember a choice for: allow once or block. The
    // reason names what was read and where, which the person needs to judge it.
    const doc = str(obj(r.target).name) || "this document";
    const reason = str(obj(raw).reason);
    return {
      deletion: true,
      what: "",
      flow: { ...flow, because: reason ? reason.charAt(0).toUpperCase() + reason.slice(1) : flow.because },
      subject: `write to ${doc} after the agent read instruction-like text`,
      title: `Let the agent write to ${doc}? It read text that looks like instructions aimed at it`,
    };
  }
  if (held.kind === "deletion") {
    const what = str(held.what) || "something";
    const doc = str(obj(r.target).name) || "this document";
    return { deletion: true, what, flow, subject: `delete ${what} from ${doc}`, title: `Delete ${what} from ${doc}?` };
  }
  return { deletion: false, what: "", flow, subject: `content from ${flow.from}`, title: `Content from ${flow.sourceName}` };
}

/** A sensitivity level in words: the bridge sends "normal" or "confidential"; labels pass through. */
export function levelWords(level) {
  const l = String(level ?? "").trim();
  if (!l) return "not labelled";
  if (l.toLowerCase() === "normal") return "not marked sensitive";
  if (l.toLowerCase() === "confidential") return "Confidential";
  return l;
}

/** An object (an array too: its fields read as missing), or {} for anything else. */
function obj(v) {
  return v && typeof v === "object" ? v : {};
}

function str(v) {
  if (v === undefined || v === null) return "";
  if (typeof v === "object") return "";
  return String(v).slice(0, 500);
}

export function sensitivityClass(level) {
  const l = String(level ?? "").toLowerCase();
  if (/highly|secret|restricted/.test(l)) return "sens-high";
  if (/confidential/.test(l)) return "sens-conf";
  if (/internal|general/.test(l)) return "sens-internal";
  return "sens-none";
}

export function formatCountdown(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, "0")}`;
}

export function decisionWords(decision) {
  switch (String(decision ?? "").toLowerCase()) {
    case "allow":
    case "allowed":
      return "allowed";
    case "notify":
    case "notified":
      return "allowed, you were notified";
    case "ask":
    case "held":
    case "pending":
      return "waiting for approval";
    case "block":
    case "blocked":
    case "deny":
    case "denied":
      return "blocked";
    default:
      return String(decision ?? "");
  }
}

export function cellCount(values) {
  if (!Array.isArray(values)) return 0;
  return values.reduce((n, r) => n + (Array.isArray(r) ? r.length : 0), 0);
}
