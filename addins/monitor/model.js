// The monitor's logic without the DOM: the server-sent-events parser, one row per transfer
// (its words from detection to outcome), the graph of what moved where (and its layout), and
// the policy table's rows. Plain functions, tested with node --test
// (tests/addins/monitor.test.js).

import { describeFlow, levelWords } from "../shared/ui.js";
import { FINAL, KEPT_OUT, lifecycleOf, phaseOf, verbOf } from "../shared/flows.js";

/**
 * Server-sent events (text/event-stream) as the HTML standard parses them: lines end with
 * CRLF, LF or CR; `event:`, `data:` (joined with "\n"), `id:`, `retry:`; lines starting with
 * ":" are comments (keep-alives); a blank line dispatches. Fed with text as it arrives.
 */
export class SseParser {
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.buf = "";
    this.reset();
  }
  reset() {
    this.event = "";
    this.data = [];
  }
  push(chunk) {
    this.buf += chunk;
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buf);
      if (!m) break;
      // A CR at the very end may be the first half of a CRLF split across chunks.
      if (m[0] === "\r" && m.index === this.buf.length - 1) break;
      const line = this.buf.slice(0, m.index);
      this.buf = this.buf.slice(m.index + m[0].length);
      this.line(line);
    }
    // A peer that never ends a line must not grow the buffer forever.
    if (this.buf.length > 4 * 1024 * 1024) this.buf = "";
  }
  line(line) {
    if (line === "") {
      if (this.data.length) this.onEvent({ event: this.event || "message", data: this.data.join("\n") });
      this.reset();
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.event = value;
    else if (field === "data") this.data.push(value);
  }
}

/** Backoff before reconnect attempt `n` (0-based): 1, 2, 4, 8, 16, 30, 30 s... with ±20 % jitter. */
export function backoffMs(n, random = Math.random) {
  const base = Math.min(30000, 1000 * 2 ** Math.min(n, 5));
  return Math.round(base * (0.8 + 0.4 * random()));
}

// ------------------------------------------------------------------ decisions

const RANK = { allow: 0, notify: 1, ask: 2, block: 3 };

/** "allow" | "notify" | "ask" | "block" from the bridge's words (and "denied" etc.). */
export function normDecision(d) {
  const s = String(d ?? "").toLowerCase();
  if (s === "allow" || s === "allowed" || s === "approved") return "allow";
  if (s === "notify" || s === "notified") return "notify";
  if (s === "ask" || s === "held" || s === "pending") return "ask";
  if (s === "block" || s === "blocked" || s === "deny" || s === "denied" || s === "expired") return "block";
  return "allow";
}

export function stricter(a, b) {
  return RANK[normDecision(a)] >= RANK[normDecision(b)] ? normDecision(a) : normDecision(b);
}

export const DECISION_LABEL = { allow: "Allowed", notify: "Allowed, shown to you", ask: "Held for approval", block: "Blocked" };

/** Who or what ended a transfer (decided_by), in the monitor's words. */
export const DECIDED_BY = {
  pane: "answered in the document's pane",
  desktop: "answered on the desktop (this monitor, a notification or the events API)",
  events: "answered on the desktop (this monitor, a notification or the events API)",
  elicitation: "answered in the agent's client",
  timeout: "nobody answered in time",
  bridge: "decided by the bridge",
  policy: "decided by the policy",
  "standing choice": "by a standing choice (always for this document)",
};

// ------------------------------------------------------------------ the events' shapes

/** The flow summary of a `flow` event ({type, at, flow}), with when it was detected. */
export function flowOfEvent(e) {
  return { ...(e?.flow && typeof e.flow === "object" ? e.flow : {}), at: e?.at };
}

/**
 * An approval as `GET /v1/approvals` lists it ({held: {kind, flow | what}, flow}) from
 * either that or the `approval_requested` event, whose `kind` and `flow` or `what` are its
 * own fields (docs/events.md).
 */
export function normaliseApproval(a) {
  if (a?.held && typeof a.held === "object") return a;
  const held =
    a?.kind === "deletion"
      ? { kind: "deletion", what: a.what, why: a.why, reason: a.reason }
      : a?.kind === "after_instructions"
        ? { kind: "after_instructions", why: a.why, reason: a.reason }
        : { kind: "flow", flow: a?.flow };
  return { ...a, held };
}

// ------------------------------------------------------------------ one transfer, one row

/**
 * A transfer's stage from its lifecycle (docs/events.md), as the panes see it (shared/flows.js
 * phaseOf): "held" (pending, decision ask, not answered yet), "writing" (pending otherwise:
 * allowed or approved, the write not done), "moved" (final and written), "failed" (allowed
 * but the write failed), "kept" (denied, expired or blocked: nothing written).
 */
export function stageOf(entry) {
  return phaseOf({ ...entry, lost: false });
}

/**
 * A transfer's row in the feed: {kind, title, detail, badge, decision}. The title is built
 * from the outcome, not taken from the bridge's `line` (written when it was detected: a
 * transfer allowed itself but refused with the rest of its write never "moved into"
 * anything), with the panes' verbs: "Moved into Board.pptx, slide 3: 12 values from Q3.xlsx >
 * Revenue!A1:D4", "Kept out of …", "Waiting to go to …", "Expired, kept out of …".
 */
export function transferRow(entry, { earlier = false } = {}) {
  const f = describeFlow(entry.flow);
  const stage = stageOf(entry);
  const to = [f.targetName || "another document", f.location].filter(Boolean).join(", ");
  const title = `${verbOf({ ...entry, lost: false })} ${to}: ${f.matched || "data"} from ${f.from}`;
  let badge;
  let decision;
  switch (stage) {
    case "held":
      [badge, decision] = ["Waiting for approval", "ask"];
      break;
    case "writing":
      [badge, decision] = [entry.approvedBy !== undefined ? "Approved, being written" : "Being written", "ask"];
      break;
    case "moved":
      [badge, decision] = entry.outcome === "notified" ? ["Moved, shown to you", "notify"] : entry.outcome === "approved" ? ["Approved, moved", "allow"] : ["Moved", "allow"];
      break;
    case "failed":
      [badge, decision] = ["Not written", "block"];
      break;
    default:
      [badge, decision] = [entry.outcome === "denied" ? "Denied" : entry.outcome === "expired" ? "Expired" : "Blocked", "block"];
  }
  const by = entry.decided_by ?? entry.approvedBy;
  const detail = [
    by ? DECIDED_BY[by] ?? String(by) : "",
    entry.reason || f.because,
    stage === "failed" ? "the write failed" : "",
    f.strength && `${f.strength}${f.how ? `, ${f.how}` : ""}`,
    f.level && levelWords(f.level),
    earlier && "before this page opened",
  ]
    .filter(Boolean)
    .join(" · ");
  return { kind: stage === "held" || stage === "writing" ? "held" : stage === "moved" ? "flow" : "blocked", title, detail, badge, decision };
}

// ------------------------------------------------------------------ the graph

export const APP_LABEL = { excel: "Excel", powerpoint: "PowerPoint", file: "File" };

function docKey(d) {
  if (!d || typeof d !== "object") return `?:${String(d ?? "")}`;
  return d.id ? String(d.id) : `${d.app ?? "?"}:${d.name ?? ""}`;
}

/** How an edge is drawn, in words (the legend's and the table's). */
export const EDGE_LABEL = { allow: "Moved", notify: "Moved, shown to you", ask: "Waiting", block: "Kept out" };

/** The three kinds of arrow between two documents, drawn apart: what moved, what is
 * waiting (held, or being written) and what was kept out. */
export const EDGE_KINDS = ["moved", "waiting", "kept"];

/**
 * The transfers the monitor knows, one entry per flow_id with its lifecycle (outcome,
 * written, decided_by, reason), and the graph of what moved where drawn from them.
 */
export class FlowGraph {
  constructor() {
    this.flows = new Map(); // flow_id -> {flow, outcome, written, decided_by, reason, at, approvedBy?}
    this.docs = new Map(); // key -> {app, name, id, seen}
    this.seq = 0;
  }
  static idOf(flow) {
    return flow.flow_id ?? `${docKey(flow.source)}>${docKey(flow.target)}@${flow.at ?? ""}:${flow.location ?? ""}`;
  }
  /**
   * A document seen under a name at `at` (unix ms): the graph shows each document by the
   * newest name it had, so a renamed workbook is one box with its new name.
   */
  noteDocument(d, at = 0) {
    if (!d || typeof d !== "object") return;
    const k = docKey(d);
    const known = this.docs.get(k);
    const name = typeof d.name === "string" && d.name ? d.name : null;
    if (!known) {
      this.docs.set(k, { app: String(d.app ?? ""), name: name ?? "a document", id: d.id ?? null, seen: Number(at) || 0 });
    } else if (name && (Number(at) || 0) >= known.seen) {
      known.name = name;
      known.seen = Number(at) || known.seen;
    }
  }
  /**
   * Adds a flow summary (a `flow` event's `flow` with its `at`, a /v1/flows row, or the flow
   * of an approval); true if it is new. A known one takes what is newer (a final outcome
   * over "pending"; never back to pending).
   */
  add(flow) {
    if (!flow || typeof flow !== "object" || !flow.source || !flow.target) return false;
    const id = FlowGraph.idOf(flow);
    const life = lifecycleOf(flow);
    const known = this.flows.get(id);
    for (const d of [flow.source, flow.target]) this.noteDocument(d, flow.at);
    if (known) {
      known.flow = { ...known.flow, ...flow };
      if (!FINAL.has(known.outcome) && FINAL.has(life.outcome)) Object.assign(known, life);
      if (!known.decided_by && flow.decided_by) known.decided_by = String(flow.decided_by);
      return false;
    }
    this.flows.set(id, { flow, ...life, decided_by: typeof flow.decided_by === "string" ? flow.decided_by : life.decided_by, at: Number(flow.at) || 0, n: ++this.seq });
    return true;
  }
  entry(id) {
    return this.flows.get(id) ?? null;
  }
  has(id) {
    return this.flows.has(id);
  }
  /** A `flow_outcome` event: the transfer's final outcome. False for an unknown transfer. */
  outcome(e) {
    const f = this.flows.get(e?.flow_id);
    if (!f) return false;
    const outcome = typeof e.outcome === "string" ? e.outcome : f.outcome;
    Object.assign(f, {
      outcome,
      written: KEPT_OUT.has(outcome) ? false : typeof e.written === "boolean" ? e.written : f.written,
      decided_by: typeof e.decided_by === "string" ? e.decided_by : null,
      reason: typeof e.reason === "string" ? e.reason : "",
    });
    return true;
  }
  /** The approval of flow `id` ended ("allowed", "denied" or "expired"): allowed is still
   * being written (flow_outcome says how that ended); denied and expired wrote nothing. */
  resolve(id, state, decidedBy = null, reason = "") {
    const f = this.flows.get(id);
    if (!f || FINAL.has(f.outcome)) return false;
    if (state === "allowed") f.approvedBy = decidedBy;
    else Object.assign(f, { outcome: state === "expired" ? "expired" : "denied", written: false, decided_by: decidedBy, reason: reason || "" });
    return true;
  }
  get size() {
    return this.flows.size;
  }
  /**
   * What went between each (source, target) pair, by what happened to it: {key, source,
   * target, count (transfers), moved, kept, pending (transfers of each kind), values
   * (values written), keptValues, pendingValues, latestMoved}. A transfer kept out (or
   * still waiting) moved nothing, so its values are never counted as moved.
   */
  pairs() {
    const pairs = new Map();
    const ordered = [...this.flows.values()].sort((a, b) => a.at - b.at || a.n - b.n);
    for (const entry of ordered) {
      const { flow } = entry;
      const s = docKey(flow.source);
      const t = docKey(flow.target);
      const key = `${s}\u0000${t}`;
      let p = pairs.get(key);
      if (!p) {
        p = { key, source: s, target: t, count: 0, moved: 0, kept: 0, pending: 0, values: 0, keptValues: 0, pendingValues: 0, latestMoved: null };
        pairs.set(key, p);
      }
      p.count += 1;
      const n = Number(flow.matched) > 0 ? Number(flow.matched) : 0;
      const stage = stageOf(entry);
      if (stage === "moved") {
        p.moved += 1;
        p.values += n;
        p.latestMoved = entry.outcome;
      } else if (stage === "held" || stage === "writing") {
        p.pending += 1;
        p.pendingValues += n;
      } else {
        p.kept += 1;
        p.keptValues += n;
      }
    }
    return [...pairs.values()];
  }
  /**
   * The arrows: one per pair and kind of outcome, so what moved and what was kept out are
   * drawn apart, each coloured by its outcome: "moved" green (blue when the latest transfer
   * that moved was shown to the person), "waiting" amber, "kept" red and dashed. `values`
   * is the values of that kind, `count` its transfers; `decision` its colour.
   */
  edges() {
    const out = [];
    for (const p of this.pairs()) {
      const base = { pair: p.key, source: p.source, target: p.target };
      if (p.moved) out.push({ ...base, key: `${p.key}\u0000moved`, kind: "moved", values: p.values, count: p.moved, decision: p.latestMoved === "notified" ? "notify" : "allow" });
      if (p.pending) out.push({ ...base, key: `${p.key}\u0000waiting`, kind: "waiting", values: p.pendingValues, count: p.pending, decision: "ask" });
      if (p.kept) out.push({ ...base, key: `${p.key}\u0000kept`, kind: "kept", values: p.keptValues, count: p.kept, decision: "block" });
    }
    return out;
  }
  nodes() {
    return [...this.docs.entries()].map(([key, d]) => ({ key, ...d }));
  }
}

const KIND_WORDS = { moved: "moved", waiting: "waiting", kept: "kept out" };

/** One arrow in words: "16 values moved (2 transfers)", "12 values kept out (1 transfer)". */
export function edgeWords(e) {
  return `${plural(e.values, "value")} ${KIND_WORDS[e.kind] ?? ""} (${plural(e.count, "transfer")})`;
}

/** A pair's label on the graph: what moved, then what was kept out or is waiting. */
export function pairLabel(p) {
  const parts = [];
  if (p.moved) parts.push(`${plural(p.values, "value")} moved`);
  if (p.kept) parts.push(`${p.keptValues} kept out`);
  if (p.pending) parts.push(`${p.pendingValues} waiting`);
  return parts.join(" · ") || "nothing moved";
}

const NODE_W = 200;
const NODE_H = 44;
const GAP = 18;
const PAD = 14;

/**
 * A deterministic layout: documents that only gave data on the left, documents that only
 * received on the right, documents that did both in the middle; each column sorted by app
 * then name. Edges are horizontal cubic curves from the source's right side to the target's
 * left side (between two middle documents, a loop on the right), with an arrowhead at the
 * target and a stroke from 2 to 10 units by the square root of the values moved.
 */
export function layout(graph, width = 760) {
  const edges = graph.edges();
  const role = new Map();
  for (const e of edges) {
    role.set(e.source, (role.get(e.source) ?? 0) | 1);
    role.set(e.target, (role.get(e.target) ?? 0) | 2);
  }
  const byName = (a, b) => (a.app || "").localeCompare(b.app || "") || a.name.localeCompare(b.name) || a.key.localeCompare(b.key);
  const nodes = graph.nodes().filter((n) => role.has(n.key)).sort(byName);
  const cols = { 1: [], 3: [], 2: [] };
  for (const n of nodes) cols[role.get(n.key)].push(n);
  const hasMiddle = cols[3].length > 0;
  const w = hasMiddle ? Math.min(NODE_W, Math.floor((width - 2 * PAD - 2 * 90) / 3)) : Math.min(NODE_W, Math.floor((width - 2 * PAD - 120) / 2));
  const x = { 1: PAD, 3: Math.round((width - w) / 2), 2: width - PAD - w };
  const rows = Math.max(1, cols[1].length, cols[2].length, cols[3].length);
  const height = 2 * PAD + rows * NODE_H + (rows - 1) * GAP + 8;
  const placed = new Map();
  for (const c of [1, 3, 2]) {
    const list = cols[c];
    // Centre shorter columns against the tallest.
    const offset = ((rows - list.length) * (NODE_H + GAP)) / 2;
    list.forEach((n, i) => placed.set(n.key, { ...n, col: c, x: x[c], y: Math.round(PAD + offset + i * (NODE_H + GAP)), w, h: NODE_H }));
  }
  const max = Math.max(1, ...edges.map((e) => e.values));
  // The arrows of one pair side by side, a few units apart (moved on top, then waiting,
  // then kept out), so a blocked transfer never paints over data that moved.
  const byPair = new Map();
  for (const e of edges) byPair.set(e.pair, [...(byPair.get(e.pair) ?? []), e]);
  const SPREAD = 12;
  const laid = edges
    .map((e) => {
      const s = placed.get(e.source);
      const t = placed.get(e.target);
      const siblings = byPair.get(e.pair);
      const i = siblings.indexOf(e);
      const off = (i - (siblings.length - 1) / 2) * SPREAD;
      const stroke = Math.round((2 + 6 * Math.sqrt(e.values / max)) * 10) / 10;
      const head = Math.max(8, stroke * 1.4);
      const sy = s.y + s.h / 2 + off;
      const ty = t.y + t.h / 2 + off;
      let d, label, arrow;
      if (t.x > s.x) {
        const x1 = s.x + s.w;
        const x2 = t.x - head;
        const dx = Math.max(30, (x2 - x1) / 2);
        d = `M${x1} ${sy} C${x1 + dx} ${sy} ${x2 - dx} ${ty} ${x2} ${ty}`;
        arrow = `M${x2} ${ty - head / 1.6} L${t.x} ${ty} L${x2} ${ty + head / 1.6} Z`;
        label = { x: (x1 + x2) / 2, y: (sy + ty) / 2 };
      } else {
        // Same column (middle to middle, or a document into itself): a loop on the right.
        const x1 = s.x + s.w;
        const x2 = t.x + t.w + head;
        const a = s === t ? sy - 8 : sy;
        const b = s === t ? ty + 8 : ty;
        const bulge = 60 + Math.abs(ty - sy) / 4 + i * SPREAD;
        d = `M${x1} ${a} C${x1 + bulge} ${a} ${x2 + bulge} ${b} ${x2} ${b}`;
        arrow = `M${x2} ${b - head / 1.6} L${t.x + t.w} ${b} L${x2} ${b + head / 1.6} Z`;
        label = { x: x1 + bulge * 0.75, y: (a + b) / 2 };
      }
      return { ...e, from: s, to: t, stroke, d, arrow, label };
    })
    .sort((a, b) => a.key.localeCompare(b.key));
  // One label per pair, above its top arrow.
  const labels = graph.pairs().map((p) => {
    const top = laid.filter((e) => e.pair === p.key).sort((a, b) => a.label.y - b.label.y)[0];
    return { pair: p.key, source: p.source, target: p.target, x: top.label.x, y: top.label.y - top.stroke / 2 - 4, text: pairLabel(p) };
  });
  return { width, height, nodes: [...placed.values()], edges: laid, labels };
}

export function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

// ------------------------------------------------------------------ policy

const POLICY_LABEL = {
  "addins.excel.enabled": "Excel add-in",
  "addins.powerpoint.enabled": "PowerPoint add-in",
  "flows.enabled": "Transfers between documents",
  "flows.default": "A transfer, by default",
  "flows.confidential": "A transfer of confidential data",
  "flows.after_flagged_instructions": "A write after the agent read instruction-like text",
  deletions: "Deleting a sheet or slide",
  "sensitivity.confidential_documents": "Confidential documents",
  "sensitivity.confidential_sheets": "Confidential sheets",
  "audit.forward": "Audit records sent to",
  "audit.ca_file": "Trusted for the audit collectors",
  approval_timeout_seconds: "Time to answer an approval",
  agent_client_may_approve: "The agent's app may ask you to approve",
};

const ACTION_WORDS = { allow: "allowed", notify: "allowed, and you are told", ask: "held for your approval", block: "blocked" };

/** A policy value in words. */
export function policyValueWords(path, value) {
  // /v1/policy gives values as the text `admin status` prints ("true", "120", "(none)").
  if (value === "true" || value === "false") value = value === "true";
  else if (path === "approval_timeout_seconds" && /^\d+$/.test(String(value))) value = Number(value);
  else if (value === "(none)") value = [];
  if (typeof value === "boolean" && path === "agent_client_may_approve") {
    return value ? "yes" : "no: only the document's pane and this desktop";
  }
  if (typeof value === "boolean") return path.endsWith("enabled") ? (value ? "on" : "off") : String(value);
  if (Array.isArray(value)) return value.length ? value.map(String).join(", ") : "none";
  if (path === "approval_timeout_seconds" && typeof value === "number") return `${value} s, then denied`;
  if (typeof value === "string" && ACTION_WORDS[value]) return ACTION_WORDS[value];
  if (value === null || value === undefined) return "—";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function flatten(obj, prefix = "", out = []) {
  for (const [k, v] of Object.entries(obj ?? {})) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === "object" && !Array.isArray(v)) flatten(v, path, out);
    else out.push({ path, value: v, source: null });
  }
  return out;
}

/**
 * The rows of the policy table from `GET /v1/policy`: its `values` (path, value, source)
 * when present, else the `policy` object flattened (source unknown).
 */
export function policyRows(resp) {
  const values = Array.isArray(resp?.values) && resp.values.length ? resp.values : flatten(resp?.policy);
  return values
    .filter((v) => v && typeof v.path === "string")
    .map((v) => ({
      path: v.path,
      label: POLICY_LABEL[v.path] ?? v.path,
      value: policyValueWords(v.path, v.value),
      raw: v.value,
      source: v.source === "file" ? "policy file" : v.source === "default" ? "default" : v.source ? String(v.source) : "",
    }));
}
