// The JavaScript readers of transfers held to what the REAL bridge sends: set
// OFFICE_BRIDGE_BIN to the built binary (for example target/debug/office-bridge); skipped
// otherwise. No browser: the readers are plain modules.
//
// Starts `office-bridge serve --port 0` with a policy that blocks transfers of ordinary data,
// holds confidential data for approval and makes the sheet "Revenue" confidential
// (sensitivity.confidential_sheets), and holds deletions. Two simulated panes (Q3.xlsx, a
// workbook with the sheets Revenue and Costs; Board.pptx) connect over wss, the desktop
// reads GET /v1/events, and an agent over MCP makes five writes:
//   1. Costs!A1:C3 copied by reference into slide 1: blocked by the policy;
//   2. Revenue's figures, reformatted, into slide 3: held, denied on the desktop;
//   3. Revenue!A1:D4 copied by reference into slide 2: held, allowed in the deck's pane with
//      "Always for this deck";
//   4. the reformatted figures again: notified (that standing choice softens the hold);
//   5. slide 2 deleted: held as a deletion, denied in the deck's pane.
// Every payload that carries a transfer or an approval is kept: the `flow`, `flow_outcome`,
// `approval_requested` and `approval_resolved` events, the panes' `flow.notice`,
// `flow.outcome`, `approval.request` and `approval.resolved`, the answers to `approval.list`
// and `flow.list`, `GET /v1/approvals`, `GET /v1/flows` and the `flows_recent` tool. Then the
// readers the panes and the monitor use (shared/ui.js describeFlow, describeApproval,
// explainWhy; shared/flows.js; shared/approvals.js; monitor/model.js) read each of them,
// and each reading is checked against what the scenario knows independently of field names:
// a field the readers use that the bridge renames or drops fails here.
// The examples of docs/events.md and docs/addin-protocol.md are held to the same payloads.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { EventStream, McpClient, SimPane, api, sleep, startBridge, stopBridge } from "./helpers/bridge-process.mjs";
import { install } from "./helpers/mini-dom.mjs";
import { Feed, describeApproval, describeFlow, explainWhy, levelWords } from "../../addins/shared/ui.js";
import { FlowFeed, FINAL, flowRole, lifecycleOf } from "../../addins/shared/flows.js";
import { ApprovalCards } from "../../addins/shared/approvals.js";
import { DECIDED_BY, FlowGraph, flowOfEvent, normaliseApproval, transferRow } from "../../addins/monitor/model.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = process.env.OFFICE_BRIDGE_BIN ? resolve(ROOT, process.env.OFFICE_BRIDGE_BIN) : null;
const skip = !BIN ? "set OFFICE_BRIDGE_BIN to a built office-bridge to run" : !existsSync(BIN) ? `${BIN} does not exist` : false;

const POLICY = { flows: { default: "block", confidential: "ask" }, sensitivity: { confidential_sheets: ["Revenue"] }, deletions: "ask" };

// ------------------------------------------------------------------ simulated documents

const SHEETS = {
  Revenue: [
    ["Region", "Q1", "Q2", "Q3"],
    ["EMEA", 1234567.89, 1456789.12, 1611022.47],
    ["Americas", 2345678.91, 2567890.23, 2789012.35],
    ["APAC", 987654.32, 1098765.43, 1209876.54],
  ],
  Costs: [
    ["Item", "Q1", "Q2"],
    ["Travel", 48211.5, 51377.25],
    ["Licences", 120934.75, 118220.4],
  ],
};

function workbook(method, params) {
  switch (method) {
    case "excel.readRange": {
      const values = SHEETS[params.sheet];
      if (!values) throw { code: -32602, message: `no sheet ${params.sheet}` };
      return { sheet: params.sheet, address: params.address, values, text: values.map((r) => r.map(String)), numberFormat: values.map((r) => r.map(() => "General")) };
    }
    case "excel.listSheets":
      return { sheets: Object.keys(SHEETS).map((name, position) => ({ name, position, visible: "Visible" })) };
    case "excel.listCharts":
      return { charts: [] };
    case "excel.getProperties": // no Purview label: the policy's rule decides
      return { name: "Q3.xlsx", url: "https://contoso.example/Q3.xlsx", custom: {} };
    default:
      throw { code: -32601, message: `no ${method}` };
  }
}

function deck(method) {
  switch (method) {
    case "powerpoint.listSlides":
      return { slides: [1, 2, 3].map((i) => ({ id: String(255 + i), index: i, shapes: [] })) };
    case "powerpoint.addTable":
      return { shape_id: "9" };
    case "powerpoint.getProperties":
      return { name: "Board.pptx", url: "https://contoso.example/Board.pptx", custom: {} };
    default:
      throw { code: -32601, message: `no ${method}` };
  }
}

// ------------------------------------------------------------------ what each transfer is

const CONFIDENTIAL = `Your administrator requires approval for confidential data (your administrator's rule "Revenue")`;
const DETECTED = /^Revenue![A-D]\d+(:[A-D]\d+)?$/; // where detection found the reformatted figures
const SOME_VALUES = /^\d+ values?$/;

/** What the readers must make of each transfer, known from the scenario alone. */
const EXPECT = {
  blocked: { where: "Costs!A1:C3", location: "slide 1", matched: "9 values", decision: "block", level: "normal", because: "Your administrator blocks data moving between documents", how: "copied from the workbook", outcome: "blocked", written: false, decided_by: "policy" },
  denied: { where: DETECTED, location: "slide 3", matched: SOME_VALUES, decision: "ask", level: "confidential", because: CONFIDENTIAL, how: "found in what the agent wrote", outcome: "denied", written: false, decided_by: "desktop" },
  approved: { where: "Revenue!A1:D4", location: "slide 2", matched: "16 values", decision: "ask", level: "confidential", because: CONFIDENTIAL, how: "copied from the workbook", outcome: "approved", written: true, decided_by: "pane" },
  notified: { where: DETECTED, location: "slide 3", matched: SOME_VALUES, decision: "notify", level: "confidential", because: `${CONFIDENTIAL}; you chose to always allow this pair`, how: "found in what the agent wrote", outcome: "notified", written: true, decided_by: "policy" },
};
const NAMES = Object.keys(EXPECT);

const like = (actual, expected, what) => (expected instanceof RegExp ? assert.match(actual, expected, what) : assert.equal(actual, expected, what));

/** describeFlow read all of a transfer: every field the panes and the monitor show. */
function assertReadsFully(flow, name, what) {
  const e = EXPECT[name];
  const f = describeFlow(flow);
  const at = `${what} (${name}): ${JSON.stringify(flow).slice(0, 400)}`;
  assert.equal(f.sourceName, "Q3.xlsx", at);
  like(f.where, e.where, at);
  assert.equal(f.from, `Q3.xlsx > ${f.where}`, at);
  assert.equal(f.targetName, "Board.pptx", at);
  assert.equal(f.location, e.location, at);
  like(f.matched, e.matched, at);
  assert.equal(f.decision, e.decision, at);
  assert.equal(f.level, e.level, at);
  assert.notEqual(levelWords(f.level), "not labelled", at);
  assert.equal(f.because, e.because, at);
  assert.equal(explainWhy(f.why), e.because, `${at}: the why, as data`);
  assert.match(f.reason, /\S/, at);
  assert.equal(f.strength, "confirmed", at);
  assert.equal(f.how, e.how, at);
  return f;
}

// ------------------------------------------------------------------ the scenario

let bridge, mcp, stream, xl, pp;
const ids = {}; // name -> flow_id
const held = {}; // name -> what was captured while it was held
const captured = {};

/** Polls `cond` until true (the bridge tells the panes and the stream asynchronously). */
async function until(cond, what, timeout = 10000) {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeout) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const received = (pane, method) => pane.received.filter((r) => r.method === method).map((r) => r.params);

/** The one transfer of a write, from the tool's answer; its name for the checks below. */
function oneFlow(result, name) {
  const flows = result.structuredContent?.flows;
  assert.equal(flows?.length, 1, `${name}: one transfer in the write: ${JSON.stringify(result)}`);
  ids[name] = flows[0].flow_id;
  return flows[0];
}

/** Starts a write that will be held; resolves with {call, request} once the deck's pane has
 * its approval.request. */
async function heldWrite(tool, args) {
  const before = received(pp, "approval.request").length;
  const call = mcp.callTool(tool, args);
  call.catch(() => {}); // awaited by the caller
  await until(() => received(pp, "approval.request").length > before, `approval.request for ${tool}`);
  return { call, request: received(pp, "approval.request")[before] };
}

before(async () => {
  if (skip) return;
  bridge = await startBridge(BIN, "contract", POLICY);
  stream = await EventStream.open(bridge);
  xl = await SimPane.open(bridge, "excel", "Q3.xlsx", workbook);
  pp = await SimPane.open(bridge, "powerpoint", "Board.pptx", deck);
  mcp = new McpClient(bridge);
  await mcp.connect();

  // 1. Blocked by the policy: ordinary data, copied by reference.
  const blocked = await mcp.callTool("ppt_add_table", { slide: 1, from_range: { sheet: "Costs", range: "A1:C3" } });
  assert.equal(blocked.isError, true, JSON.stringify(blocked));
  oneFlow(blocked, "blocked");

  // 2. Held (confidential), denied on the desktop.
  const read = await mcp.callTool("excel_read_range", { sheet: "Revenue", range: "A1:D4" });
  assert.equal(read.isError, false, JSON.stringify(read));
  const millions = (v) => `$${(v / 1e6).toFixed(2)}M`;
  const rows = read.structuredContent.values.map((row, i) => (i === 0 ? row : [row[0], ...row.slice(1).map(millions)]));
  let h = await heldWrite("ppt_add_table", { slide: 3, rows });
  held.denied = { request: h.request, list: (await pp.call("approval.list", {})).approvals, v1: (await api(bridge, "GET", "/v1/approvals")).body.approvals };
  assert.deepEqual((await api(bridge, "POST", `/v1/approvals/${h.request.approval_id}`, { decision: "deny", scope: "once" })).body, { accepted: true });
  const denied = await h.call;
  assert.equal(denied.isError, true, JSON.stringify(denied));
  oneFlow(denied, "denied");

  // 3. Held, allowed in the deck's pane for good ("Always for this deck").
  h = await heldWrite("ppt_add_table", { slide: 2, from_range: { sheet: "Revenue", range: "A1:D4" } });
  held.approved = { request: h.request, list: (await pp.call("approval.list", {})).approvals, v1: (await api(bridge, "GET", "/v1/approvals")).body.approvals };
  assert.deepEqual(await pp.call("approval.decide", { approval_id: h.request.approval_id, decision: "allow", scope: "document" }), { accepted: true });
  const approved = await h.call;
  assert.equal(approved.isError, false, JSON.stringify(approved));
  oneFlow(approved, "approved");

  // 4. The same data again: notified, by that standing choice.
  const notified = await mcp.callTool("ppt_add_table", { slide: 3, rows });
  assert.equal(notified.isError, false, JSON.stringify(notified));
  oneFlow(notified, "notified");

  // 5. A deletion, held, denied in the deck's pane.
  h = await heldWrite("ppt_delete_slide", { slide: 2 });
  held.deletion = { request: h.request, list: (await pp.call("approval.list", {})).approvals, v1: (await api(bridge, "GET", "/v1/approvals")).body.approvals };
  await pp.call("approval.decide", { approval_id: h.request.approval_id, decision: "deny", scope: "once" });
  const deletion = await h.call;
  assert.equal(deletion.isError, true, JSON.stringify(deletion));

  // Everything told: four outcomes on the stream and to each pane, the deletion settled.
  await stream.next("approval_resolved", (e) => e.approval_id === h.request.approval_id);
  await until(() => stream.all("flow_outcome").length === 4 && received(xl, "flow.outcome").length === 4 && received(pp, "flow.outcome").length === 4, "four flow outcomes everywhere");
  await until(() => received(pp, "approval.resolved").length === 3, "three approval.resolved");
  const all = Object.values(ids);
  captured.v1flows = (await api(bridge, "GET", "/v1/flows?limit=50")).body.flows;
  const recent = await mcp.callTool("flows_recent", { limit: 50 });
  assert.equal(recent.isError, false, JSON.stringify(recent));
  captured.recent = recent.structuredContent?.flows ?? JSON.parse(recent.content[0].text).flows;
  captured.xlList = (await xl.call("flow.list", { flow_ids: all })).flows;
  captured.ppList = (await pp.call("flow.list", { flow_ids: all })).flows;
});

after(async () => {
  mcp?.close();
  stream?.close();
  xl?.close();
  pp?.close();
  await stopBridge(bridge);
  if (bridge?.dir) rmSync(bridge.dir, { recursive: true, force: true });
});

const nameOf = (flowId) => NAMES.find((n) => ids[n] === flowId);

// ------------------------------------------------------------------ the flow summaries

test("every flow summary the bridge sends is read fully by describeFlow", { skip }, () => {
  assert.deepEqual(Object.keys(ids).sort(), [...NAMES].sort());
  const sources = {
    "the flow event": stream.all("flow").map((e) => e.flow),
    "the flow event, as a message": stream.all("flow"), // {type, at, flow}: describeFlow reads its `flow`
    "the flow event, as the monitor keeps it": stream.all("flow").map(flowOfEvent),
    "the Excel pane's flow.notice": received(xl, "flow.notice"),
    "the PowerPoint pane's flow.notice": received(pp, "flow.notice"),
    "GET /v1/flows": captured.v1flows,
    flows_recent: captured.recent,
    "the Excel pane's flow.list": captured.xlList,
    "the PowerPoint pane's flow.list": captured.ppList,
  };
  for (const [what, list] of Object.entries(sources)) {
    const seen = new Set();
    for (const item of list) {
      const id = (item.flow ?? item).flow_id;
      const name = nameOf(id);
      assert.ok(name, `${what}: flow ${id} is one of this scenario's: ${JSON.stringify(item).slice(0, 300)}`);
      assertReadsFully(item, name, what);
      seen.add(name);
    }
    assert.deepEqual([...seen].sort(), [...NAMES].sort(), `${what} has every transfer once`);
    assert.equal(list.length, NAMES.length, `${what}: one each`);
  }
});

test("the lifecycle is read from the summaries: pending when told, final in the lists", { skip }, () => {
  for (const n of [...received(xl, "flow.notice"), ...received(pp, "flow.notice"), ...stream.all("flow").map(flowOfEvent)]) {
    const e = EXPECT[nameOf(n.flow_id)];
    const life = lifecycleOf(n);
    // Blocked outright is final at once; everything else starts pending, not yet written.
    if (e.outcome === "blocked") assert.deepEqual([life.outcome, life.written], ["blocked", false], JSON.stringify(n));
    else assert.deepEqual([life.outcome, life.written], ["pending", null], JSON.stringify(n));
    assert.match(n.write_id, /^wr_/);
  }
  for (const list of [captured.v1flows, captured.recent, captured.xlList, captured.ppList]) {
    for (const f of list) {
      const e = EXPECT[nameOf(f.flow_id)];
      assert.deepEqual(lifecycleOf(f), { outcome: e.outcome, written: e.written, decided_by: e.decided_by, reason: "" }, JSON.stringify(f));
      assert.ok(Number(f.at) > 0, "when it was detected");
    }
  }
  // flow_outcome (event) and flow.outcome (panes): the same fields, once per transfer.
  for (const list of [stream.all("flow_outcome"), received(xl, "flow.outcome"), received(pp, "flow.outcome")]) {
    assert.deepEqual(list.map((o) => nameOf(o.flow_id)).sort(), [...NAMES].sort());
    for (const o of list) {
      const e = EXPECT[nameOf(o.flow_id)];
      assert.deepEqual([o.outcome, o.written, o.decided_by], [e.outcome, e.written, e.decided_by], JSON.stringify(o));
      assert.ok(FINAL.has(o.outcome));
      assert.equal(typeof o.reason, "string");
      assert.match(o.write_id, /^wr_/);
    }
  }
});

// ------------------------------------------------------------------ approvals

test("every approval the bridge sends is read by describeApproval: its kind, subject and why", { skip }, () => {
  const events = stream.all("approval_requested");
  assert.equal(events.length, 3, JSON.stringify(events));
  const [eDenied, eApproved, eDeletion] = events;
  const SUBJECT = { denied: /^content from Q3\.xlsx > Revenue![A-D]\d+(:[A-D]\d+)?$/, approved: /^content from Q3\.xlsx > Revenue!A1:D4$/ };
  const transfer = (name) => ({ deletion: false, subjectRe: SUBJECT[name], name });
  const cases = [
    ...["denied", "approved"].flatMap((name) => [
      [`${name}: the deck's approval.request`, held[name].request, transfer(name)],
      [`${name}: approval.list`, held[name].list[0], transfer(name)],
      [`${name}: GET /v1/approvals`, held[name].v1[0], transfer(name)],
    ]),
    ["denied: the approval_requested event", eDenied, transfer("denied")],
    ["approved: the approval_requested event", eApproved, transfer("approved")],
    ["denied: the event, as the monitor keeps it", normaliseApproval(eDenied), transfer("denied")],
    ["deletion: the deck's approval.request", held.deletion.request, { deletion: true, because: "Your administrator requires approval for deletions" }],
    ["deletion: approval.list", held.deletion.list[0], { deletion: true, because: "Your administrator requires approval for deletions" }],
    ["deletion: GET /v1/approvals", held.deletion.v1[0], { deletion: true, because: "Your administrator requires approval for deletions" }],
    // The event carries the deletion's why beside its kind and what (docs/events.md).
    ["deletion: the approval_requested event", eDeletion, { deletion: true, because: "Your administrator requires approval for deletions" }],
    ["deletion: the event, as the monitor keeps it", normaliseApproval(eDeletion), { deletion: true, because: "Your administrator requires approval for deletions" }],
  ];
  for (const name of ["denied", "approved", "deletion"]) assert.equal(held[name].list.length, 1, `${name}: one approval held at a time`);
  for (const [what, req, want] of cases) {
    const at = `${what}: ${JSON.stringify(req).slice(0, 400)}`;
    const a = describeApproval(req);
    assert.equal(a.deletion, want.deletion, at);
    if (want.deletion) {
      assert.equal(a.what, "slide 2", at);
      assert.equal(a.subject, "delete slide 2 from Board.pptx", at);
      assert.equal(a.title, "Delete slide 2 from Board.pptx?", at);
      assert.equal(a.flow.because, want.because, at);
      assert.equal(req.flow_id, null, at);
    } else {
      assert.match(a.subject, want.subjectRe, at);
      assert.equal(a.title, "Content from Q3.xlsx", at);
      assertReadsFully(req.flow, want.name, what);
      assert.equal(req.flow_id, ids[want.name], at);
      assert.equal(req.flow.flow_id, ids[want.name], at);
    }
    assert.match(req.approval_id, /^apr_/, at);
    assert.match(req.write_id, /^wr_/, at);
    assert.equal(req.target.name, "Board.pptx", at);
    assert.ok(Number(req.expires_at) > Date.now() - 60000, at);
    assert.match(req.line, /\S/, at);
  }
  // A held approval is the same everywhere: the pane's list and /v1/approvals give the request.
  for (const name of ["denied", "approved", "deletion"]) {
    assert.deepEqual(held[name].list[0], held[name].request, `${name}: approval.list item = approval.request`);
    assert.deepEqual(held[name].v1[0], held[name].request, `${name}: GET /v1/approvals item = approval.request`);
  }
  assert.deepEqual(held.approved.request.held, { kind: "flow", flow: held.approved.request.flow });
  const d = held.deletion.request;
  assert.deepEqual(d.held, { kind: "deletion", what: "slide 2", why: d.flow.why, reason: d.flow.reason });
  assert.deepEqual(d.flow.why, { rule: "deletion_policy", policy: "ask" });
});

test("approval_resolved and approval.resolved say how each approval ended", { skip }, () => {
  const want = [
    ["denied", "desktop", "once"],
    ["allowed", "pane", "document"],
    ["denied", "pane", "once"],
  ];
  for (const list of [stream.all("approval_resolved"), received(pp, "approval.resolved")]) {
    assert.deepEqual(
      list.map((r) => [r.state, r.decided_by, r.scope]),
      want,
      JSON.stringify(list),
    );
    assert.deepEqual(
      list.map((r) => r.flow_id),
      [ids.denied, ids.approved, null],
    );
  }
  assert.equal(received(xl, "approval.request").length + received(xl, "approval.resolved").length, 0, "approvals go to the target's pane only");
});

// ------------------------------------------------------------------ the panes, replayed

/** A pane's feed and cards, fed its messages in order as the task panes' onNotification does. */
function replay(pane, { noun, role, host }) {
  install();
  const list = document.createElement("ol");
  const feed = new Feed(list, null, 500);
  const flows = new FlowFeed({ feed, noun, role: (f) => flowRole(f, pane.registration.document_id, role) });
  const cardList = document.createElement("div");
  const cardLines = [];
  const cards = new ApprovalCards({ host, list: cardList, feed: { add: (l) => cardLines.push(l) }, decide: async () => ({ accepted: true }) });
  const cardTexts = [];
  for (const { method, params } of pane.received) {
    if (method === "flow.notice") flows.notice(params);
    else if (method === "flow.outcome") flows.outcome(params);
    else if (method === "approval.request") {
      cardTexts.push(cards.add(params).textContent);
      flows.held(params);
    } else if (method === "approval.resolved") {
      cards.settle(params);
      flows.resolved(params);
    }
  }
  const lines = list.children.map((li) => ({ title: li.querySelector("div.feed-title").textContent, detail: li.querySelector("div.feed-detail").textContent })).reverse();
  return { flows, lines, cardTexts, cardLines, cards };
}

test("the workbook's pane: one line per transfer, ending with its outcome", { skip }, () => {
  assert.equal(xl.registration.resumed, false);
  const { flows, lines } = replay(xl, { noun: "workbook", role: "source", host: "excel" });
  assert.equal(lines.length, 4, JSON.stringify(lines));
  const by = Object.fromEntries(NAMES.map((n) => [n, flows.state(ids[n])]));
  for (const n of NAMES) assert.equal(by[n].outcome, EXPECT[n].outcome, n);
  const [blocked, denied, approved, notified] = lines;
  assert.equal(blocked.title, "Kept out of Board.pptx, slide 1: 9 values from Costs!A1:C3");
  // Why it ended so: flow.outcome's reason (for a blocked transfer, the decision's sentence).
  assert.match(blocked.detail, /^sensitivity: not marked sensitive · blocked by the policy · \S.*your administrator blocks data moving between documents$/);
  assert.match(denied.title, /^Kept out of Board\.pptx, slide 3: \d+ values? from Revenue!\S+$/);
  assert.match(denied.detail, /^sensitivity: Confidential · denied on the desktop · /);
  assert.equal(approved.title, "Moved into Board.pptx, slide 2: 16 values from Revenue!A1:D4");
  assert.match(approved.detail, /^sensitivity: Confidential · approved in the pane of Board\.pptx/);
  assert.match(notified.title, /^Moved into Board\.pptx, slide 3: \d+ values? from Revenue!\S+$/);
  assert.match(notified.detail, /sensitivity: Confidential · allowed and shown to you/);
});

test("the deck's pane: its cards say what is held and why, its lines end with the outcome", { skip }, () => {
  const { lines, cardTexts, cardLines, cards } = replay(pp, { noun: "deck", role: "target", host: "powerpoint" });
  assert.equal(cards.size, 0, "every card went");
  assert.equal(cardTexts.length, 3);
  const [denied, approved, deletion] = cardTexts;
  // Policy tips: what the agent wants to do, with what, from where; a preview of what it
  // would write (the bridge's `action` and `preview`); one line of why; Details.
  for (const t of [denied, approved]) {
    assert.match(t, /^The agent wants to add a table to slide \d with \d+ confidential values? from Q3\.xlsx > Revenue!\S+What it would write/);
    assert.match(t, /Confidential/);
    assert.ok(t.includes(`${CONFIDENTIAL}Details`), t);
    assert.ok(!t.includes("another document"), t);
  }
  assert.match(denied, /FromQ3\.xlsx > Revenue!\S+ToBoard\.pptx, slide 3What\d+ values? matched \(found in what the agent wrote\)/);
  assert.match(approved, /^The agent wants to add a table to slide 2 with 16 confidential values from Q3\.xlsx > Revenue!A1:D4/);
  assert.match(approved, /FromQ3\.xlsx > Revenue!A1:D4ToBoard\.pptx, slide 2What16 values matched \(copied from the workbook\)/);
  assert.match(deletion, /^The agent wants to delete slide 2 from this deckYour administrator requires approval for deletionsDetails/);
  assert.equal(cardLines.length, 3, JSON.stringify(cardLines));
  assert.match(cardLines[0].title, /^Blocked on the desktop: content from Q3\.xlsx > Revenue!\S+$/);
  assert.equal(cardLines[1].title, "Allowed: content from Q3.xlsx > Revenue!A1:D4");
  assert.equal(cardLines[2].title, "Blocked: delete slide 2 from Board.pptx");
  assert.equal(lines.length, 4, JSON.stringify(lines));
  assert.equal(lines[0].title, "Kept out of this deck, slide 1: 9 values from Q3.xlsx > Costs!A1:C3");
  assert.match(lines[1].title, /^Kept out of this deck, slide 3: \d+ values? from Q3\.xlsx > Revenue!\S+$/);
  assert.match(lines[1].detail, /denied on the desktop/);
  assert.equal(lines[2].title, "Moved into this deck, slide 2: 16 values from Q3.xlsx > Revenue!A1:D4");
  assert.match(lines[2].detail, /approved in this pane/);
  assert.match(lines[3].title, /^Moved into this deck, slide 3: \d+ values? from Q3\.xlsx > Revenue!\S+$/);
  assert.match(lines[3].detail, /allowed and shown to you/);
});

// ------------------------------------------------------------------ the monitor

/** The monitor's graph fed the event stream as monitor.js's onEvent does. */
function monitorFromStream() {
  const g = new FlowGraph();
  const approvalFlow = new Map();
  for (const { event, data: e } of stream.events) {
    if (event === "flow") g.add(flowOfEvent(e));
    else if (event === "flow_outcome") assert.equal(g.outcome(e), true, JSON.stringify(e));
    else if (event === "approval_requested") {
      const req = normaliseApproval(e);
      if (!describeApproval(req).deletion) {
        assert.equal(g.add(req.held.flow), false, "the held transfer is known from its flow event");
        approvalFlow.set(e.approval_id, req.flow_id ?? req.held.flow.flow_id);
      }
    } else if (event === "approval_resolved" && e.flow_id !== null) {
      assert.equal(e.flow_id, approvalFlow.get(e.approval_id));
      g.resolve(e.flow_id, e.state, e.decided_by, e.reason);
    }
  }
  return g;
}

/** The monitor's graph after a reload: GET /v1/flows, oldest first (monitor.js load()). */
function monitorFromList() {
  const g = new FlowGraph();
  for (const f of [...captured.v1flows].reverse()) g.add(f);
  return g;
}

test("the monitor reads the stream and /v1/flows alike: one row per transfer, its outcome, who decided", { skip }, () => {
  const rows = {};
  for (const [what, g] of [
    ["the event stream", monitorFromStream()],
    ["GET /v1/flows", monitorFromList()],
  ]) {
    assert.equal(g.size, 4, what);
    rows[what] = NAMES.map((n) => {
      const entry = g.entry(ids[n]);
      assert.ok(entry, `${what}: ${n}`);
      assert.deepEqual([entry.outcome, entry.written, entry.decided_by], [EXPECT[n].outcome, EXPECT[n].written, EXPECT[n].decided_by], `${what}: ${n}`);
      // Who decided, in words: never a code the monitor does not know.
      assert.ok(Object.hasOwn(DECIDED_BY, entry.decided_by), `${what}: DECIDED_BY has "${entry.decided_by}"`);
      return transferRow(entry);
    });
    const [blocked, denied, approved, notified] = rows[what];
    assert.equal(blocked.title, "Kept out of Board.pptx, slide 1: 9 values from Q3.xlsx > Costs!A1:C3", what);
    assert.deepEqual([blocked.badge, blocked.decision], ["Blocked", "block"], what);
    assert.match(blocked.detail, /^decided by the policy · /, what);
    assert.match(denied.title, /^Kept out of Board\.pptx, slide 3: \d+ values? from Q3\.xlsx > Revenue!\S+$/, what);
    assert.deepEqual([denied.badge, denied.decision], ["Denied", "block"], what);
    assert.match(denied.detail, /^answered on the desktop/, what);
    assert.equal(approved.title, "Moved into Board.pptx, slide 2: 16 values from Q3.xlsx > Revenue!A1:D4", what);
    assert.deepEqual([approved.badge, approved.decision], ["Approved, moved", "allow"], what);
    assert.match(approved.detail, /^answered in the document's pane · .*confirmed, copied from the workbook · Confidential$/, what);
    assert.match(notified.title, /^Moved into Board\.pptx, slide 3: \d+ values? from Q3\.xlsx > Revenue!\S+$/, what);
    assert.deepEqual([notified.badge, notified.decision], ["Moved, shown to you", "notify"], what);
    // The graph: one pair, an arrow for what moved (only the values written: approved and
    // notified) and one for what was kept out.
    const pairs = g.pairs();
    assert.equal(pairs.length, 1, what);
    const moved = NAMES.filter((n) => EXPECT[n].written).reduce((s, n) => s + Number(g.entry(ids[n]).flow.matched), 0);
    const kept = NAMES.filter((n) => !EXPECT[n].written).reduce((s, n) => s + Number(g.entry(ids[n]).flow.matched), 0);
    assert.deepEqual([pairs[0].count, pairs[0].moved, pairs[0].kept, pairs[0].pending, pairs[0].values, pairs[0].keptValues], [4, 2, 2, 0, moved, kept], what);
    assert.deepEqual(g.edges().map((e) => [e.kind, e.count, e.values]), [["moved", 2, moved], ["kept", 2, kept]], what);
    assert.deepEqual(
      g.nodes().map((d) => d.name).sort(),
      ["Board.pptx", "Q3.xlsx"],
      what,
    );
  }
  // The badges and titles are the same whether the page was open or loaded later.
  assert.deepEqual(
    rows["the event stream"].map((r) => [r.title, r.badge]),
    rows["GET /v1/flows"].map((r) => [r.title, r.badge]),
  );
});

// ------------------------------------------------------------------ the docs

/** The JSON of the `data:` line in the example under a heading of docs/events.md. */
function eventExample(md, name) {
  const at = md.indexOf(`### \`${name}\``);
  assert.ok(at >= 0, `docs/events.md has a section for ${name}`);
  const line = md.slice(at).split("\n").find((l) => l.startsWith("data: "));
  return JSON.parse(line.slice(6));
}

const keys = (o) => Object.keys(o).sort();

test("the examples in docs/events.md and docs/addin-protocol.md have the real fields", { skip }, () => {
  const events = readFileSync(join(ROOT, "docs/events.md"), "utf8");
  const flowEvent = stream.all("flow").find((e) => e.flow.flow_id === ids.notified);
  const doc = eventExample(events, "flow");
  assert.deepEqual(keys(doc), keys(flowEvent), "the flow event");
  assert.deepEqual(keys(doc.flow), keys(flowEvent.flow), "the flow summary in the flow event");
  const ordinary = stream.all("flow").find((e) => e.flow.flow_id === ids.blocked).flow.why;
  assert.deepEqual(keys(doc.flow.why), keys(ordinary), "its why (ordinary data, no standing choice)");
  assert.deepEqual(keys(eventExample(events, "flow_outcome")), keys(stream.all("flow_outcome")[0]), "flow_outcome");
  assert.deepEqual(keys(eventExample(events, "approval_resolved")), keys(stream.all("approval_resolved")[0]), "approval_resolved");
  const requested = eventExample(events.replace("{…as in the flow event…}", "{}"), "approval_requested");
  assert.deepEqual(keys(requested), keys(stream.all("approval_requested")[0]), "approval_requested");
  // docs/addin-protocol.md: the flow summary a pane receives, and flow.outcome.
  const protocol = readFileSync(join(ROOT, "docs/addin-protocol.md"), "utf8");
  const block = (after) => JSON.parse(protocol.slice(protocol.indexOf(after)).match(/```json\n([\s\S]*?)```/)[1]);
  assert.deepEqual(keys(block("The **flow summary**")), keys(received(pp, "flow.notice")[0]), "flow.notice");
  assert.deepEqual(keys(block("`flow.outcome`:")), keys(received(pp, "flow.outcome")[0]), "flow.outcome");
});
