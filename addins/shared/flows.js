// A transfer's line in a pane's activity feed, from detection to its outcome. The bridge tells
// the panes of both ends of a transfer (docs/addin-protocol.md, "One lifecycle per transfer"):
// `flow.notice` when it is detected (outcome "pending", or already final when it was blocked
// outright), `flow.outcome` once when it becomes final, and for a held one `approval.request`
// and `approval.resolved` in between. All of these carry the transfer's `flow_id`, so a pane
// shows ONE line per transfer and rewrites it in place: "Waiting to go to Board.pptx, slide 3"
// becomes "Moved into Board.pptx, slide 3 … approved in the pane of Board.pptx" or "Kept out
// of Board.pptx, slide 3 … blocked by the policy", never a second line beside a stale
// "waiting" one.
//
// The words are plain functions (tested without a DOM); FlowFeed keeps the lines.

import { describeFlow, levelWords } from "./ui.js";

/** Outcomes after which nothing changes any more. */
export const FINAL = new Set(["allowed", "notified", "approved", "denied", "expired", "blocked"]);
/** Final outcomes that kept the data out: nothing was written. */
export const KEPT_OUT = new Set(["denied", "expired", "blocked"]);

const str = (v) => (typeof v === "string" ? v.slice(0, 500) : "");
const obj = (v) => (v && typeof v === "object" ? v : {});

/**
 * The lifecycle fields of a flow summary (a flow.notice's params, a /v1/flows or flow.list
 * row: `outcome`, `written`, `decided_by` are its own fields), tolerating an older bridge
 * that sent no `outcome`: then the decision says it (ask: pending; block: blocked, nothing
 * written; allow and notify: allowed, whether it was written not said).
 */
export function lifecycleOf(summary) {
  const f = obj(summary);
  let outcome = str(f.outcome);
  let written = typeof f.written === "boolean" ? f.written : null;
  if (!outcome) {
    const d = str(f.decision).toLowerCase();
    outcome = d === "block" ? "blocked" : d === "allow" ? "allowed" : d === "notify" ? "notified" : "pending";
    if (outcome === "blocked") written = false;
  }
  if (KEPT_OUT.has(outcome)) written = false; // data kept out is never written
  // A notice's `reason` is the decision's (part of the flow summary), not why it ended.
  return { outcome, written, decided_by: str(f.decided_by) || null, reason: "" };
}

/**
 * Which end of the transfer this pane's document is: "target" when the flow goes into it,
 * "source" when it comes from it (by the document id `register` gave). Without ids (an
 * older bridge) the host's usual role: a workbook is usually the source, a deck the target.
 */
export function flowRole(flow, documentId, fallback = "source") {
  const f = obj(flow);
  const target = f.target && typeof f.target === "object" ? f.target.id : undefined;
  const source = f.source && typeof f.source === "object" ? f.source.id : undefined;
  if (documentId && target === documentId) return "target";
  if (documentId && source === documentId) return "source";
  return fallback;
}

/** Where a person (or something else) decided, from this pane's end of the transfer. */
export function decidedByWords(decidedBy, role, targetName) {
  switch (decidedBy) {
    case "pane":
      return role === "target" ? "in this pane" : `in the pane of ${targetName || "the other document"}`;
    case "desktop":
    case "events":
      return "on the desktop";
    case "elicitation":
      return "in the agent's app";
    case "standing choice":
      return "by a standing choice";
    default:
      return ""; // the policy, the timeout or the bridge: the outcome's words and reason say it
  }
}

/** The stage a transfer is at, as the line shows it. */
export function phaseOf(state) {
  const o = state.outcome;
  if (state.lost) return "lost";
  if (o === "pending") return state.approvedBy !== undefined ? "writing" : /^(ask|held)$/i.test(str(state.flow?.decision)) ? "held" : "writing";
  if (KEPT_OUT.has(o)) return "kept";
  if (FINAL.has(o)) return state.written === false ? "failed" : "moved";
  return "writing"; // an outcome this pane does not know: not final as far as it can tell
}

/**
 * The verb a transfer's line starts with, the same in both panes and on the monitor: what
 * happened to the data, never what the detection first saw ("Waiting to go to", "Moved
 * into", "Kept out of", "Expired, kept out of").
 */
export const VERBS = {
  held: "Waiting to go to",
  writing: "Moving into",
  moved: "Moved into",
  kept: "Kept out of",
  expired: "Expired, kept out of",
  failed: "Not written into",
  lost: "Not known whether it moved into",
};

export function verbOf(state) {
  const phase = phaseOf(state);
  return phase === "kept" && state.outcome === "expired" ? VERBS.expired : VERBS[phase];
}

/** A line's kind (its colour and shape): waiting, moved, kept out, failed or not known. */
export const PHASE_KIND = { held: "held", writing: "held", moved: "moved", kept: "blocked", failed: "error", lost: "info" };

/**
 * A transfer's line: {kind, title, detail}. `state` is {flow, outcome, written, decided_by,
 * reason, approvedBy?, lost?}; `role` "source" | "target"; `noun` "workbook" | "deck".
 * The title says what happened to what, from this pane's end: "Moved into Board.pptx,
 * slide 3: 12 values from Revenue!A1:D4" (the source's pane), "Kept out of this deck,
 * slide 3: 12 values from Q3.xlsx > Revenue!A1:D4" (the target's).
 */
export function flowLine(state, { role = "source", noun = "workbook" } = {}) {
  const f = describeFlow(state.flow);
  const phase = phaseOf(state);
  const by = decidedByWords(state.decided_by, role, f.targetName);
  const dest =
    role === "target" ? `this ${noun}${f.location ? `, ${f.location}` : ""}` : [f.targetName || "another document", f.location].filter(Boolean).join(", ");
  const what = `${f.matched || "data"} from ${role === "target" ? f.from : f.where || f.sourceName}`;
  let status;
  switch (phase) {
    case "held":
      status = role === "target" ? "waiting for your approval" : `waiting for approval${f.targetName ? ` in ${f.targetName}` : ""}`;
      break;
    case "writing":
      status = state.approvedBy !== undefined ? join(`approved ${decidedByWords(state.approvedBy, role, f.targetName)}`, "being written") : "allowed, being written";
      break;
    case "moved":
      status =
        state.outcome === "approved" ? `approved ${by}` : state.outcome === "notified" ? "allowed and shown to you" : by ? `allowed ${by}` : "allowed";
      break;
    case "failed":
      status = `${state.outcome === "approved" ? `approved ${by}`.trim() : "allowed"}, but the write failed`;
      break;
    case "kept":
      status =
        state.outcome === "denied"
          ? `denied ${by}`
          : state.outcome === "expired"
            ? state.decided_by === "timeout" || !state.decided_by
              ? "nobody answered in time"
              : "expired"
            : "blocked by the policy";
      break;
    default:
      status = "how it ended was not received while this pane was disconnected";
  }
  // Why it ended so: the bridge's sentence ("the bridge restarted", "another transfer in the
  // same write was denied"); else, for data kept out by this transfer's own decision, the
  // policy's reason. A transfer allowed itself but kept out ended with the rest of its write.
  const ownDecision = f.decision.toLowerCase();
  let because = state.reason;
  if (!because && phase === "kept" && ownDecision === "block") because = f.because;
  if (!because && phase === "kept" && (ownDecision === "allow" || ownDecision === "notify")) because = "another transfer in the same write was kept out";
  const detail = [f.level && `sensitivity: ${levelWords(f.level)}`, status.trim(), because].filter(Boolean).join(" · ");
  return { kind: PHASE_KIND[phase], title: `${verbOf(state)} ${dest}: ${what}`, detail };
}

function join(a, b) {
  return `${a.trim()}, ${b}`;
}

/** How many transfers a pane remembers to update in place (its feed shows fewer). */
export const MAX_TRACKED = 200;

/**
 * The transfers in a pane's feed, one line each, by flow_id.
 *
 *   const flows = new FlowFeed({ feed, noun: "workbook", role: (flow) => flowRole(flow, docId) });
 *   flows.notice(params)     // flow.notice
 *   flows.outcome(params)    // flow.outcome
 *   flows.load(rows)         // flow.list {recent}: the bridge's latest transfers of this document
 *   flows.held(request)      // approval.request (or an approval.list item): the line, if new
 *   flows.resolved(params)   // approval.resolved
 *   flows.settled(params)    // an approval card went: true when its transfer's line told it
 *   flows.pendingIds()       // the transfers not ended here, to ask the bridge about (flow.list)
 *   flows.reconnected({ open, restarted })  // after register: lines whose end was missed
 */
export class FlowFeed {
  constructor({ feed, noun = "workbook", role = () => "source" }) {
    this.feed = feed;
    this.noun = noun;
    this.roleOf = role;
    this.entries = new Map(); // flow_id -> {state, role, li}
  }

  get size() {
    return this.entries.size;
  }

  state(id) {
    return this.entries.get(key(id))?.state ?? null;
  }

  /** The flow ids of the transfers this feed tracks now (as strings). */
  ids() {
    return [...this.entries.keys()];
  }

  /** The flow ids (numbers) of the transfers still shown as not ended. */
  pendingIds() {
    return [...this.entries]
      .filter(([, e]) => !FINAL.has(e.state.outcome))
      .map(([id]) => Number(id))
      .filter(Number.isSafeInteger);
  }

  /** Whether this feed has a line for transfer `id`. */
  has(id) {
    const k = key(id);
    return k !== null && this.entries.has(k);
  }

  /** flow.notice (its params are the flow summary): a new line, or (seen before, e.g. from
   * its approval) the same line updated. A summary from flow.list carries `at`, when the
   * transfer was detected: its line takes that time and place in the feed. */
  notice(params) {
    const flow = obj(params);
    const id = key(flow.flow_id);
    const life = lifecycleOf(params);
    const e = id !== null ? this.entries.get(id) : undefined;
    if (e) {
      e.state.flow = { ...e.state.flow, ...flow };
      if (!FINAL.has(e.state.outcome)) {
        // A final outcome from the bridge (flow.list) ends it; "pending" changes nothing.
        if (FINAL.has(life.outcome)) Object.assign(e.state, life, { lost: false });
      }
      return this.#render(e);
    }
    const at = Number(flow.at);
    return this.#render(this.#track(id, { flow, ...life }), Number.isFinite(at) && at > 0 ? new Date(at) : undefined);
  }

  /**
   * The bridge's latest transfers of this document (flow.list with `recent`, newest first),
   * as a pane shows them after a reload or a reconnect: each one line, with the outcome the
   * bridge has now. Returns how many there were.
   */
  load(rows) {
    const list = Array.isArray(rows) ? rows.filter((r) => r && typeof r === "object" && r.source && r.target) : [];
    for (const row of [...list].reverse()) this.notice(row);
    return list.length;
  }

  /** flow.outcome: the transfer's final outcome; a transfer this pane never saw is left out
   * (without its summary there is nothing to say about it that the person could place). */
  outcome(params) {
    const id = key(params?.flow_id);
    const e = id !== null ? this.entries.get(id) : undefined;
    if (!e) return null;
    const outcome = str(params.outcome) || e.state.outcome;
    Object.assign(e.state, {
      outcome,
      written: KEPT_OUT.has(outcome) ? false : typeof params.written === "boolean" ? params.written : e.state.written,
      decided_by: str(params.decided_by) || null,
      reason: str(params.reason),
      lost: false,
    });
    return this.#render(e);
  }

  /** approval.request: a held transfer is the same transfer as its flow.notice. */
  held(req) {
    const flow = req?.flow ?? req?.held?.flow;
    if (!flow || req?.held?.kind === "deletion" || req?.held?.kind === "after_instructions") return null;
    const id = key(req.flow_id ?? flow.flow_id);
    if (id === null || this.entries.has(id)) return null;
    return this.#render(this.#track(id, { flow: { ...flow, decision: flow.decision ?? "ask" }, outcome: "pending", written: null, decided_by: null, reason: "" }));
  }

  /** approval.resolved: allowed means being written (flow.outcome says how that ended);
   * denied or expired is final: nothing is written. */
  resolved(msg) {
    const id = key(msg?.flow_id);
    const e = id !== null ? this.entries.get(id) : undefined;
    if (!e || FINAL.has(e.state.outcome)) return null;
    if (msg.state === "allowed") e.state.approvedBy = str(msg.decided_by) || null;
    else Object.assign(e.state, { outcome: msg.state === "expired" ? "expired" : "denied", written: false, decided_by: str(msg.decided_by) || null, reason: str(msg.reason), lost: false });
    return this.#render(e);
  }

  /** An approval of transfer `msg.flow_id` ended (answered here or elsewhere, expired):
   * told on the transfer's own line. False when this feed has no line for it (then the
   * approval card says how it ended in a line of its own). */
  settled(msg) {
    if (!this.has(msg?.flow_id)) return false;
    this.resolved(msg);
    return true;
  }

  /**
   * After a reconnect: a transfer still pending here whose end this pane may have missed.
   * One still held (its approval in `open`, the flow ids of approval.list) stays as it is.
   * After a bridge restart (`restarted`) a held one ended as expired: the bridge does not
   * keep a held write across a restart, so nothing was written. Any other is said to be
   * unknown rather than guessed. `only`: the transfers tracked when approval.list was asked
   * for (one noticed while the answer was on its way is newer than the list).
   */
  reconnected({ open = new Set(), restarted = false, only = null } = {}) {
    for (const [id, e] of this.entries) {
      if (FINAL.has(e.state.outcome) || e.state.lost || open.has(id) || (only && !only.has(id))) continue;
      if (restarted && phaseOf(e.state) === "held") {
        Object.assign(e.state, { outcome: "expired", written: false, decided_by: "bridge", reason: "office-bridge restarted while it was held" });
      } else {
        e.state.lost = true;
      }
      this.#render(e);
    }
  }

  #track(id, state) {
    const e = { state, role: this.roleOf(state.flow), li: null };
    if (id !== null) {
      this.entries.set(id, e);
      // Forget the oldest beyond the limit: their lines have long left the feed.
      while (this.entries.size > MAX_TRACKED) this.entries.delete(this.entries.keys().next().value);
    }
    return e;
  }

  #render(e, time) {
    const line = flowLine(e.state, { role: e.role, noun: this.noun });
    if (!(e.li && this.feed.update(e.li, line))) e.li = this.feed.add(time ? { ...line, time } : line);
    return e.li;
  }
}

function key(id) {
  if (typeof id === "number" && Number.isFinite(id)) return String(id);
  if (typeof id === "string" && id) return id;
  return null;
}
