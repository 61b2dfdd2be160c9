// Approval cards, shared by the panes. The bridge sends `approval.request` to the pane(s) of
// the TARGET document of a held write: the PowerPoint pane when the agent puts workbook data
// into a deck, the Excel pane when it writes another document's data into a workbook (or
// deletes a sheet). Each card says what is held, from where, how sensitive, where it is
// going and why it was held, counts down to the default answer (blocked), and answers with
// `approval.decide`. `approval.resolved` removes a card answered elsewhere (the monitor, a
// notification, the agent's client) or expired, with a feed line saying how it ended.
//
// Everything the bridge sends is untrusted: it reaches the page through textContent and
// attributes only (ui.js `h`).

import { describeApproval, formatCountdown, h, levelWords, sensitivityClass } from "./ui.js";

/** How each host names its document in the cards' words ("Always for this deck"). */
export const HOST_WORDS = {
  powerpoint: { noun: "deck" },
  excel: { noun: "workbook" },
};

/** Seconds left at which the countdown turns urgent. */
export const URGENT_MS = 15000;

/** The bridge's answer to approval.decide for an approval it no longer holds (-32602). */
export function isGone(e) {
  return e?.code === -32602 && /no pending approval/i.test(String(e?.message ?? ""));
}

/** How an approval ended, from an approval.resolved, in the feed's words. */
export function settledWords(msg) {
  const where = { events: " on the desktop", elicitation: " in the agent's app" }[msg?.decided_by] ?? "";
  if (msg?.state === "allowed") return `Allowed${where}`;
  if (msg?.state === "expired") return "Not answered in time, blocked";
  return `Blocked${where}`;
}

/** The person's own answer, in the feed's words. */
export function answerWords(decision, scope, noun = "deck") {
  if (decision === "deny") return "You blocked";
  return scope === "document" ? `You allowed (always for this ${noun})` : "You allowed once";
}

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
  constructor({ host = "powerpoint", list, empty = null, heading = null, feed, decide, connected = () => true, now = () => Date.now() }) {
    this.words = HOST_WORDS[host] ?? HOST_WORDS.powerpoint;
    this.list = list;
    this.empty = empty;
    this.heading = heading;
    this.feed = feed;
    this.send = decide;
    this.connected = connected;
    this.now = now;
    this.cards = new Map(); // approval_id -> {el, expiresAt, countdown, timer, message, buttons, subject, location, busy}
  }

  get size() {
    return this.cards.size;
  }

  has(id) {
    return this.cards.has(String(id));
  }

  /** Shows a card for an approval.request; a repeated id is ignored. Returns the card. */
  add(req) {
    const id = typeof req?.approval_id === "string" ? req.approval_id : String(req?.approval_id ?? "");
    if (!id || this.cards.has(id)) return null;
    const a = describeApproval(req);
    const f = a.flow;
    const expiresAt = Number(req.expires_at) || this.now() + 120000;
    const n = ++seq;
    const titleId = `approval-${n}-title`;
    const countdown = h("strong", {}, formatCountdown(expiresAt - this.now()));
    // role=timer is aria-live off: the region announces the new card, not every second.
    const timer = h("p", { class: "countdown", role: "timer", "aria-live": "off" }, "Blocked automatically in ", countdown);
    const message = h("p", { class: "message", role: "status" });
    const enabled = this.connected();
    const button = (label, cls, decision, scope, aria) =>
      h("button", { type: "button", class: cls, "aria-label": aria, disabled: !enabled, onclick: () => this.decide(id, decision, scope) }, label);
    const row = (term, value) => (value ? [h("dt", {}, term), h("dd", {}, value)] : null);
    const details = a.deletion
      ? [row("Why held", f.reason)]
      : [
          row("From", f.where),
          row("What", f.matched ? `${f.matched} matched${f.how ? ` (${f.how})` : ""}` : ""),
          row("Sensitivity", h("span", { class: `badge ${sensitivityClass(f.level)}` }, levelWords(f.level))),
          row("Going to", f.location),
          row("Why held", f.reason),
        ];
    // A deletion has no source to remember a standing choice for: allow once or block.
    const buttons = a.deletion
      ? [button("Allow once", "primary", "allow", "once", `Allow once: ${a.subject}`), button("Block", "danger", "deny", "once", `Block: ${a.subject}`)]
      : [
          button("Allow once", "primary", "allow", "once", `Allow once: content from ${f.from}`),
          button(`Always for this ${this.words.noun}`, "", "allow", "document", `Always allow content from ${f.sourceName} in this ${this.words.noun}`),
          button("Block", "danger", "deny", "once", `Block content from ${f.from}`),
        ];
    const el = h(
      "article",
      { class: "card", "aria-labelledby": titleId, "data-approval-id": id },
      h("h3", { id: titleId }, a.title),
      h("dl", {}, ...details),
      timer,
      h("div", { class: "actions" }, ...buttons),
      message,
    );
    this.cards.set(id, { el, expiresAt, countdown, timer, message, buttons, subject: a.subject, location: a.deletion ? "" : f.location, busy: false });
    this.list.prepend(el);
    if (this.empty) this.empty.hidden = true;
    // No focus() here: moving focus into the pane would take the keyboard away from the
    // person's document. The region is aria-live, so screen readers announce the card; the
    // buttons are ordinary buttons, next in the pane's tab order.
    return el;
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
      this.feed.add({ kind: decision === "deny" ? "blocked" : "ok", title: `${answerWords(decision, scope, this.words.noun)}: ${c.subject}`, detail: c.location });
    } catch (e) {
      if (c.resolved) {
        this.feed.add({ kind: c.resolved.state === "allowed" ? "ok" : "blocked", title: `${settledWords(c.resolved)}: ${c.subject}`, detail: c.location });
        return;
      }
      if (!this.cards.has(id)) return;
      if (isGone(e)) {
        // Answered on the desktop (monitor, notification) or from the agent's client first,
        // or already expired: there is nothing left to answer here.
        this.remove(id);
        this.feed.add({ kind: "info", title: `Already answered elsewhere, or expired: ${c.subject}`, detail: c.location });
        return;
      }
      c.busy = false;
      c.message.className = "message error";
      c.message.textContent = `Your answer was not recorded: ${e?.message ?? e}. Try again.`;
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
    this.feed.add({ kind: msg.state === "allowed" ? "ok" : "blocked", title: `${settledWords(msg)}: ${c.subject}`, detail: c.location });
    return true;
  }

  /** Counts down; a card whose time ran out goes (the bridge blocks it: fail closed). */
  tick(now = this.now()) {
    for (const [id, c] of [...this.cards]) {
      const left = c.expiresAt - now;
      if (left <= 0 && c.busy) {
        c.countdown.textContent = formatCountdown(0); // the answer on its way says how it ended
      } else if (left <= 0) {
        this.remove(id);
        this.feed.add({ kind: "blocked", title: `Not answered in time, blocked: ${c.subject}`, detail: c.location });
      } else {
        c.countdown.textContent = formatCountdown(left);
        c.timer.classList.toggle("urgent", left <= URGENT_MS);
      }
    }
  }

  /** Answering needs the connection: the buttons follow it (not while an answer is on its way). */
  setEnabled(enabled) {
    for (const c of this.cards.values()) if (!c.busy) c.buttons.forEach((b) => (b.disabled = !enabled));
  }

  remove(id) {
    const c = this.cards.get(id);
    if (!c) return;
    // Keep a keyboard user in the region: a focused card that goes hands the focus on to
    // the next card's first button, or to the region's heading.
    const hadFocus = typeof document !== "undefined" && c.el.contains(document.activeElement);
    c.el.remove();
    this.cards.delete(id);
    if (this.empty) this.empty.hidden = this.cards.size > 0;
    if (hadFocus) {
      const next = [...this.cards.values()].find((o) => o.buttons.some((b) => !b.disabled));
      const target = next?.buttons.find((b) => !b.disabled) ?? this.heading;
      target?.focus?.();
    }
  }
}
