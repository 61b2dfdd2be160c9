// Approval cards, shared by the panes. The bridge sends `approval.request` to the pane(s) of
// the TARGET document of a held write: the PowerPoint pane when the agent puts workbook data
// into a deck, the Excel pane when it writes another document's data into a workbook (or
// deletes a sheet). Each card says what is held, from where, how sensitive, where it is
// going and why it was held, counts down to the default answer (blocked), and answers with
// `approval.decide`. `approval.resolved` removes a card answered elsewhere (the monitor, a
// notification, the agent's client) or expired, with a feed line saying how it ended.
// After every register (first connect and each reconnect) the pane asks the bridge for its
// open approvals (`approval.list`) and reconciles: a card the bridge no longer holds (it
// restarted, or the approval ended while the pane was away) goes with one line saying so,
// instead of staying answerable and failing with "no pending approval" when answered.
//
// Everything the bridge sends is untrusted: it reaches the page through textContent and
// attributes only (ui.js `h`).

import { formatCountdown } from "./ui.js";
import { renderTip } from "./tip.js";

/** How each host names its document in the cards' words ("Always for this deck"). */
export const HOST_WORDS = {
  powerpoint: { noun: "deck" },
  excel: { noun: "workbook" },
};

/** Seconds left at which the countdown turns urgent. */
export const URGENT_MS = 15000;

/** The bridge's answer to approval.decide for an approval it no longer holds (-32602). */
export function isGone(e) {
  // "no pending approval …" (never issued, or from an older bridge), or "approval … was
  // already denied (in the document's pane); the first answer counts".
  return e?.code === -32602 && /no pending approval|was already (allowed|denied|expired)/i.test(String(e?.message ?? ""));
}

/** How an approval ended, from an approval.resolved, in the feed's words. */
export function settledWords(msg) {
  const where = { desktop: " on the desktop", events: " on the desktop", elicitation: " in the agent's app" }[msg?.decided_by] ?? "";
  if (msg?.state === "allowed") return `Allowed${where}`;
  if (msg?.state === "expired") return "Not answered in time, blocked";
  return `Blocked${where}`;
}

/** The person's own answer, in the feed's words. */
export function answerWords(decision, scope, noun = "deck") {
  if (decision === "deny") return "You blocked";
  return scope === "document" ? `You allowed (always for this ${noun})` : "You allowed once";
}

/** What a card says while the pane is not connected: the answer has to wait. */
export const OFFLINE_WORDS = "Not connected to office-bridge: answers wait for the connection.";

/** How many ended approval ids a pane remembers, so a late list cannot bring a card back. */
const MAX_ENDED = 500;

let seq = 0;

/**
 * The approvals region of a pane.
 *
 *   const cards = new ApprovalCards({ host: "excel", list, empty, feed, decide, connected });
 *   cards.add(params)      // approval.request
 *   cards.settle(params)   // approval.resolved
 *   cards.tick()           // once a second: countdowns, local expiry
 *   cards.setEnabled(bool) // connection state
 *
 * `decide(id, decision, scope)` sends approval.decide and resolves or rejects with the
 * bridge's answer (BridgeClient.decideApproval); `connected()` says whether answering is
 * possible now; `heading` (optional) takes the focus when a focused card goes away.
 */
export class ApprovalCards {
  constructor({ host = "powerpoint", list, empty = null, heading = null, feed, decide, connected = () => true, now = () => Date.now(), told = () => false }) {
    this.words = HOST_WORDS[host] ?? HOST_WORDS.powerpoint;
    this.list = list;
    this.empty = empty;
    this.heading = heading;
    this.feed = feed;
    this.send = decide;
    this.connected = connected;
    this.now = now;
    // told(card, msg): a held transfer whose line in the feed (FlowFeed) says how its
    // approval ended; true when it did, so the card adds no second line for the same
    // transfer. msg is null when the pane cannot know how it ended (the line says so).
    this.told = told;
    this.cards = new Map(); // approval_id -> {el, expiresAt, countdown, timer, message, buttons, subject, location, flowId, busy}
    this.ended = new Set(); // approval ids whose card went: never shown again
  }

  get size() {
    return this.cards.size;
  }

  has(id) {
    return this.cards.has(String(id));
  }

  /** The approval ids with a card now. */
  ids() {
    return [...this.cards.keys()];
  }

  /** Shows a card (a policy tip, shared/tip.js) for an approval.request; a repeated id is
   * ignored. Returns the card. */
  add(req) {
    const id = typeof req?.approval_id === "string" ? req.approval_id : String(req?.approval_id ?? "");
    if (!id || this.cards.has(id) || this.ended.has(id)) return null;
    const expiresAt = Number(req.expires_at) || this.now() + 120000;
    const enabled = this.connected();
    const tip = renderTip(req, { here: true, noun: this.words.noun, expiresAt, now: this.now(), enabled, decide: (decision, scope) => this.decide(id, decision, scope) });
    tip.message.textContent = enabled ? "" : OFFLINE_WORDS;
    tip.setPaused(!enabled);
    const w = tip.words;
    this.cards.set(id, { el: tip.el, tip, expiresAt, countdown: tip.countdown, timer: tip.timer, message: tip.message, buttons: tip.buttons, subject: w.subject, location: w.location, flowId: w.flowId, busy: false });
    this.list.prepend(tip.el);
    if (this.empty) this.empty.hidden = true;
    // No focus() here: moving focus into the pane would take the keyboard away from the
    // person's document. The region is aria-live, so screen readers announce the card; the
    // buttons are ordinary buttons, next in the pane's tab order.
    return tip.el;
  }

  /** Sends the person's answer; the card goes once the bridge took it (or had settled it). */
  async decide(id, decision, scope) {
    const c = this.cards.get(id);
    if (!c || c.busy) return;
    c.busy = true;
    c.buttons.forEach((b) => (b.disabled = true));
    c.message.className = "message";
    c.message.textContent = "Sending your answer…";
    try {
      await this.send(id, decision, scope);
      // The bridge's approval.resolved may have come before its answer to approval.decide:
      // settle() then left the feed line to this, the person's own answer.
      if (!this.cards.has(id) && !c.resolved) return;
      this.remove(id);
      if (this.told(c, { approval_id: id, state: decision === "deny" ? "denied" : "allowed", decided_by: "pane", scope, reason: "" })) return;
      this.feed.add({ kind: decision === "deny" ? "blocked" : "ok", title: `${answerWords(decision, scope, this.words.noun)}: ${c.subject}`, detail: c.location });
    } catch (e) {
      if (c.resolved) {
        if (this.told(c, c.resolved)) return;
        this.feed.add({ kind: c.resolved.state === "allowed" ? "ok" : "blocked", title: `${settledWords(c.resolved)}: ${c.subject}`, detail: c.location });
        return;
      }
      if (!this.cards.has(id)) return;
      if (isGone(e)) {
        // Answered on the desktop (monitor, notification) or from the agent's client first,
        // or already expired: there is nothing left to answer here.
        this.remove(id);
        if (this.told(c, null)) return;
        this.feed.add({ kind: "info", title: `Already answered elsewhere, or expired: ${c.subject}`, detail: c.location });
        return;
      }
      c.busy = false;
      c.message.className = "message error";
      const again = this.connected() ? "Try again." : "You can answer again when the connection is back.";
      c.message.textContent = `Your answer was not recorded: ${e?.message ?? e}. ${again}`;
      c.buttons.forEach((b) => (b.disabled = !this.connected()));
    }
  }

  /** The bridge settled an approval (here, on the desktop, by the agent's client, or it
   * expired): drop its card and say how it ended, unless this pane's own answer already did. */
  settle(msg) {
    const id = String(msg?.approval_id ?? "");
    const c = this.cards.get(id);
    if (!c) return false;
    this.remove(id);
    if (c.busy && msg.decided_by === "pane") {
      // This pane's answer (one pane per document), its reply still on the way: decide()
      // says it in the person's words.
      c.resolved = msg;
      return true;
    }
    if (this.told(c, msg)) return true;
    // The bridge's reason when it decided ("another transfer in the same write was denied").
    const detail = [c.location, typeof msg.reason === "string" ? msg.reason : ""].filter(Boolean).join(" · ");
    this.feed.add({ kind: msg.state === "allowed" ? "ok" : "blocked", title: `${settledWords(msg)}: ${c.subject}`, detail });
    return true;
  }

  /**
   * After a register: `approvals` is the bridge's approval.list, the approvals it still holds
   * for this document. A card not in it goes, with one line: after a bridge restart
   * (`restarted`, the session was not resumed) the held write was dropped and nothing was
   * written; otherwise the approval was answered elsewhere or expired while this pane was
   * away, which the pane cannot tell apart. An approval without a card gets one (unless its
   * card already went here). `only`: the cards shown when the list was asked for; a card
   * that came (approval.request) while the answer was on its way is newer than the list.
   * Returns {added: [requests], removed: [{id, subject, flowId}]}.
   */
  reconcile(approvals, { restarted = false, only = null } = {}) {
    const list = Array.isArray(approvals) ? approvals : [];
    const live = new Set(list.map((a) => String(a?.approval_id ?? "")));
    const removed = [];
    for (const [id, c] of [...this.cards]) {
      if (live.has(id) || c.busy || (only && !only.has(id))) continue; // an answer on its way says how it ended
      this.remove(id);
      removed.push({ id, subject: c.subject, flowId: c.flowId });
      if (this.told(c, restarted ? { approval_id: id, state: "expired", decided_by: "bridge", reason: "office-bridge restarted while it was held" } : null)) continue;
      const title = restarted
        ? `Closed while office-bridge was away: ${c.subject} — nothing was written`
        : `Closed while this pane was disconnected: ${c.subject} — answered elsewhere or expired`;
      this.feed.add({ kind: "info", title, detail: c.location });
    }
    const added = list.filter((a) => this.add(a));
    return { added, removed };
  }

  /** Counts down; a card whose time ran out goes (the bridge blocks it: fail closed).
   * Not while the pane is disconnected: the countdown is the bridge's, and the bridge says
   * how each approval ended when the pane is back (reconcile). */
  tick(now = this.now()) {
    if (!this.connected()) return;
    for (const [id, c] of [...this.cards]) {
      const left = c.expiresAt - now;
      if (left <= 0 && c.busy) {
        c.countdown.textContent = formatCountdown(0); // the answer on its way says how it ended
      } else if (left <= 0) {
        this.remove(id);
        if (this.told(c, { approval_id: id, state: "expired", decided_by: "timeout", reason: "" })) continue;
        this.feed.add({ kind: "blocked", title: `Not answered in time, blocked: ${c.subject}`, detail: c.location });
      } else {
        c.countdown.textContent = formatCountdown(left);
        c.timer.classList.toggle("urgent", left <= URGENT_MS);
      }
    }
  }

  /** Answering needs the connection: the buttons follow it (not while an answer is on its
   * way), and a card says why it cannot be answered while the pane is disconnected. */
  setEnabled(enabled) {
    for (const c of this.cards.values()) {
      c.tip?.setPaused(!enabled);
      if (c.busy) continue;
      c.buttons.forEach((b) => (b.disabled = !enabled));
      if (!enabled && !c.message.textContent) {
        c.message.className = "message";
        c.message.textContent = OFFLINE_WORDS;
      } else if (enabled && c.message.textContent === OFFLINE_WORDS) {
        c.message.textContent = "";
      }
    }
  }

  remove(id) {
    const c = this.cards.get(id);
    if (!c) return;
    // Keep a keyboard user in the region, on its heading: never on another card's button,
    // where a second Enter would answer something the person has not read.
    const hadFocus = c.busy || (typeof document !== "undefined" && c.el.contains(document.activeElement));
    c.el.remove();
    this.cards.delete(id);
    this.ended.add(id);
    if (this.ended.size > MAX_ENDED) this.ended.delete(this.ended.values().next().value);
    if (this.empty) this.empty.hidden = this.cards.size > 0;
    if (hadFocus) this.heading?.focus?.();
  }
}

/**
 * After every successful register: asks the bridge for this document's open approvals
 * (approval.list) and reconciles the cards with them, then tells `flows` (FlowFeed, optional)
 * which held transfers are still open, so lines whose end was missed while away are
 * settled. `restarted`: the bridge did not resume the session (register's `resumed` false
 * although the pane sent its id), so it is a new bridge. An older bridge without
 * approval.list (-32601) leaves the cards as they are; resolves with null then.
 */
/** Asks the bridge how the transfers this pane still shows as pending ended, and shows it.
 * An older bridge without flow.list (-32601) leaves them to `reconnected`. */
export async function catchUpFlows({ listFlows, flows }) {
  const pending = flows.pendingIds();
  if (!pending.length) return 0;
  let res;
  try {
    res = await listFlows(pending.slice(-500));
  } catch (e) {
    if (e?.code === -32601) return 0;
    throw e;
  }
  let ended = 0;
  for (const f of Array.isArray(res?.flows) ? res.flows : []) {
    if (typeof f?.outcome !== "string" || f.outcome === "pending") continue;
    flows.outcome({ flow_id: f.flow_id, write_id: f.write_id, outcome: f.outcome, written: f.written, decided_by: f.decided_by, reason: "" });
    ended++;
  }
  return ended;
}

export async function reconcileApprovals({ listApprovals, listFlows = null, listRecent = null, cards, flows = null, restarted = false }) {
  // What is shown now: only that can be out of date when the answer comes.
  const shownCards = new Set(cards.ids());
  const shownFlows = flows ? new Set(flows.ids()) : null;
  // The bridge's latest transfers of this document, each with its outcome now: what a
  // reloaded pane shows again, and how the ones shown as pending ended meanwhile.
  if (flows && listRecent) {
    await listRecent()
      .then((res) => flows.load(res?.flows))
      .catch(() => 0);
  }
  // Transfers that ended while this pane was away: the bridge says how (flow.list).
  // Its failure (a bridge that does not answer it in time) must not keep the cards from
  // being reconciled: they are what the person acts on. A lost connection fails
  // approval.list below as well.
  if (flows && listFlows) await catchUpFlows({ listFlows, flows }).catch(() => 0);
  let res;
  try {
    res = await listApprovals();
  } catch (e) {
    if (e?.code === -32601) return null;
    throw e;
  }
  const list = Array.isArray(res?.approvals) ? res.approvals : [];
  const result = cards.reconcile(list, { restarted, only: shownCards });
  if (flows) {
    for (const a of result.added) flows.held(a);
    const open = new Set(list.map((a) => a?.flow_id ?? a?.flow?.flow_id).filter((id) => id !== null && id !== undefined).map(String));
    flows.reconnected({ open, restarted, only: shownFlows });
  }
  return result;
}
