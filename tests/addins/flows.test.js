// A transfer's line in the panes' activity (addins/shared/flows.js): one line per flow_id,
// rewritten in place from detection to outcome, in the words of this pane's end (source or
// target), on the mini DOM with the panes' Feed.
import { test, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { install } from "./helpers/mini-dom.mjs";
import { Feed } from "../../addins/shared/ui.js";
import { FlowFeed, flowLine, flowRole, lifecycleOf, phaseOf, MAX_TRACKED } from "../../addins/shared/flows.js";

const Q3 = { app: "excel", name: "Q3.xlsx", id: "doc_q3" };
const BOARD = { app: "powerpoint", name: "Board.pptx", id: "doc_board" };
const summary = (extra = {}) => ({
  flow_id: 42,
  write_id: "wr_7",
  source: Q3,
  sheet: "Revenue",
  cells: "A1:D4",
  cell_count: 16,
  target: BOARD,
  location: "slide 3",
  matched: 12,
  confidence: 0.97,
  strength: "confirmed",
  sensitivity: "confidential",
  explicit: false,
  decision: "ask",
  reason: "confidential data needs your approval",
  line: "12 values from Q3.xlsx > Revenue!A1:D4 moved into Board.pptx slide 3",
  ...extra,
});
const notice = (extra = {}) => ({ ...summary(extra), outcome: extra.outcome ?? "pending", written: extra.written ?? null });
const outcome = (outcome, extra = {}) => ({ flow_id: 42, write_id: "wr_7", outcome, written: false, decided_by: null, reason: "", at: 1764460010000, ...extra });

let doc, list, empty, feed;
beforeEach(() => {
  doc = install();
  list = doc.createElement("ol");
  empty = doc.createElement("p");
  doc.body.append(empty, list);
  feed = new Feed(list, empty);
});

const lines = () => list.children.map((li) => ({ kind: li.className.replace("feed-item feed-", ""), title: li.querySelector("div.feed-title").textContent, detail: li.querySelector("div.feed-detail").textContent }));
const excel = () => new FlowFeed({ feed, noun: "workbook", role: (f) => flowRole(f, "doc_q3", "source") });
const deck = () => new FlowFeed({ feed, noun: "deck", role: (f) => flowRole(f, "doc_board", "target") });

const SRC = "Board.pptx, slide 3: 12 values from Revenue!A1:D4";
const TGT = "this deck, slide 3: 12 values from Q3.xlsx > Revenue!A1:D4";

test("source pane: a held transfer waits, then is blocked: one line, updated in place", () => {
  const flows = excel();
  flows.notice(notice());
  assert.deepEqual(lines(), [{ kind: "held", title: `Waiting to go to ${SRC}`, detail: "sensitivity: Confidential · waiting for approval in Board.pptx" }]);
  const li = list.children[0];
  flows.outcome(outcome("denied", { decided_by: "pane", reason: "" }));
  assert.equal(list.children.length, 1, "never a second line for the same transfer");
  assert.equal(list.children[0], li, "the same element, in its place");
  assert.deepEqual(lines(), [{ kind: "blocked", title: `Kept out of ${SRC}`, detail: "sensitivity: Confidential · denied in the pane of Board.pptx" }]);
});

test("source pane: held, approved in the deck's pane, written: 'Moved into'", () => {
  const flows = excel();
  flows.notice(notice());
  flows.resolved({ approval_id: "apr_1", state: "allowed", decided_by: "pane", scope: "once", write_id: "wr_7", flow_id: 42 });
  assert.deepEqual(lines()[0], { kind: "held", title: `Moving into ${SRC}`, detail: "sensitivity: Confidential · approved in the pane of Board.pptx, being written" });
  flows.outcome(outcome("approved", { written: true, decided_by: "pane" }));
  assert.deepEqual(lines(), [{ kind: "moved", title: `Moved into ${SRC}`, detail: "sensitivity: Confidential · approved in the pane of Board.pptx" }]);
});

test("target pane: the same transfer in the deck's words", () => {
  const flows = deck();
  flows.notice(notice());
  assert.deepEqual(lines()[0], { kind: "held", title: `Waiting to go to ${TGT}`, detail: "sensitivity: Confidential · waiting for your approval" });
  flows.outcome(outcome("approved", { written: true, decided_by: "pane" }));
  assert.deepEqual(lines(), [{ kind: "moved", title: `Moved into ${TGT}`, detail: "sensitivity: Confidential · approved in this pane" }]);
  flows.notice(notice({ flow_id: 43, decision: "block", reason: "confidential data may not leave Q3.xlsx", outcome: "blocked", written: false }));
  assert.deepEqual(lines()[0], { kind: "blocked", title: `Kept out of ${TGT}`, detail: "sensitivity: Confidential · blocked by the policy · confidential data may not leave Q3.xlsx" });
});

test("a notice already final (blocked outright) and its flow.outcome: still one line", () => {
  const flows = excel();
  flows.notice(notice({ decision: "block", reason: "confidential data may not leave Q3.xlsx", outcome: "blocked", written: false }));
  flows.outcome(outcome("blocked", { decided_by: null, reason: "" }));
  assert.equal(list.children.length, 1);
  assert.deepEqual(lines()[0], { kind: "blocked", title: `Kept out of ${SRC}`, detail: "sensitivity: Confidential · blocked by the policy · confidential data may not leave Q3.xlsx" });
});

test("every outcome in words, from the source's end: the verb says what happened to the data", () => {
  const cases = [
    [{ outcome: "allowed", written: true }, "moved", "Moved into", "allowed"],
    [{ outcome: "allowed", written: true, decided_by: "standing choice" }, "moved", "Moved into", "allowed by a standing choice"],
    [{ outcome: "notified", written: true }, "moved", "Moved into", "allowed and shown to you"],
    [{ outcome: "approved", written: true, decided_by: "desktop" }, "moved", "Moved into", "approved on the desktop"],
    [{ outcome: "approved", written: true, decided_by: "elicitation" }, "moved", "Moved into", "approved in the agent's app"],
    [{ outcome: "notified", written: false, reason: "the deck's pane disconnected during the write" }, "error", "Not written into", "allowed, but the write failed · the deck's pane disconnected during the write"],
    [{ outcome: "denied", decided_by: "desktop" }, "blocked", "Kept out of", "denied on the desktop"],
    [{ outcome: "denied", decided_by: "bridge", reason: "another transfer in the same write was denied" }, "blocked", "Kept out of", "denied · another transfer in the same write was denied"],
    [{ outcome: "blocked" }, "blocked", "Kept out of", "blocked by the policy · Your administrator requires approval for confidential data"],
    [{ outcome: "expired", decided_by: "timeout" }, "blocked", "Expired, kept out of", "nobody answered in time"],
    [{ outcome: "expired", decided_by: "bridge", reason: "the bridge restarted" }, "blocked", "Expired, kept out of", "expired · the bridge restarted"],
  ];
  for (const [o, kind, verb, status] of cases) {
    const f = summary(o.outcome === "blocked" ? { decision: "block", reason: "", why: { rule: "admin_policy", policy: "ask", sensitivity: { level: "confidential" } } } : {});
    const line = flowLine({ flow: f, decided_by: null, reason: "", ...o }, { role: "source", noun: "workbook" });
    assert.equal(line.kind, kind, JSON.stringify(o));
    assert.equal(line.title, `${verb} ${SRC}`, JSON.stringify(o));
    assert.equal(line.detail, `sensitivity: Confidential · ${status}`, JSON.stringify(o));
  }
});

test("a transfer allowed itself but kept out with the rest of its write says so", () => {
  const line = flowLine({ flow: summary({ decision: "allow", reason: "data from Q3.xlsx goes to Board.pptx" }), outcome: "blocked", written: false, decided_by: null, reason: "" }, { role: "source" });
  assert.equal(line.title, `Kept out of ${SRC}`);
  assert.match(line.detail, /blocked by the policy · another transfer in the same write was kept out$/);
});

test("allowed and being written, then written", () => {
  const flows = deck();
  flows.notice(notice({ decision: "notify" }));
  assert.deepEqual(lines()[0], { kind: "held", title: `Moving into ${TGT}`, detail: "sensitivity: Confidential · allowed, being written" });
  flows.outcome(outcome("notified", { written: true }));
  assert.equal(lines()[0].title, `Moved into ${TGT}`);
  assert.match(lines()[0].detail, /allowed and shown to you$/);
});

test("a sheet name that is not a plain name is quoted as Excel writes it", () => {
  const flows = excel();
  flows.notice(notice({ sheet: "Q3 data" }));
  assert.equal(lines()[0].title, "Waiting to go to Board.pptx, slide 3: 12 values from 'Q3 data'!A1:D4");
  flows.notice(notice({ flow_id: 7, sheet: "Bob's" }));
  assert.equal(lines()[0].title, "Waiting to go to Board.pptx, slide 3: 12 values from 'Bob''s'!A1:D4");
});

test("a reloaded pane shows the bridge's latest transfers (flow.list recent), each once, with its outcome and time", () => {
  const flows = deck();
  const t0 = Date.UTC(2025, 0, 1, 10, 0, 0);
  // Newest first, as the bridge lists them.
  const rows = [
    { ...summary({ flow_id: 3 }), outcome: "expired", written: false, decided_by: "timeout", at: t0 + 3000 },
    { ...summary({ flow_id: 2, decision: "block" }), outcome: "blocked", written: false, decided_by: "policy", at: t0 + 2000 },
    { ...summary({ flow_id: 1 }), outcome: "approved", written: true, decided_by: "desktop", at: t0 + 1000 },
  ];
  assert.equal(flows.load(rows), 3);
  assert.deepEqual(
    lines().map((l) => l.title.split(":")[0]),
    ["Expired, kept out of this deck, slide 3", "Kept out of this deck, slide 3", "Moved into this deck, slide 3"],
  );
  assert.deepEqual(list.children.map((li) => Number(li.getAttribute("data-at"))), [t0 + 3000, t0 + 2000, t0 + 1000]);
  // A reconnect lists them again: no second line; a held one shown as waiting takes its end.
  flows.notice(notice({ flow_id: 4 }));
  flows.load([{ ...summary({ flow_id: 4 }), outcome: "denied", written: false, decided_by: "desktop", at: t0 + 4000 }, ...rows]);
  assert.equal(list.children.length, 4);
  assert.equal(flows.state(4).outcome, "denied");
  assert.match(lines()[0].title, /^Kept out of this deck/);
  // A line that arrives live is newer than the listed ones: on top.
  assert.equal(flows.load(null), 0);
});

test("an approval card that goes is told on its transfer's line, not in a line of its own", () => {
  const flows = deck();
  flows.notice(notice());
  assert.equal(flows.settled({ flow_id: 42, state: "denied", decided_by: "pane", scope: "once", reason: "" }), true);
  assert.equal(list.children.length, 1);
  assert.equal(lines()[0].title, `Kept out of ${TGT}`);
  assert.equal(lines()[0].detail, "sensitivity: Confidential · denied in this pane");
  assert.equal(flows.settled({ flow_id: 99, state: "denied" }), false, "a transfer without a line");
});

test("an approval seen before its notice (or after a reconnect) makes the line; the notice then updates it", () => {
  const flows = deck();
  const f = summary();
  flows.held({ approval_id: "apr_1", write_id: "wr_7", flow_id: 42, target: BOARD, held: { kind: "flow", flow: f }, flow: f, expires_at: 1, line: "…" });
  flows.held({ approval_id: "apr_1", write_id: "wr_7", flow_id: 42, target: BOARD, held: { kind: "flow", flow: f }, flow: f, expires_at: 1, line: "…" });
  flows.notice(notice());
  assert.equal(list.children.length, 1);
  assert.equal(lines()[0].title, `Waiting to go to ${TGT}`);
  // A deletion is not a transfer.
  assert.equal(flows.held({ approval_id: "apr_d", flow_id: null, held: { kind: "deletion", what: "slide 2" }, flow: { what: "slide 2" } }), null);
  assert.equal(list.children.length, 1);
});

test("approval.resolved denied or expired is final at once; a later pending notice does not undo it", () => {
  const flows = deck();
  flows.notice(notice());
  flows.resolved({ approval_id: "apr_1", state: "expired", decided_by: "timeout", scope: "once", flow_id: 42, write_id: "wr_7", reason: "" });
  assert.equal(lines()[0].title, `Expired, kept out of ${TGT}`);
  assert.match(lines()[0].detail, /nobody answered in time$/);
  flows.notice(notice());
  assert.equal(lines()[0].title, `Expired, kept out of ${TGT}`);
  assert.equal(flows.state(42).outcome, "expired");
});

test("flow.outcome for a transfer this pane never saw adds nothing", () => {
  const flows = excel();
  assert.equal(flows.outcome(outcome("blocked", { flow_id: 99 })), null);
  assert.equal(list.children.length, 0);
});

test("a line that left the feed (its cap) comes back as a new line when its outcome arrives", () => {
  feed = new Feed(list, empty, 2);
  const flows = excel();
  flows.notice(notice());
  feed.add({ title: "read 1" });
  feed.add({ title: "read 2" });
  assert.ok(!lines().some((l) => l.title.startsWith("Waiting")));
  flows.outcome(outcome("blocked"));
  assert.equal(lines()[0].title, `Kept out of ${SRC}`);
  assert.equal(list.children.length, 2);
});

test("after a reconnect: still held stays; a bridge restart expired the held ones; others are unknown", () => {
  const flows = deck();
  flows.notice(notice({ flow_id: 1 }));
  flows.notice(notice({ flow_id: 2 }));
  flows.notice(notice({ flow_id: 3, decision: "allow" }));
  flows.notice(notice({ flow_id: 4, decision: "allow", outcome: "allowed", written: true }));
  flows.reconnected({ open: new Set(["1"]), restarted: true });
  const byId = (id) => flows.state(id);
  assert.equal(byId(1).outcome, "pending");
  assert.equal(byId(2).outcome, "expired");
  assert.equal(byId(3).lost, true);
  assert.equal(byId(4).outcome, "allowed");
  const text = lines().map((l) => `${l.title} | ${l.detail}`);
  assert.ok(text.some((t) => /^Expired, kept out of this deck, .* expired · office-bridge restarted while it was held$/.test(t)), text.join("\n"));
  assert.ok(text.some((t) => /^Not known whether it moved into this deck, .*how it ended was not received while this pane was disconnected$/.test(t)), text.join("\n"));
  // The same bridge (a resumed session): a held one no longer in the list is unknown, not guessed.
  flows.reconnected({ open: new Set(), restarted: false });
  assert.equal(byId(1).lost, true);
  // Its outcome, if it does come, still lands on the line.
  flows.outcome(outcome("approved", { flow_id: 1, written: true, decided_by: "desktop" }));
  assert.equal(byId(1).lost, false);
  assert.equal(list.children.length, 4);
});

test("role: by the document ids register gave; the host's usual role without them", () => {
  assert.equal(flowRole(summary(), "doc_q3"), "source");
  assert.equal(flowRole(summary(), "doc_board"), "target");
  assert.equal(flowRole({ source: { name: "Q3.xlsx" }, target: { name: "Board.pptx" } }, "doc_excel", "source"), "source");
  assert.equal(flowRole({ source: { name: "Q3.xlsx" } }, undefined, "target"), "target");
});

test("an older bridge's notice without an outcome: the decision says it", () => {
  assert.deepEqual(lifecycleOf({ ...summary({ decision: "block" }) }), { outcome: "blocked", written: false, decided_by: null, reason: "" });
  assert.equal(lifecycleOf(summary({ decision: "ask" })).outcome, "pending");
  assert.deepEqual(lifecycleOf(summary({ decision: "notify" })), { outcome: "notified", written: null, decided_by: null, reason: "" });
  assert.equal(phaseOf({ flow: summary({ decision: "allow" }), ...lifecycleOf(summary({ decision: "allow" })) }), "moved");
  assert.equal(lifecycleOf(notice({ outcome: "denied", written: true })).written, false, "data kept out is never written");
});

test("what the bridge sends stays text; the pane remembers a bounded number of transfers", () => {
  const flows = excel();
  flows.notice(notice({ sheet: "<img src=x onerror=alert(1)>" }));
  assert.equal(list.querySelectorAll("img").length, 0);
  assert.match(lines()[0].title, /'<img src=x onerror=alert\(1\)>'!A1:D4/);
  for (let i = 0; i < MAX_TRACKED + 10; i++) flows.notice(notice({ flow_id: 1000 + i }));
  assert.equal(flows.size, MAX_TRACKED);
  assert.equal(list.children.length, 50, "the feed keeps its own cap");
});
