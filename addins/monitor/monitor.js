// The monitor page: connected documents, pending approvals (answerable here), a live feed
// of reads, transfers and decisions, the effective policy, and a graph of what moved where.
// A transfer is one row from detection to outcome, keyed by its flow_id: the `flow` event
// makes it, `approval_resolved` and `flow_outcome` rewrite it in place, and after a reload
// /v1/flows brings it back with the outcome it had (docs/events.md).
//
// The bridge's desktop credential (not the agent's token: only the desktop one answers
// approvals) comes in the URL's fragment (#token=…, which browsers never send to a
// server); the page keeps it in sessionStorage for this tab, removes it from the address
// bar, and sends it as `Authorization: Bearer` on every call. EventSource cannot send that
// header, so /v1/events is read with fetch() and parsed here (model.js), reconnecting with
// backoff. Everything the bridge sends is untrusted text: it reaches the page only through
// textContent and attributes.

import { h, describeApproval, formatCountdown, sheetRef } from "../shared/ui.js";
import { renderTip } from "../shared/tip.js";
import { SseParser, backoffMs, FlowGraph, layout, transferRow, flowOfEvent, normaliseApproval, DECIDED_BY, EDGE_LABEL, APP_LABEL, edgeWords, pairLabel, plural, policyRows } from "./model.js";

const TOKEN_KEY = "office-bridge.monitor.token";
const FEED_MAX = 500;
/** The bridge sends a keep-alive every 15 s; silence this long means the stream is dead. */
const STALL_MS = 40000;
const SVG_NS = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);

let token = null;
let stream = null;
const docs = new Map(); // session_id -> session
const cards = new Map(); // approval_id -> {el, expiresAt, countdown, message, buttons, line}
const approvalInfo = new Map(); // approval_id -> {flowId, line}
const graph = new FlowGraph();
const flowRows = new Map(); // flow id -> {li, earlier}: each transfer's one row
const approvalRows = new Map(); // approval_id -> li: a held deletion's one row
let graphQueued = false;
let tableOpened = false;
let loadedOnce = false;
let live = false; // the event stream is open and the page is up to date
let staleSince = null; // when the page stopped being live (after it had loaded once)

// ------------------------------------------------------------------ token

function storage() {
  try {
    return window.sessionStorage;
  } catch {
    return null; // storage disabled: the key lives only as long as the page
  }
}

const tokenShape = (t) => typeof t === "string" && /^[0-9A-Fa-f]{32,512}$/.test(t);

/** The token from #token=…, then removed from the address bar; else the one kept for this tab. */
function takeToken() {
  const hash = location.hash.replace(/^#/, "");
  const fromHash = new URLSearchParams(hash).get("token");
  if (fromHash !== null) {
    history.replaceState(history.state, "", location.pathname + location.search);
    if (tokenShape(fromHash)) {
      storage()?.setItem(TOKEN_KEY, fromHash);
      return fromHash;
    }
  }
  const kept = storage()?.getItem(TOKEN_KEY);
  return tokenShape(kept) ? kept : null;
}

function showNoToken(why) {
  stream?.stop();
  stream = null;
  token = null;
  storage()?.removeItem(TOKEN_KEY);
  $("monitor").hidden = true;
  $("no-token").hidden = false;
  $("no-token-why").textContent = why;
  setConn("stopped", why === NO_TOKEN ? "Not connected: this page needs its link" : "Not connected: the key was refused");
}

const NO_TOKEN = "This page needs the bridge's key, which comes with its link.";

// ------------------------------------------------------------------ API

class Unauthorized extends Error {}

async function api(path, init = {}) {
  const res = await fetch(path, {
    ...init,
    cache: "no-store",
    credentials: "omit",
    headers: { ...(init.headers ?? {}), Authorization: `Bearer ${token}` },
  });
  if (res.status === 401) {
    showNoToken("The bridge did not accept this page's key: it may have been replaced (office-bridge token rotate --desktop), or this link is for another bridge. Open a fresh link:");
    throw new Unauthorized("unauthorized");
  }
  return res;
}

async function getJson(path) {
  const res = await api(path);
  if (!res.ok) throw Object.assign(new Error(`${path}: HTTP ${res.status}`), { status: res.status });
  return res.json();
}

// ------------------------------------------------------------------ connection state

function setConn(state, text, { retry = false } = {}) {
  const conn = $("conn");
  conn.dataset.state = state;
  $("conn-text").textContent = text;
  $("conn-retry").hidden = !retry;
  setLive(state === "live");
}

/** What a card says while the monitor is not connected: the answer has to wait. */
const OFFLINE_WORDS = "Not connected to office-bridge: answers wait for the connection.";

/**
 * Live or not. Not live, the page says what it shows is as of when it last was (greyed,
 * "as of 14:05"), documents are no longer shown as connected, and the approval cards stop
 * counting down and cannot be answered: what happens to them is the bridge's to say when
 * the page is back (load() then drops the cards of approvals that are gone).
 */
function setLive(now) {
  if (now === live) return;
  live = now;
  if (!now && loadedOnce) staleSince = staleSince ?? Date.now();
  if (now) staleSince = null;
  const stale = !now && staleSince !== null;
  document.body.classList.toggle("is-stale", stale);
  $("stale").hidden = !stale;
  $("stale").textContent = stale ? `Not live: what this page shows is as of ${clockShort(staleSince)}. It updates by itself when office-bridge is back.` : "";
  for (const el of document.querySelectorAll(".as-of")) {
    el.hidden = !stale;
    el.textContent = stale ? `as of ${clockShort(staleSince)}` : "";
  }
  for (const c of cards.values()) {
    c.tip.setPaused(!now);
    if (c.answering) continue;
    c.buttons.forEach((b) => (b.disabled = !now));
    if (!now) c.message.textContent = OFFLINE_WORDS;
    else if (c.message.textContent === OFFLINE_WORDS) c.message.textContent = "";
  }
  renderDocs();
}

function clockShort(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/** /v1/events over fetch: parsed as it arrives, reopened with backoff when it ends. */
class EventStream {
  constructor(onEvent, onOpen) {
    this.onEvent = onEvent;
    this.onOpen = onOpen;
    this.attempt = 0;
    this.stopped = false;
    this.ctrl = null;
    this.wake = null;
  }
  start() {
    this.run();
  }
  stop() {
    this.stopped = true;
    this.ctrl?.abort();
    this.wake?.();
  }
  retryNow() {
    this.attempt = 0;
    this.wake?.();
  }
  async run() {
    let lastError = "";
    while (!this.stopped) {
      setConn(this.attempt === 0 ? "connecting" : "reconnecting", this.attempt === 0 ? "Connecting…" : "Reconnecting…");
      const ctrl = new AbortController();
      this.ctrl = ctrl;
      let watchdog;
      const arm = () => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => ctrl.abort(new Error("no keep-alive from the bridge")), STALL_MS);
      };
      try {
        arm();
        const res = await api("/v1/events", { headers: { Accept: "text/event-stream" }, signal: ctrl.signal });
        if (!res.ok || !res.body) throw new Error(`the bridge answered HTTP ${res.status}`);
        this.attempt = 0;
        await this.onOpen(); // the current state, fetched after subscribing: nothing falls between
        if (this.stopped) return;
        setConn("live", "Live");
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        const parser = new SseParser((ev) => this.dispatch(ev));
        arm();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          arm();
          parser.push(value);
        }
        lastError = "the bridge closed the stream";
      } catch (e) {
        if (e instanceof Unauthorized || this.stopped) return;
        lastError = ctrl.signal.aborted && ctrl.signal.reason?.message ? ctrl.signal.reason.message : describeFetchError(e);
      } finally {
        clearTimeout(watchdog);
        ctrl.abort();
      }
      if (this.stopped) return;
      const delay = backoffMs(this.attempt++);
      await this.wait(delay, lastError);
    }
  }
  async wait(ms, why) {
    const until = Date.now() + ms;
    await new Promise((resolve) => {
      const show = () => setConn("reconnecting", `${why === NOT_RUNNING ? NOT_RUNNING : `Not connected (${why})`}. Retrying in ${Math.max(1, Math.ceil((until - Date.now()) / 1000))} s`, { retry: true });
      show();
      const tick = setInterval(show, 1000);
      const timer = setTimeout(done, ms);
      function done() {
        clearInterval(tick);
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
    this.wake = null;
  }
  dispatch({ event, data }) {
    let payload;
    try {
      payload = JSON.parse(data);
    } catch {
      return;
    }
    try {
      this.onEvent(event, payload);
    } catch (e) {
      console.error("monitor: could not show an event", event, e);
    }
  }
}

/** Words for a failed call: a refused connection means the bridge is not running. */
const NOT_RUNNING = "office-bridge is not running: start it with `office-bridge serve`";

function describeFetchError(e) {
  const m = String(e?.message ?? e);
  return /fetch|network/i.test(m) ? NOT_RUNNING : m;
}

// ------------------------------------------------------------------ state from the API

async function resync() {
  // Rows loaded in bulk are not announced one by one.
  $("feed").setAttribute("aria-busy", "true");
  try {
    await load();
  } finally {
    $("feed").setAttribute("aria-busy", "false");
  }
}

async function load() {
  const [status, approvals, flows, policy] = await Promise.allSettled([
    getJson("/v1/status"),
    getJson("/v1/approvals"),
    getJson("/v1/flows?limit=500"),
    loadPolicy(),
  ]);
  for (const r of [status, approvals, flows, policy]) if (r.status === "rejected" && r.reason instanceof Unauthorized) throw r.reason;
  if (status.status === "fulfilled") applyStatus(status.value);
  // Flows before approvals: a held transfer's row comes from its stored flow. A transfer
  // already shown takes the outcome the bridge has now (it may have ended while the stream
  // was down); one not seen yet gets its row, marked as older than the page on first load.
  if (flows.status === "fulfilled") {
    const list = Array.isArray(flows.value?.flows) ? flows.value.flows : [];
    // Oldest first, so the feed's order by time holds as rows are inserted.
    for (const f of [...list].reverse()) {
      if (!f || typeof f !== "object" || !f.source || !f.target) continue;
      const isNew = graph.add(f);
      showTransfer(FlowGraph.idOf(f), { earlier: isNew && !loadedOnce });
    }
    loadedOnce = true;
    queueGraph();
  }
  if (approvals.status === "fulfilled") {
    const list = Array.isArray(approvals.value?.approvals) ? approvals.value.approvals : [];
    const live = new Set(list.map((a) => String(a.approval_id ?? "")));
    for (const id of [...cards.keys()]) if (!live.has(id)) removeCard(id);
    for (const a of list) addCard(a);
  }
}

function applyStatus(s) {
  $("version").textContent = s?.version ? `bridge ${s.version}` : "";
  docs.clear();
  for (const d of Array.isArray(s?.documents) ? s.documents : []) if (d?.session_id) docs.set(d.session_id, d);
  // A document renamed since its transfers were recorded shows its name now in the graph.
  for (const d of docs.values()) graph.noteDocument(d.document, Number(d.connected_since) || Date.now());
  queueGraph();
  renderDocs();
  renderDisabled(s?.policy);
}

function renderDisabled(p) {
  const off = [];
  if (p?.excel_enabled === false) off.push("the Excel add-in");
  if (p?.powerpoint_enabled === false) off.push("the PowerPoint add-in");
  if (p?.flows_enabled === false) off.push("transfers between documents");
  $("docs-disabled").hidden = off.length === 0;
  $("docs-disabled").textContent = off.length ? `Your administrator turned off ${off.join(", ")}.` : "";
}

// ------------------------------------------------------------------ documents

function appChip(app) {
  const a = String(app ?? "").toLowerCase();
  const letter = a === "excel" ? "X" : a === "powerpoint" ? "P" : "F";
  return h("span", { class: `app-chip app-${a || "file"}`, "aria-hidden": "true" }, letter);
}

function renderDocs() {
  const list = $("docs");
  const sorted = [...docs.values()].sort(
    (a, b) => Number(b.connected) - Number(a.connected) || String(a.app).localeCompare(String(b.app)) || String(a.document?.name).localeCompare(String(b.document?.name)),
  );
  list.replaceChildren(
    ...sorted.map((s) => {
      const doc = s.document ?? {};
      const appName = APP_LABEL[s.app] ?? String(s.app ?? "");
      const since = Number(s.connected_since) ? ` since ${clock(Number(s.connected_since))}` : "";
      // Not live, the page cannot know whether a document is still connected.
      const known = live || staleSince === null;
      const on = s.connected && known;
      const state = !known ? (s.connected ? `Not known now (connected as of ${clockShort(staleSince)})` : "Disconnected") : s.connected ? `Connected${since}` : `Disconnected${s.reason ? `: ${s.reason}` : ""}`;
      return h(
        "li",
        { class: `doc-row${on ? "" : " is-off"}`, "data-session": s.session_id, "data-name": doc.name ?? "", "data-state": !known ? "unknown" : s.connected ? "connected" : "disconnected" },
        appChip(s.app),
        h(
          "div",
          { class: "doc-body" },
          h("div", { class: "doc-name" }, h("span", { class: "visually-hidden" }, `${appName}: `), String(doc.name ?? "an unnamed document")),
          doc.location ? h("div", { class: "doc-loc small muted", title: String(doc.location) }, String(doc.location)) : null,
        ),
        h("span", { class: `doc-state small${on ? " on" : ""}` }, h("span", { class: "dot", "aria-hidden": "true" }), state),
      );
    }),
  );
  $("docs-empty").hidden = docs.size > 0;
}

// ------------------------------------------------------------------ approvals

function alwaysLabel(target) {
  const app = String(target?.app ?? "").toLowerCase();
  return app === "powerpoint" ? "Always for this deck" : app === "excel" ? "Always for this workbook" : "Always for this file";
}

function addCard(raw) {
  const req = normaliseApproval(raw);
  const id = typeof req.approval_id === "string" ? req.approval_id : String(req.approval_id ?? "");
  if (!id) return;
  if (cards.has(id)) {
    // The same approval from /v1/approvals: it carries the write's preview (the event
    // stream never carries values).
    if (req.preview) cards.get(id).tip.setPreview(req);
    return;
  }
  const a = describeApproval(req);
  const flowId = a.deletion ? undefined : (req.flow_id ?? req.held?.flow?.flow_id ?? req.flow?.flow_id);
  const line = String(req.line ?? a.subject);
  approvalInfo.set(id, { flowId, line });
  // The held transfer's row: from its flow event, or from here when that came before the page.
  if (!a.deletion && req.held?.flow?.source && req.held.flow.target) {
    if (graph.add(req.held.flow)) queueGraph();
    showTransfer(FlowGraph.idOf(req.held.flow));
  }
  const app = String(req.target?.app ?? "").toLowerCase();
  const noun = app === "powerpoint" ? "deck" : app === "excel" ? "workbook" : "file";
  const expiresAt = Number(req.expires_at) || Date.now() + 120000;
  const tip = renderTip(req, { here: false, noun, always: alwaysLabel(req.target), expiresAt, enabled: live, decide: (decision, scope) => decide(id, decision, scope), idAttr: "data-approval" });
  tip.setPaused(!live);
  if (!live) tip.message.textContent = OFFLINE_WORDS;
  cards.set(id, { el: tip.el, tip, expiresAt, countdown: tip.countdown, message: tip.message, buttons: tip.buttons, line });
  $("approvals").prepend(tip.el);
  renderApprovalCount();
}

/** The previews of the open approvals (GET /v1/approvals carries them; the stream does not). */
async function fillPreviews() {
  try {
    const body = await getJson("/v1/approvals");
    for (const a of Array.isArray(body?.approvals) ? body.approvals : []) if (a?.preview && cards.has(String(a.approval_id))) cards.get(String(a.approval_id)).tip.setPreview(a);
  } catch {
    /* the card stands without its preview */
  }
}

async function decide(id, decision, scope) {
  const c = cards.get(id);
  if (!c) return;
  // Disabling the focused button drops focus to the page; the card remembers it was being
  // answered, so whichever comes first (this answer or the bridge's approval_resolved)
  // puts the keyboard back in place when it removes the card.
  c.answering = true;
  c.buttons.forEach((b) => (b.disabled = true));
  c.message.className = "message";
  c.message.textContent = "Sending your answer…";
  try {
    const res = await api(`/v1/approvals/${encodeURIComponent(id)}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ decision, scope }),
    });
    if (res.ok || res.status === 404) {
      if (res.status === 404) addFeedRow({ group: "flows", kind: "info", title: `Already answered or expired: ${c.line}`, at: Date.now() });
      removeCard(id, { refocus: true });
      return;
    }
    const body = await res.json().catch(() => ({}));
    if (res.status === 403) {
      // Opened with the agent's token (pasted): it reads, but never answers. Retrying
      // cannot help; the page's own link (office-bridge monitor) carries the desktop key.
      c.message.className = "message error";
      c.message.textContent = `Your answer was not recorded: ${body?.error ?? "refused"}. Open this page with the link from office-bridge monitor to answer here.`;
      return;
    }
    throw new Error(body?.error ?? `HTTP ${res.status}`);
  } catch (e) {
    if (e instanceof Unauthorized) return;
    c.message.className = "message error";
    c.message.textContent = `Your answer was not recorded: ${describeFetchError(e)}. Try again.`;
    c.answering = false;
    c.buttons.forEach((b) => (b.disabled = false));
  }
}

function removeCard(id, { refocus = false } = {}) {
  const c = cards.get(id);
  if (!c) return;
  const hadFocus = refocus || c.answering || c.el.contains(document.activeElement);
  c.el.remove();
  cards.delete(id);
  renderApprovalCount();
  // Keep the keyboard in the region, on its heading: never on another card's button, where
  // a second Enter would answer something the person has not read.
  if (hadFocus) $("approvals-h").focus();
}

function renderApprovalCount() {
  $("approvals-empty").hidden = cards.size > 0;
  const count = $("approvals-count");
  count.hidden = cards.size === 0;
  count.textContent = String(cards.size);
  document.title = cards.size ? `(${cards.size}) office-bridge monitor` : "office-bridge monitor";
}

function tick() {
  if (!live) return; // the countdown is the bridge's: stopped while it cannot be reached
  const now = Date.now();
  for (const [id, c] of cards) {
    const left = c.expiresAt - now;
    if (left <= 0) removeCard(id); // the bridge denies it; approval_resolved says so in the feed
    else c.countdown.textContent = formatCountdown(left);
  }
}

// ------------------------------------------------------------------ the feed

function clock(ms) {
  const d = new Date(ms);
  const t = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  return d.toDateString() === new Date().toDateString() ? t : `${d.toLocaleDateString()} ${t}`;
}

/** Writes a row's content (a new row, or one rewritten in place as a transfer ends). */
function fillRow(li, { kind, title, detail, badge, decision }) {
  const when = Number(li.dataset.at);
  li.className = `row k-${kind}`;
  li.replaceChildren(
    h("span", { class: `row-icon${decision ? ` d-${decision}` : ""}`, "aria-hidden": "true" }),
    h(
      "div",
      { class: "row-body" },
      h("div", { class: "row-title" }, title),
      detail ? h("div", { class: "row-detail" }, detail) : null,
    ),
    badge ? h("span", { class: `row-badge badge dec d-${decision}` }, badge) : h("span", { class: "row-badge" }),
    h("time", { class: "row-time", datetime: new Date(when).toISOString() }, clock(when)),
  );
}

/** Inserts a row in time order, newest first; keeps at most FEED_MAX rows. Returns it. */
function addFeedRow(view) {
  const when = Number(view.at) || Date.now();
  const li = h("li", { "data-group": view.group, "data-at": String(when) });
  fillRow(li, view);
  const list = $("feed");
  let before = null;
  for (const row of list.children) {
    if (Number(row.dataset.at) <= when) {
      before = row;
      break;
    }
  }
  list.insertBefore(li, before);
  while (list.children.length > FEED_MAX) list.lastElementChild.remove();
  renderFeedEmpty();
  return li;
}

/** A row that is still in the feed (the cap drops the oldest) is rewritten, else added. */
function putRow(li, view) {
  if (li?.isConnected) {
    fillRow(li, view);
    return li;
  }
  return addFeedRow(view);
}

function renderFeedEmpty() {
  const filter = $("feed").dataset.filter;
  const visible = [...$("feed").children].some((r) => filter === "all" || r.dataset.group === filter);
  $("feed-empty").hidden = visible;
}

/** A transfer's one row, made or rewritten from what the graph knows of it now. */
function showTransfer(id, { earlier = false } = {}) {
  const entry = graph.entry(id);
  if (!entry) return;
  const known = flowRows.get(id);
  const tag = known?.earlier ?? earlier;
  const li = putRow(known?.li, { group: "flows", ...transferRow(entry, { earlier: tag }), at: entry.at || Date.now() });
  flowRows.delete(id); // re-inserted: the map stays in order of last change, oldest first out
  flowRows.set(id, { li, earlier: tag });
  while (flowRows.size > FEED_MAX * 2) flowRows.delete(flowRows.keys().next().value);
}

function onEvent(name, e) {
  const at = Number(e?.at) || Date.now();
  switch (name) {
    case "addin_connected":
    case "addin_disconnected": {
      const s = e.session ?? {};
      if (!s.session_id) return;
      const connected = name === "addin_connected";
      docs.set(s.session_id, { ...s, connected, reason: connected ? undefined : e.reason });
      if (connected && s.document) {
        graph.noteDocument(s.document, Number(s.connected_since) || Date.now());
        queueGraph();
      }
      renderDocs();
      const doc = s.document?.name ?? "a document";
      const app = APP_LABEL[s.app] ?? s.app ?? "";
      addFeedRow({
        group: "docs",
        kind: connected ? "on" : "off",
        title: connected ? `${doc} connected (${app}${e.resumed ? ", resumed" : ""})` : `${doc} disconnected (${app})`,
        detail: connected ? "" : e.reason,
        at: connected ? Number(s.connected_since) || Date.now() : Date.now(),
      });
      return;
    }
    case "read": {
      const d = e.document ?? {};
      const where = e.sheet ? sheetRef(String(e.sheet), String(e.address ?? "")) : String(e.address ?? "");
      addFeedRow({
        group: "reads",
        kind: e.flagged > 0 ? "warn" : "read",
        title: `The agent read ${d.name ?? "a document"}${where ? ` > ${where}` : ""}`,
        detail: [
          typeof e.cells === "number" ? `${plural(e.cells, "cell")} labelled with their source` : "",
          e.flagged > 0 ? `${plural(e.flagged, "cell")} look like instructions aimed at the agent` : "",
        ]
          .filter(Boolean)
          .join(" · "),
        at,
      });
      return;
    }
    case "flow": {
      const flow = flowOfEvent(e);
      graph.add(flow); // new, or a known transfer (from its approval) with newer fields
      showTransfer(FlowGraph.idOf(flow));
      queueGraph();
      return;
    }
    case "flow_outcome": {
      if (!graph.outcome(e)) return; // a transfer this page never saw: nothing to place it by
      showTransfer(e.flow_id);
      queueGraph();
      return;
    }
    case "approval_requested": {
      addCard(e);
      fillPreviews();
      // A held transfer has its row (its `flow` event, "Waiting to go to"); a held deletion
      // gets one here, rewritten when it is answered.
      const a = describeApproval(normaliseApproval(e));
      const id = String(e.approval_id ?? "");
      if (a.deletion && id && !approvalRows.has(id)) {
        approvalRows.set(id, addFeedRow({ group: "flows", kind: "held", title: `Waiting for your approval: ${a.subject}`, badge: "Waiting", decision: "ask", at: Date.now() }));
      }
      return;
    }
    case "approval_resolved": {
      const id = String(e.approval_id ?? "");
      const info = approvalInfo.get(id) ?? { line: cards.get(id)?.line ?? "a held transfer" };
      removeCard(id);
      const flowId = e.flow_id ?? info.flowId;
      if (flowId !== undefined && flowId !== null && graph.has(flowId)) {
        // The transfer's own row says how it ended (and flow_outcome, whether it was written).
        if (graph.resolve(flowId, e.state, e.decided_by ?? null, e.reason ?? "")) {
          showTransfer(flowId);
          queueGraph();
        }
        return;
      }
      const words =
        e.state === "allowed" ? (e.scope === "document" ? "Allowed (always for this document)" : "Allowed once") : e.state === "expired" ? "Not answered in time, denied" : "Denied";
      const view = {
        group: "flows",
        kind: e.state === "allowed" ? "ok" : "blocked",
        title: `${words}: ${info.line}`,
        detail: [DECIDED_BY[e.decided_by] ?? String(e.decided_by ?? ""), e.reason].filter(Boolean).join(" · "),
        badge: e.state === "allowed" ? "Allowed" : "Denied",
        decision: e.state === "allowed" ? "allow" : "block",
        at,
      };
      putRow(approvalRows.get(id), view);
      approvalRows.delete(id);
      return;
    }
    case "policy_changed": {
      addFeedRow({
        group: "docs",
        kind: e.error ? "warn" : "info",
        title: e.error ? "The administrator's policy file could not be used; the last good policy stays" : "The administrator's policy changed",
        detail: e.error ? String(e.error) : "",
        at,
      });
      renderDisabled(e.policy);
      loadPolicy().catch(() => {});
      return;
    }
    case "lagged": {
      addFeedRow({ group: "docs", kind: "warn", title: `This page fell behind and missed ${plural(Number(e.missed) || 0, "event")}; reloading the current state`, at: Date.now() });
      resync().catch(() => {});
      return;
    }
    default:
      return;
  }
}

// ------------------------------------------------------------------ the graph

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null && v !== false) el.setAttribute(k, String(v));
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

function queueGraph() {
  if (graphQueued) return;
  graphQueued = true;
  requestAnimationFrame(() => {
    graphQueued = false;
    renderGraph();
  });
}

function fit(text, width, px = 7) {
  const max = Math.max(4, Math.floor(width / px));
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function renderGraph() {
  const box = $("graph");
  const has = graph.size > 0;
  $("graph-empty").hidden = has;
  $("graph-legend").hidden = !has;
  $("graph-table-wrap").hidden = !has;
  if (!has) {
    box.replaceChildren();
    return;
  }
  // Drawn for the width it has (never under 480 units: a narrow window scales it down, and
  // opens the table, which reads better there).
  const width = Math.max(480, Math.min(760, Math.round(box.clientWidth || 760)));
  const g = layout(graph, width);
  if (box.clientWidth && box.clientWidth < 520 && !tableOpened) {
    tableOpened = true;
    $("graph-table-wrap").open = true;
  }
  const names = new Map(g.nodes.map((n) => [n.key, n.name]));
  const pairs = graph.pairs();
  const sentence = pairs.map((p) => `${names.get(p.source)} to ${names.get(p.target)}: ${pairLabel(p)}`);
  const edges = g.edges.map((e) =>
    svg(
      "g",
      {
        class: `edge d-${e.decision} k-${e.kind}`,
        "data-source": names.get(e.source),
        "data-target": names.get(e.target),
        "data-kind": e.kind,
        "data-values": e.values,
        "data-count": e.count,
        "data-decision": e.decision,
      },
      svg("title", {}, `${names.get(e.source)} → ${names.get(e.target)}: ${edgeWords(e)}`),
      svg("path", { class: "edge-line", d: e.d, "stroke-width": e.stroke }),
      svg("path", { class: "edge-head", d: e.arrow }),
    ),
  );
  const labels = g.labels.map((l) => svg("text", { class: "edge-label", x: l.x, y: l.y, "text-anchor": "middle", "data-source": names.get(l.source), "data-target": names.get(l.target) }, l.text));
  const nodes = g.nodes.map((n) =>
    svg(
      "g",
      { class: `node app-${n.app || "file"}`, "data-name": n.name, transform: `translate(${n.x} ${n.y})` },
      svg("title", {}, `${n.name} (${APP_LABEL[n.app] ?? n.app})`),
      svg("rect", { class: "node-box", width: n.w, height: n.h, rx: 4 }),
      svg("rect", { class: "node-chip", x: 8, y: 10, width: 24, height: 24, rx: 3 }),
      svg("text", { class: "node-letter", x: 20, y: 27, "text-anchor": "middle" }, n.app === "excel" ? "X" : n.app === "powerpoint" ? "P" : "F"),
      svg("text", { class: "node-name", x: 40, y: 20 }, fit(n.name, n.w - 48)),
      svg("text", { class: "node-app", x: 40, y: 35 }, APP_LABEL[n.app] ?? n.app),
    ),
  );
  const pic = svg(
    "svg",
    { viewBox: `0 0 ${g.width} ${g.height}`, role: "img", "aria-labelledby": "graph-title graph-desc", preserveAspectRatio: "xMidYMin meet" },
    svg("title", { id: "graph-title" }, "What moved where"),
    svg("desc", { id: "graph-desc" }, sentence.join("; ")),
    svg("g", { class: "edges" }, edges),
    svg("g", { class: "nodes" }, nodes),
    svg("g", { class: "labels" }, labels),
  );
  box.replaceChildren(pic);
  // The same as a table: one row per pair, what moved apart from what was kept out.
  $("graph-rows").replaceChildren(
    ...pairs.map((p) =>
      h(
        "tr",
        { "data-source": names.get(p.source), "data-target": names.get(p.target) },
        h("td", {}, names.get(p.source)),
        h("td", {}, names.get(p.target)),
        h("td", { class: "num" }, String(p.values)),
        h("td", { class: "num" }, String(p.keptValues)),
        h("td", { class: "num" }, String(p.pendingValues)),
        h("td", { class: "num" }, String(p.count)),
      ),
    ),
  );
}

// ------------------------------------------------------------------ policy

async function loadPolicy() {
  let body;
  try {
    body = await getJson("/v1/policy");
  } catch (e) {
    if (e instanceof Unauthorized) throw e;
    // An older bridge without /v1/policy: what /v1/status says of the policy.
    const s = await getJson("/v1/status");
    const p = s?.policy ?? {};
    body = {
      path: null,
      error: null,
      values: [
        { path: "addins.excel.enabled", value: p.excel_enabled },
        { path: "addins.powerpoint.enabled", value: p.powerpoint_enabled },
        { path: "flows.enabled", value: p.flows_enabled },
      ].filter((v) => v.value !== undefined),
    };
  }
  renderPolicy(body);
  return body;
}

function renderPolicy(body) {
  const err = body?.error;
  $("policy-error").hidden = !err;
  $("policy-error-text").textContent = err ? `${err}. The last good policy (at start: the defaults) stays in force.` : "";
  const source = $("policy-source");
  source.replaceChildren(
    ...(body?.path ? ["From ", h("code", {}, String(body.path)), "; values the file does not set are the defaults."] : ["Where the policy file is was not reported by this bridge."]),
  );
  $("policy-rows").replaceChildren(
    ...policyRows(body).map((r) =>
      h(
        "tr",
        { "data-path": r.path },
        h("th", { scope: "row" }, r.label, h("div", { class: "policy-path" }, r.path)),
        h("td", {}, r.value),
        h("td", {}, r.source ? h("span", { class: `src src-${r.source === "policy file" ? "file" : "default"}` }, r.source) : "—"),
      ),
    ),
  );
}

// ------------------------------------------------------------------ start

function start() {
  $("no-token").hidden = true;
  $("monitor").hidden = false;
  stream = new EventStream(onEvent, () => resync());
  stream.start();
}

function main() {
  $("conn-retry").addEventListener("click", () => stream?.retryNow());
  $("feed-filter").addEventListener("change", (ev) => {
    $("feed").dataset.filter = ev.target.value;
    renderFeedEmpty();
  });
  $("token-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const value = $("token-input").value.trim();
    $("token-input").value = "";
    if (!tokenShape(value)) {
      $("no-token-why").textContent = "That is not an office-bridge desktop token (64 hexadecimal characters, from office-bridge token show --desktop).";
      return;
    }
    token = value;
    storage()?.setItem(TOKEN_KEY, value);
    start();
  });
  setInterval(tick, 1000);
  // The graph is laid out for the width it has.
  let resized = null;
  window.addEventListener("resize", () => {
    clearTimeout(resized);
    resized = setTimeout(queueGraph, 150);
  });
  token = takeToken();
  if (!token) {
    showNoToken(NO_TOKEN);
    return;
  }
  start();
}

main();
