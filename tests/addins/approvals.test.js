// The approval cards both panes share (addins/shared/approvals.js), on a small DOM stand-in:
// what a card says, its buttons per host and per kind, approval.decide on click, how a card
// ends (answered here, answered elsewhere, expired, already gone) and the feed line for each,
// the countdown, the connection state, the keyboard focus when a card goes.
import { test, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { install } from "./helpers/mini-dom.mjs";
import { ApprovalCards, OFFLINE_WORDS, answerWords, catchUpFlows, isGone, reconcileApprovals, settledWords, URGENT_MS } from "../../addins/shared/approvals.js";
import { FlowFeed } from "../../addins/shared/flows.js";
import { Feed } from "../../addins/shared/ui.js";

const NOW = 1_700_000_000_000;
const flow = {
  flow_id: 7,
  source: { app: "powerpoint", name: "Board.pptx", id: "doc_2" },
  sheet: "",
  cells: "",
  target: { app: "excel", name: "Q3.xlsx", id: "doc_1" },
  location: "Summary!A1:C3",
  matched: 9,
  sensitivity: "confidential",
  explicit: false,
  decision: "ask",
  reason: "confidential data needs your approval",
};
const xlFlow = { ...flow, source: { app: "excel", name: "Budget.xlsx", id: "doc_3" }, sheet: "Costs", cells: "A1:C3" };
const request = (id, f = xlFlow, expiresIn = 90000) => ({ approval_id: id, write_id: "wr_1", flow_id: f.flow_id, target: f.target, held: { kind: "flow", flow: f }, flow: f, expires_at: NOW + expiresIn, line: "…" });
const deletion = (id) => ({
  approval_id: id,
  target: { app: "excel", name: "Q3.xlsx", id: "doc_1" },
  held: { kind: "deletion", what: "sheet Costs" },
  flow: { what: "sheet Costs", target: { name: "Q3.xlsx" }, location: "sheet Costs", reason: "deletions need your permission" },
  expires_at: NOW + 60000,
});

let doc, list, empty, heading, lines, decided, answer, clock, connected;

function make(host = "excel", extra = {}) {
  return new ApprovalCards({
    host,
    list,
    empty,
    heading,
    feed: { add: (l) => lines.push(l) },
    decide: (...args) => {
      decided.push(args);
      return answer();
    },
    connected: () => connected,
    now: () => clock,
    ...extra,
  });
}

const text = (el) => el.textContent.replace(/\s+/g, " ").trim();
const buttons = (el) => el.querySelectorAll("button");
const byLabel = (el, label) => buttons(el).find((b) => b.textContent === label);
const tickAway = () => new Promise((r) => setImmediate(r));

beforeEach(() => {
  doc = install();
  heading = doc.createElement("h2");
  heading.id = "approvals-h";
  empty = doc.createElement("p");
  list = doc.createElement("div");
  doc.body.append(heading, empty, list);
  lines = [];
  decided = [];
  answer = async () => ({ accepted: true });
  clock = NOW;
  connected = true;
});

test("a held transfer is a policy tip: one headline with a verb, what and from where; a preview; one line of why with Details; Allow once and Block on one row; the standing choice apart", () => {
  const cards = make("excel");
  const card = cards.add({ ...request("apr_1"), action: "write to Summary!A1:C3", preview: { rows: [["Region", "Q3"], ["EMEA", "$1.42M"]], more: true } });
  assert.equal(list.children.length, 1);
  assert.equal(empty.hidden, true);
  assert.equal(card.tagName, "ARTICLE");
  assert.equal(card.getAttribute("data-approval-id"), "apr_1");
  const h3 = card.querySelector("h3");
  assert.equal(card.getAttribute("aria-labelledby"), h3.id, "the card is named by its headline");
  assert.equal(h3.textContent, "The agent wants to write to Summary!A1:C3 with 9 confidential values from Budget.xlsx > Costs!A1:C3");
  // What it would write: text, cell by cell.
  const preview = card.querySelector("div.tip-preview");
  assert.deepEqual(preview.querySelectorAll("td").map((td) => td.textContent), ["Region", "Q3", "EMEA", "$1.42M"]);
  assert.match(text(preview), /and more$/);
  // One line of why; the rest behind Details.
  assert.equal(card.querySelector("p.tip-reason").textContent, "confidential data needs your approval");
  const details = card.querySelector("details");
  assert.equal(details.querySelector("summary").textContent, "Details");
  const dl = text(details.querySelector("dl"));
  assert.match(dl, /From\s*Budget\.xlsx > Costs!A1:C3/);
  assert.match(dl, /To\s*Q3\.xlsx, Summary!A1:C3/);
  assert.match(dl, /What\s*9 values matched \(found in what the agent wrote\)/);
  assert.match(dl, /Sensitivity\s*Confidential/);
  assert.equal(details.querySelector("span").className, "badge sens-conf");
  assert.match(dl, /Why held\s*confidential data needs your approval/);
  const timer = card.querySelector("span.countdown");
  assert.equal(text(timer), "Blocked automatically in 1:30");
  assert.equal(timer.getAttribute("role"), "timer");
  assert.equal(timer.getAttribute("aria-live"), "off", "the countdown is not announced every second");
  // Allow once and Block together in one row; "Always for this workbook" in a row of its own.
  assert.deepEqual(card.querySelector("div.tip-actions").querySelectorAll("button").map((b) => b.textContent), ["Allow once", "Block"]);
  assert.deepEqual(card.querySelector("div.tip-foot").querySelectorAll("button").map((b) => b.textContent), ["Always for this workbook"]);
  assert.deepEqual(buttons(card).map((b) => b.getAttribute("aria-label")), [
    "Allow once: content from Budget.xlsx > Costs!A1:C3",
    "Block: content from Budget.xlsx > Costs!A1:C3",
    "Always for this workbook: always allow content from Budget.xlsx in this workbook",
  ]);
  assert.ok(buttons(card).every((b) => b.getAttribute("type") === "button" && !b.disabled), "ordinary, enabled buttons: in the tab order");
  assert.equal(cards.size, 1);
  assert.equal(cards.has("apr_1"), true);
});

test("without the write's action or preview (an older bridge): still one headline with a verb, no empty preview", () => {
  const card = make("excel").add(request("apr_1"));
  assert.equal(card.querySelector("h3").textContent, "The agent wants to put data into this workbook, Summary!A1:C3 with 9 confidential values from Budget.xlsx > Costs!A1:C3");
  assert.equal(card.querySelector("div.tip-preview").hidden, true);
});

test("the PowerPoint wording: Always for this deck", () => {
  const card = make("powerpoint").add({ ...request("apr_1", { ...xlFlow, target: { app: "powerpoint", name: "Deck.pptx", id: "doc_9" }, location: "slide 3", sensitivity: "normal" }), action: "add a table to slide 3" });
  assert.equal(card.querySelector("h3").textContent, "The agent wants to add a table to slide 3 with 9 values from Budget.xlsx > Costs!A1:C3");
  assert.deepEqual(buttons(card).map((b) => b.textContent), ["Allow once", "Block", "Always for this deck"]);
  assert.equal(byLabel(card, "Always for this deck").getAttribute("aria-label"), "Always for this deck: always allow content from Budget.xlsx in this deck");
  assert.equal(answerWords("allow", "document", "deck"), "You allowed (always for this deck)");
});

test("a held deletion is a policy tip too, and offers Allow once and Block only", () => {
  const card = make("excel").add({ ...deletion("apr_d"), action: "delete sheet Costs" });
  assert.equal(card.querySelector("h3").textContent, "The agent wants to delete sheet Costs from this workbook");
  assert.equal(card.querySelector("p.tip-reason").textContent, "deletions need your permission");
  assert.match(text(card.querySelector("dl")), /Why held\s*deletions need your permission/);
  assert.deepEqual(buttons(card).map((b) => b.textContent), ["Allow once", "Block"]);
  assert.equal(buttons(card)[1].getAttribute("aria-label"), "Block: delete sheet Costs from Q3.xlsx");
});

test("a write held after instruction-like text is a policy tip: what it would do, why in one line, the bridge's sentence under Details", () => {
  const why = { rule: "after_flagged_instructions", policy: "ask" };
  const reason = "writing to Q3.xlsx: the agent read text in Notes.xlsx that looks like instructions aimed at an AI agent (Notes!A4: asks to ignore instructions), and may be following it; your administrator requires approval for writes after that";
  const card = make("excel").add({
    approval_id: "apr_i",
    write_id: "wr_9",
    flow_id: null,
    target: { app: "excel", name: "Q3.xlsx", id: "doc_1" },
    held: { kind: "after_instructions", why, reason },
    flow: { target: { name: "Q3.xlsx" }, why, reason },
    action: "write to Summary!A1:B2",
    preview: { rows: [["ok", "1"]], more: false },
    expires_at: NOW + 60000,
  });
  assert.equal(card.querySelector("h3").textContent, "The agent wants to write to Summary!A1:B2 after reading text that looks like instructions aimed at it");
  assert.equal(card.querySelector("p.tip-reason").textContent, "The agent read text that looks like instructions aimed at it; your administrator requires approval for writes after that");
  assert.match(text(card.querySelector("dl")), /Why held\s*writing to Q3\.xlsx: the agent read text in Notes\.xlsx/);
  assert.deepEqual(buttons(card).map((b) => b.textContent), ["Allow once", "Block"]);
  assert.equal(card.querySelector("div.tip-preview").hidden, false);
});

test("a repeated or missing approval_id adds no card; cards are newest first with distinct ids", () => {
  const cards = make();
  assert.ok(cards.add(request("apr_1")));
  assert.equal(cards.add(request("apr_1")), null);
  assert.equal(cards.add({ flow: xlFlow }), null);
  assert.equal(cards.add(null), null);
  cards.add(request("apr_2"));
  assert.deepEqual(list.children.map((c) => c.getAttribute("data-approval-id")), ["apr_2", "apr_1"]);
  const ids = list.children.map((c) => c.querySelector("h3").id);
  assert.notEqual(ids[0], ids[1]);
});

test("Allow once sends approval.decide {allow, once}; the card goes and the feed says so", async () => {
  const cards = make("excel");
  const card = cards.add(request("apr_1"));
  let release;
  answer = () => new Promise((r) => (release = r));
  byLabel(card, "Allow once").click();
  assert.deepEqual(decided, [["apr_1", "allow", "once"]]);
  assert.ok(buttons(card).every((b) => b.disabled), "no second answer while the first is on its way");
  assert.equal(card.querySelector("p.message").textContent, "Sending your answer…");
  byLabel(card, "Block").click(); // disabled: nothing sent
  assert.equal(decided.length, 1);
  release({ accepted: true });
  await tickAway();
  assert.equal(list.children.length, 0);
  assert.equal(empty.hidden, false);
  assert.deepEqual(lines, [{ kind: "ok", title: "You allowed once: content from Budget.xlsx > Costs!A1:C3", detail: "Summary!A1:C3" }]);
});

test("Always for this workbook sends scope document; Block sends deny", async () => {
  const cards = make("excel");
  byLabel(cards.add(request("apr_1")), "Always for this workbook").click();
  byLabel(cards.add(request("apr_2")), "Block").click();
  await tickAway();
  assert.deepEqual(decided, [["apr_1", "allow", "document"], ["apr_2", "deny", "once"]]);
  assert.deepEqual(lines.map((l) => [l.kind, l.title]), [
    ["ok", "You allowed (always for this workbook): content from Budget.xlsx > Costs!A1:C3"],
    ["blocked", "You blocked: content from Budget.xlsx > Costs!A1:C3"],
  ]);
});

test("answered elsewhere first: -32602 'no pending approval' removes the card in words", async () => {
  const cards = make();
  answer = async () => {
    throw Object.assign(new Error("no pending approval apr_1"), { code: -32602 });
  };
  byLabel(cards.add(request("apr_1")), "Allow once").click();
  await tickAway();
  assert.equal(cards.size, 0);
  assert.deepEqual(lines.map((l) => [l.kind, l.title]), [["info", "Already answered elsewhere, or expired: content from Budget.xlsx > Costs!A1:C3"]]);
});

test("any other failure keeps the card, says so, and lets the person try again", async () => {
  const cards = make();
  const card = cards.add(request("apr_1"));
  answer = async () => {
    throw Object.assign(new Error("not connected to office-bridge"), { code: -32603 });
  };
  byLabel(card, "Allow once").click();
  await tickAway();
  assert.equal(cards.size, 1);
  assert.equal(card.querySelector("p.message").className, "message error");
  assert.match(card.querySelector("p.message").textContent, /^Your answer was not recorded: not connected to office-bridge\. Try again\.$/);
  assert.ok(buttons(card).every((b) => !b.disabled));
  answer = async () => ({ accepted: true });
  byLabel(card, "Allow once").click();
  await tickAway();
  assert.equal(cards.size, 0);
  assert.equal(lines.at(-1).title, "You allowed once: content from Budget.xlsx > Costs!A1:C3");
});

test("approval.resolved removes the card and says how it ended", () => {
  const cards = make();
  const cases = [
    [{ state: "allowed", decided_by: "events", scope: "once" }, "ok", "Allowed on the desktop"],
    [{ state: "denied", decided_by: "events", scope: "once" }, "blocked", "Blocked on the desktop"],
    [{ state: "allowed", decided_by: "elicitation", scope: "once" }, "ok", "Allowed in the agent's app"],
    [{ state: "denied", decided_by: "bridge", scope: "once" }, "blocked", "Blocked"],
    [{ state: "expired", decided_by: "timeout", scope: "once" }, "blocked", "Not answered in time, blocked"],
  ];
  cases.forEach(([msg], i) => cards.add(request(`apr_${i}`)));
  cases.forEach(([msg], i) => assert.equal(cards.settle({ approval_id: `apr_${i}`, ...msg }), true));
  assert.equal(cards.size, 0);
  assert.equal(empty.hidden, false);
  assert.deepEqual(
    lines.map((l) => [l.kind, l.title]),
    cases.map(([, kind, words]) => [kind, `${words}: content from Budget.xlsx > Costs!A1:C3`]),
  );
  assert.equal(cards.settle({ approval_id: "apr_unknown", state: "allowed", decided_by: "events" }), false, "no card, no line");
  assert.equal(lines.length, cases.length);
  assert.equal(settledWords({ state: "denied", decided_by: "pane" }), "Blocked");
});

test("the bridge's approval.resolved before its reply to this pane's answer: one line, in the person's words", async () => {
  const cards = make();
  let release;
  answer = () => new Promise((r) => (release = r));
  byLabel(cards.add(request("apr_1")), "Block").click();
  cards.settle({ approval_id: "apr_1", state: "denied", decided_by: "pane", scope: "once" });
  assert.equal(cards.size, 0);
  release({ accepted: true });
  await tickAway();
  assert.deepEqual(lines.map((l) => l.title), ["You blocked: content from Budget.xlsx > Costs!A1:C3"]);
});

test("the countdown ticks, turns urgent, and an unanswered card goes as blocked", () => {
  const cards = make();
  const card = cards.add(request("apr_1", xlFlow, 30000));
  const timer = card.querySelector("span.countdown");
  clock = NOW + 10000;
  cards.tick();
  assert.equal(text(timer), "Blocked automatically in 0:20");
  assert.equal(timer.classList.contains("urgent"), false);
  clock = NOW + 30000 - URGENT_MS;
  cards.tick();
  assert.equal(timer.classList.contains("urgent"), true);
  clock = NOW + 30000;
  cards.tick();
  assert.equal(cards.size, 0);
  assert.deepEqual(lines.map((l) => [l.kind, l.title]), [["blocked", "Not answered in time, blocked: content from Budget.xlsx > Costs!A1:C3"]]);
  cards.settle({ approval_id: "apr_1", state: "expired", decided_by: "timeout" });
  assert.equal(lines.length, 1, "the bridge's expiry after the pane's adds nothing");
});

test("a card whose answer is on its way does not expire under it", async () => {
  const cards = make();
  let release;
  answer = () => new Promise((r) => (release = r));
  byLabel(cards.add(request("apr_1", xlFlow, 5000)), "Allow once").click();
  clock = NOW + 6000;
  cards.tick();
  assert.equal(cards.size, 1);
  release({ accepted: true });
  await tickAway();
  assert.deepEqual(lines.map((l) => l.title), ["You allowed once: content from Budget.xlsx > Costs!A1:C3"]);
});

test("the buttons follow the connection", () => {
  connected = false;
  const cards = make();
  const card = cards.add(request("apr_1"));
  assert.ok(buttons(card).every((b) => b.disabled), "a card that arrives while disconnected cannot be answered yet");
  byLabel(card, "Allow once").click();
  assert.equal(decided.length, 0);
  cards.setEnabled(true);
  assert.ok(buttons(card).every((b) => !b.disabled));
  cards.setEnabled(false);
  assert.ok(buttons(card).every((b) => b.disabled));
});

test("keyboard: a focused card that goes hands the focus to the region's heading, never to another card's button", () => {
  const cards = make();
  const a = cards.add(request("apr_a"));
  const b = cards.add(request("apr_b"));
  buttons(b)[1].focus();
  cards.settle({ approval_id: "apr_b", state: "allowed", decided_by: "events" });
  // A second Enter must not answer the next card, which the person has not read.
  assert.equal(doc.activeElement, heading);
  assert.notEqual(doc.activeElement, buttons(a)[0]);
  buttons(a)[0].focus();
  cards.settle({ approval_id: "apr_a", state: "denied", decided_by: "events" });
  assert.equal(doc.activeElement, heading);
  // A card that goes while the focus is elsewhere (the person's document) does not take it.
  const c = cards.add(request("apr_c"));
  const elsewhere = doc.createElement("button");
  doc.body.append(elsewhere);
  elsewhere.focus();
  cards.settle({ approval_id: "apr_c", state: "denied", decided_by: "events" });
  assert.equal(doc.activeElement, elsewhere);
  assert.ok(c);
});

test("what the bridge sends stays text", () => {
  const evil = { ...xlFlow, source: { name: "<img src=x onerror=alert(1)>" }, reason: "<script>alert(1)</script>" };
  const card = make().add(request("apr_x", evil));
  assert.equal(card.querySelector("h3").textContent, "The agent wants to put data into this workbook, Summary!A1:C3 with 9 confidential values from <img src=x onerror=alert(1)> > Costs!A1:C3");
  const withPreview = make().add({ ...request("apr_y", evil), preview: { rows: [["<img src=x onerror=alert(1)>", "<b>bold</b>"]] } });
  assert.deepEqual(withPreview.querySelectorAll("td").map((td) => td.textContent), ["<img src=x onerror=alert(1)>", "<b>bold</b>"]);
  assert.equal(withPreview.querySelectorAll("img").length + withPreview.querySelectorAll("b").length, 0);
  assert.equal(card.querySelectorAll("img").length, 0);
  assert.equal(card.querySelectorAll("script").length, 0);
});

test("with the panes' Feed: the lines land in the feed list", async () => {
  const feedList = doc.createElement("ol");
  const feedEmpty = doc.createElement("p");
  const cards = make("excel", { feed: new Feed(feedList, feedEmpty) });
  byLabel(cards.add(request("apr_1")), "Allow once").click();
  await tickAway();
  assert.equal(feedEmpty.hidden, true);
  assert.equal(feedList.children[0].className, "feed-item feed-ok");
  assert.equal(feedList.querySelector("div.feed-title").textContent, "You allowed once: content from Budget.xlsx > Costs!A1:C3");
});

test("isGone recognises only the bridge's 'no pending approval' and 'was already …'", () => {
  assert.equal(isGone({ code: -32602, message: "no pending approval apr_1" }), true);
  assert.equal(isGone({ code: -32602, message: 'approval "apr_1" was already expired (by office-bridge); the first answer counts' }), true);
  assert.equal(isGone({ code: -32602, message: 'approval "apr_1" was already denied (on the desktop); the first answer counts' }), true);
  assert.equal(isGone({ code: -32602, message: "only a pane of that document may answer it" }), false);
  assert.equal(isGone({ code: -32603, message: "no pending approval" }), false);
  assert.equal(isGone(null), false);
});

test("while disconnected a card says answers wait for the connection; the line goes when it is back", () => {
  const cards = make();
  const card = cards.add(request("apr_1"));
  const message = card.querySelector("p.message");
  assert.equal(message.textContent, "");
  cards.setEnabled(false);
  assert.equal(message.textContent, OFFLINE_WORDS);
  assert.equal(OFFLINE_WORDS, "Not connected to office-bridge: answers wait for the connection.");
  assert.ok(buttons(card).every((b) => b.disabled));
  cards.setEnabled(true);
  assert.equal(message.textContent, "");
  connected = false;
  assert.equal(cards.add(request("apr_2")).querySelector("p.message").textContent, OFFLINE_WORDS, "a card that arrives while disconnected says so too");
});

test("an answer lost with the connection says it can be given again once connected", async () => {
  const cards = make();
  const card = cards.add(request("apr_1"));
  answer = async () => {
    connected = false;
    throw Object.assign(new Error("the connection to office-bridge closed before approval.decide was answered"), { code: -32603 });
  };
  byLabel(card, "Allow once").click();
  await tickAway();
  assert.match(card.querySelector("p.message").textContent, /was not recorded: .*\. You can answer again when the connection is back\.$/);
  assert.ok(buttons(card).every((b) => b.disabled));
});

test("reconcile after a bridge restart: cards it no longer holds go with one line; its own get cards", () => {
  const cards = make();
  cards.add(request("apr_old"));
  cards.add(deletion("apr_del"));
  cards.add(request("apr_kept"));
  const fresh = request("apr_new");
  const { added, removed } = cards.reconcile([request("apr_kept"), fresh], { restarted: true });
  assert.deepEqual(added.map((a) => a.approval_id), ["apr_new"]);
  assert.deepEqual(removed.map((r) => [r.id, r.flowId]), [["apr_old", 7], ["apr_del", null]]);
  assert.deepEqual(list.children.map((c) => c.getAttribute("data-approval-id")).sort(), ["apr_kept", "apr_new"]);
  assert.deepEqual(lines.map((l) => [l.kind, l.title]), [
    ["info", "Closed while office-bridge was away: content from Budget.xlsx > Costs!A1:C3 — nothing was written"],
    ["info", "Closed while office-bridge was away: delete sheet Costs from Q3.xlsx — nothing was written"],
  ]);
  // The same bridge (session resumed): the pane cannot tell answered elsewhere from expired.
  cards.reconcile([], { restarted: false });
  assert.equal(cards.size, 0);
  assert.deepEqual(lines.slice(2).map((l) => l.title).sort(), [
    "Closed while this pane was disconnected: content from Budget.xlsx > Costs!A1:C3 — answered elsewhere or expired",
    "Closed while this pane was disconnected: content from Budget.xlsx > Costs!A1:C3 — answered elsewhere or expired",
  ]);
  assert.equal(empty.hidden, false);
});

test("reconcile never brings back a card that went here, and leaves an answer on its way alone", async () => {
  const cards = make();
  const card = cards.add(request("apr_1"));
  cards.add(request("apr_2"));
  cards.settle({ approval_id: "apr_2", state: "denied", decided_by: "events", scope: "once" });
  let release;
  answer = () => new Promise((r) => (release = r));
  byLabel(card, "Allow once").click();
  // A list answered before the approval.resolved of apr_2 reached the bridge's list: stale.
  const r = cards.reconcile([request("apr_2")], { restarted: false });
  assert.deepEqual(r, { added: [], removed: [] });
  assert.equal(cards.has("apr_1"), true, "the busy card stays until its answer comes back");
  assert.equal(cards.has("apr_2"), false);
  release({ accepted: true });
  await tickAway();
  assert.equal(cards.size, 0);
});

test("reconcileApprovals: approval.list after register drives the cards and the transfers' lines", async () => {
  const cards = make();
  const flowLines = [];
  const flows = new FlowFeed({ feed: { add: (l) => (flowLines.push(l), { l }), update: () => false }, noun: "workbook", role: () => "target" });
  cards.add(request("apr_gone"));
  flows.held(request("apr_gone"));
  const f8 = { ...xlFlow, flow_id: 8 };
  const result = await reconcileApprovals({ listApprovals: async () => ({ approvals: [request("apr_8", f8)] }), cards, flows, restarted: true });
  assert.deepEqual(result.added.map((a) => a.approval_id), ["apr_8"]);
  assert.deepEqual(result.removed.map((r) => r.id), ["apr_gone"]);
  assert.equal(flows.state(8).outcome, "pending", "the one still held has its line, waiting");
  assert.equal(flows.state(7).outcome, "expired", "the one the old bridge held ended with it");
  assert.match(flowLines.at(-1).detail, /office-bridge restarted while it was held/);
  // A card (and its transfer) that came while approval.list was on its way is newer than
  // the list: it stays, its line is not settled.
  let answerList;
  const pending = reconcileApprovals({ listApprovals: () => new Promise((r) => (answerList = r)), cards, flows, restarted: true });
  const f9 = { ...xlFlow, flow_id: 9 };
  cards.add(request("apr_9", f9));
  flows.held(request("apr_9", f9));
  answerList({ approvals: [request("apr_8", f8)] });
  assert.deepEqual((await pending).removed, []);
  assert.equal(cards.has("apr_9"), true);
  assert.equal(flows.state(9).outcome, "pending");
  // An older bridge without approval.list: nothing changes, nothing fails.
  const before = cards.size;
  assert.equal(await reconcileApprovals({ listApprovals: async () => Promise.reject(Object.assign(new Error("method not found"), { code: -32601 })), cards, flows }), null);
  assert.equal(cards.size, before);
  await assert.rejects(reconcileApprovals({ listApprovals: async () => Promise.reject(Object.assign(new Error("closed"), { code: -32603 })), cards }), /closed/);
  // flow.list unanswered (timed out): the cards are still reconciled with approval.list.
  const timedOut = Object.assign(new Error("office-bridge did not answer flow.list within 30s"), { code: -32603 });
  const r2 = await reconcileApprovals({ listApprovals: async () => ({ approvals: [] }), listFlows: async () => Promise.reject(timedOut), cards, flows, restarted: true });
  assert.deepEqual(r2.removed.map((r) => r.id).sort(), ["apr_8", "apr_9"]);
  assert.equal(cards.size, 0);
});

test("catchUpFlows: transfers that ended while the pane was away get their outcome from flow.list", async () => {
  const lines = [];
  const flows = new FlowFeed({ feed: { add: (l) => (lines.push(l), { l }), update: (li, l) => (lines.push(l), true) }, noun: "workbook", role: () => "source" });
  flows.notice({ ...xlFlow, flow_id: 21, write_id: "wr_a", decision: "notify", outcome: "pending", written: null });
  flows.notice({ ...xlFlow, flow_id: 22, write_id: "wr_b", decision: "ask", outcome: "pending", written: null });
  flows.notice({ ...xlFlow, flow_id: 23, write_id: "wr_c", decision: "block", outcome: "blocked", written: false });
  let asked;
  const ended = await catchUpFlows({
    listFlows: async (ids) => {
      asked = ids;
      return { flows: [{ ...xlFlow, flow_id: 21, outcome: "notified", written: true, decided_by: "policy" }, { ...xlFlow, flow_id: 22, outcome: "pending", written: null }] };
    },
    flows,
  });
  assert.deepEqual(asked, [21, 22], "only the transfers not ended here");
  assert.equal(ended, 1);
  assert.equal(flows.state(21).outcome, "notified");
  assert.equal(flows.state(21).written, true);
  assert.equal(flows.state(22).outcome, "pending", "still held: left as it is");
  // An older bridge without flow.list changes nothing.
  assert.equal(await catchUpFlows({ listFlows: async () => Promise.reject(Object.assign(new Error("method not found"), { code: -32601 })), flows }), 0);
  assert.deepEqual(flows.pendingIds(), [22]);
});

test("approval.resolved's reason lands in the line; 'desktop' is the desktop", () => {
  const cards = make();
  cards.add(request("apr_1"));
  cards.settle({ approval_id: "apr_1", state: "denied", decided_by: "bridge", scope: "once", write_id: "wr_1", flow_id: 7, reason: "another transfer in the same write was denied" });
  assert.deepEqual(lines, [{ kind: "blocked", title: "Blocked: content from Budget.xlsx > Costs!A1:C3", detail: "Summary!A1:C3 · another transfer in the same write was denied" }]);
  assert.equal(settledWords({ state: "allowed", decided_by: "desktop" }), "Allowed on the desktop");
});
