// The monitor's logic without a browser: the SSE parser, one row per transfer in the words of
// its outcome, the graph of what moved where (written values only, coloured by what reached
// the target) and its layout, the policy table (addins/monitor/model.js).
import { test } from "node:test";
import assert from "node:assert/strict";
import { SseParser, backoffMs, FlowGraph, pairLabel, edgeWords, layout, normDecision, stageOf, stricter, transferRow, policyRows, policyValueWords } from "../../addins/monitor/model.js";

test("SSE: events, multi-line data, comments, CRLF split across chunks", () => {
  const got = [];
  const p = new SseParser((e) => got.push(e));
  p.push(": keep-alive\n\nevent: flow\ndata: {\"a\":");
  p.push("1}\r");
  p.push("\n\r\nevent: read\ndata: x\ndata: y\n\ndata:no-space\n\nevent: empty\n\n");
  assert.deepEqual(got, [
    { event: "flow", data: '{"a":1}' },
    { event: "read", data: "x\ny" },
    { event: "message", data: "no-space" },
  ]);
});

test("backoff doubles up to 30 s, with jitter", () => {
  assert.equal(backoffMs(0, () => 0.5), 1000);
  assert.equal(backoffMs(3, () => 0.5), 8000);
  assert.equal(backoffMs(12, () => 0.5), 30000);
  assert.equal(backoffMs(0, () => 0), 800);
  assert.equal(backoffMs(0, () => 1), 1200);
});

test("decisions: the strictest wins", () => {
  assert.equal(normDecision("denied"), "block");
  assert.equal(stricter("notify", "ask"), "ask");
  assert.equal(stricter("block", "allow"), "block");
});

const doc = (app, name) => ({ app, name, id: `doc_${name}` });
const flow = (id, from, to, matched, decision, life = {}) => ({ flow_id: id, write_id: `wr_${id}`, source: from, target: to, matched, decision, sheet: "Revenue", cells: "A1:D4", location: "slide 3", at: 1764460000000 + id, ...life });
const done = (outcome, written = !["denied", "expired", "blocked"].includes(outcome)) => ({ outcome, written });
const q3 = doc("excel", "Q3.xlsx");
const board = doc("powerpoint", "Board.pptx");
const budget = doc("excel", "Budget.xlsx");
/** The arrow of one kind ("moved", "waiting", "kept") from `source`; its pair's totals. */
const edgeOf = (g, source, kind = "moved") => g.edges().find((e) => e.source === source && e.kind === kind);
const pairOf = (g, source) => g.pairs().find((p) => p.source === source);

test("graph: moved, waiting and kept out are separate arrows; only written values count as moved", () => {
  const g = new FlowGraph();
  assert.equal(g.add(flow(1, q3, board, 12, "notify", done("notified"))), true);
  assert.equal(g.add(flow(1, q3, board, 12, "notify", done("notified"))), false, "a flow seen twice counts once");
  g.add(flow(2, q3, board, 4, "allow", done("allowed")));
  g.add(flow(3, budget, board, 6, "ask", { outcome: "pending", written: null }));
  const e1 = edgeOf(g, "doc_Q3.xlsx");
  assert.deepEqual([e1.values, e1.count, e1.decision], [16, 2, "allow"], "allowed last: green");
  assert.equal(g.edges().filter((e) => e.source === "doc_Q3.xlsx").length, 1, "nothing kept out: one arrow");
  assert.equal(edgeOf(g, "doc_Budget.xlsx"), undefined, "nothing moved from Budget.xlsx");
  const held = edgeOf(g, "doc_Budget.xlsx", "waiting");
  assert.deepEqual([held.values, held.count, held.decision], [6, 1, "ask"], "held: its own amber arrow");
  assert.equal(pairOf(g, "doc_Budget.xlsx").values, 0, "nothing counted as moved");
  // Denied: kept out, its own red arrow; never counted as moved.
  g.resolve(3, "denied", "desktop");
  assert.equal(edgeOf(g, "doc_Budget.xlsx", "waiting"), undefined);
  const kept = edgeOf(g, "doc_Budget.xlsx", "kept");
  assert.deepEqual([kept.decision, kept.count, kept.values], ["block", 1, 6]);
  assert.deepEqual([pairOf(g, "doc_Budget.xlsx").values, pairOf(g, "doc_Budget.xlsx").keptValues], [0, 6]);

  const l = layout(g, 760);
  const x = Object.fromEntries(l.nodes.map((n) => [n.name, n.x]));
  assert.ok(x["Q3.xlsx"] < x["Board.pptx"] && x["Budget.xlsx"] === x["Q3.xlsx"], JSON.stringify(x));
  assert.ok(l.nodes.every((n) => n.x >= 0 && n.x + n.w <= 760));
  const thick = l.edges.find((e) => e.values === 16);
  const thin = l.edges.find((e) => e.values === 6);
  assert.ok(thick.stroke > thin.stroke && thin.stroke >= 2 && thick.stroke <= 10);
  assert.match(thick.d, /^M\d+ [\d.]+ C/);
  assert.deepEqual(l.labels.map((lb) => lb.text).sort(), ["16 values moved", "6 kept out"]);
  assert.deepEqual(layout(g, 760), l, "deterministic");
});

test("graph: a blocked transfer beside allowed ones is its own red arrow; the green one keeps its values", () => {
  const g = new FlowGraph();
  for (let i = 1; i <= 5; i++) g.add(flow(i, q3, board, 10, "allow", done("allowed")));
  g.add(flow(6, q3, board, 50, "block", done("blocked")));
  const moved = edgeOf(g, "doc_Q3.xlsx");
  const kept = edgeOf(g, "doc_Q3.xlsx", "kept");
  assert.deepEqual([moved.values, moved.count, moved.decision], [50, 5, "allow"]);
  assert.deepEqual([kept.values, kept.count, kept.decision], [50, 1, "block"]);
  assert.equal(edgeWords(moved), "50 values moved (5 transfers)");
  assert.equal(edgeWords(kept), "50 values kept out (1 transfer)");
  assert.equal(pairLabel(pairOf(g, "doc_Q3.xlsx")), "50 values moved · 50 kept out");
  // The two arrows of the pair are drawn apart, the moved one above.
  const l = layout(g, 760);
  const [a, b] = ["moved", "kept"].map((k) => l.edges.find((e) => e.kind === k));
  const startY = (e) => Number(/^M[\d.]+ ([\d.]+)/.exec(e.d)[1]);
  assert.ok(startY(a) < startY(b), `${a.d} / ${b.d}`);
  // A transfer allowed itself but refused with the rest of its write moved nothing either.
  g.add(flow(7, q3, board, 9, "allow", done("denied")));
  assert.deepEqual([pairOf(g, "doc_Q3.xlsx").values, pairOf(g, "doc_Q3.xlsx").kept], [50, 2]);
  // Allowed but the write failed: not written, not counted as moved.
  g.add(flow(8, q3, board, 7, "allow", { outcome: "allowed", written: false }));
  assert.deepEqual([pairOf(g, "doc_Q3.xlsx").values, pairOf(g, "doc_Q3.xlsx").kept, pairOf(g, "doc_Q3.xlsx").keptValues], [50, 3, 66]);
});

test("graph: approved transfers move from waiting to moved; blue when the latest that moved was shown", () => {
  const g = new FlowGraph();
  g.add(flow(1, q3, board, 5, "ask", { outcome: "pending", written: null }));
  assert.equal(edgeOf(g, "doc_Q3.xlsx", "waiting").decision, "ask");
  g.resolve(1, "allowed", "pane");
  assert.equal(edgeOf(g, "doc_Q3.xlsx", "waiting").decision, "ask", "approved, still being written: nothing moved yet");
  assert.equal(edgeOf(g, "doc_Q3.xlsx"), undefined);
  assert.equal(g.outcome({ flow_id: 1, write_id: "wr_1", outcome: "approved", written: true, decided_by: "pane", reason: "", at: 2 }), true);
  assert.deepEqual([edgeOf(g, "doc_Q3.xlsx").decision, edgeOf(g, "doc_Q3.xlsx").values], ["allow", 5]);
  assert.equal(edgeOf(g, "doc_Q3.xlsx", "waiting"), undefined);
  g.add(flow(2, q3, board, 3, "notify", done("notified")));
  assert.equal(edgeOf(g, "doc_Q3.xlsx").decision, "notify");
  g.add(flow(3, q3, board, 3, "ask", { outcome: "pending", written: null }));
  assert.deepEqual([edgeOf(g, "doc_Q3.xlsx").decision, edgeOf(g, "doc_Q3.xlsx", "waiting").count], ["notify", 1]);
  assert.equal(g.outcome({ flow_id: 99, outcome: "blocked" }), false, "an unknown transfer is not drawn");
});

test("graph: a transfer loaded after a reload keeps its outcome; a later pending copy does not undo it", () => {
  const g = new FlowGraph();
  g.add(flow(7, q3, board, 5, "ask", { outcome: "expired", written: false, decided_by: "timeout" }));
  g.add(flow(8, doc("excel", "Costs.xlsx"), board, 5, "ask", { outcome: "pending", written: null }));
  assert.equal(edgeOf(g, "doc_Q3.xlsx", "kept").decision, "block");
  assert.equal(edgeOf(g, "doc_Costs.xlsx", "waiting").decision, "ask");
  // The live event of flow 8, final, merges into the known entry.
  assert.equal(g.add(flow(8, doc("excel", "Costs.xlsx"), board, 5, "ask", { outcome: "approved", written: true, decided_by: "desktop" })), false);
  assert.equal(edgeOf(g, "doc_Costs.xlsx").decision, "allow");
  g.add(flow(8, doc("excel", "Costs.xlsx"), board, 5, "ask", { outcome: "pending", written: null }));
  assert.equal(g.entry(8).outcome, "approved");
  assert.equal(g.resolve(8, "denied"), false, "a final transfer stays as it ended");
});

test("graph: a document's box has its newest name (renamed while its transfers are shown)", () => {
  const g = new FlowGraph();
  g.add(flow(1, q3, board, 5, "allow", { ...done("allowed"), at: 1000 }));
  g.noteDocument({ ...q3, name: "Q3 final.xlsx" }, 2000);
  assert.deepEqual(g.nodes().map((n) => n.name).sort(), ["Board.pptx", "Q3 final.xlsx"]);
  // An older row (from /v1/flows) does not bring the old name back; a newer one carries its own.
  g.add(flow(2, q3, board, 5, "allow", { ...done("allowed"), at: 1500 }));
  assert.ok(g.nodes().some((n) => n.name === "Q3 final.xlsx"));
  g.add(flow(3, { ...q3, name: "Q3 v2.xlsx" }, board, 5, "allow", { ...done("allowed"), at: 3000 }));
  assert.ok(g.nodes().some((n) => n.name === "Q3 v2.xlsx"));
  assert.equal(g.nodes().length, 2, "one box per document id");
});

test("rows: after a reload, the right words for each outcome; waiting only while held", () => {
  const row = (life, decision = "ask", extra = {}) => transferRow({ flow: flow(1, q3, board, 12, decision, { reason: "confidential data needs your approval", strength: "confirmed", explicit: false, sensitivity: "confidential", location: "slide 3", ...extra }), decided_by: null, reason: "", ...life });
  const cases = [
    [{ outcome: "pending", written: null }, "ask", "Waiting for approval", "ask", "Waiting to go to"],
    [{ outcome: "pending", written: null, approvedBy: "desktop" }, "ask", "Approved, being written", "ask", "Moving into"],
    [{ outcome: "pending", written: null }, "allow", "Being written", "ask", "Moving into"],
    [{ outcome: "allowed", written: true }, "allow", "Moved", "allow", "Moved into"],
    [{ outcome: "notified", written: true }, "notify", "Moved, shown to you", "notify", "Moved into"],
    [{ outcome: "approved", written: true, decided_by: "pane" }, "ask", "Approved, moved", "allow", "Moved into"],
    [{ outcome: "denied", written: false, decided_by: "desktop" }, "ask", "Denied", "block", "Kept out of"],
    [{ outcome: "expired", written: false, decided_by: "bridge", reason: "the bridge restarted" }, "ask", "Expired", "block", "Expired, kept out of"],
    [{ outcome: "blocked", written: false }, "block", "Blocked", "block", "Kept out of"],
    [{ outcome: "notified", written: false }, "notify", "Not written", "block", "Not written into"],
  ];
  for (const [life, decision, badge, cls, verb] of cases) {
    const r = row(life, decision);
    assert.equal(r.badge, badge, JSON.stringify(life));
    assert.equal(r.decision, cls, JSON.stringify(life));
    assert.equal(r.title, `${verb} Board.pptx, slide 3: 12 values from Q3.xlsx > Revenue!A1:D4`, JSON.stringify(life));
  }
  assert.match(row({ outcome: "approved", written: true, decided_by: "pane" }).detail, /^answered in the document's pane · confidential data needs your approval · confirmed, found in what the agent wrote · Confidential$/);
  assert.match(row({ outcome: "expired", written: false, decided_by: "bridge", reason: "the bridge restarted" }).detail, /^decided by the bridge · the bridge restarted · /);
  assert.doesNotMatch(row({ outcome: "allowed", written: true }, "allow").detail, /before this page opened/);
  assert.match(transferRow({ flow: flow(1, q3, board, 1, "allow"), outcome: "allowed", written: true }, { earlier: true }).detail, /before this page opened$/);
  assert.equal(transferRow({ flow: flow(1, q3, board, undefined, "allow"), outcome: "allowed", written: true }).title, "Moved into Board.pptx, slide 3: data from Q3.xlsx > Revenue!A1:D4");
  assert.equal(transferRow({ flow: flow(1, q3, board, 2, "allow", { sheet: "Q3 data" }), outcome: "allowed", written: true }).title, "Moved into Board.pptx, slide 3: 2 values from Q3.xlsx > 'Q3 data'!A1:D4");
});

test("rows: a /v1/flows row and a flow event build the same entry", () => {
  const g = new FlowGraph();
  g.add({ ...flow(5, q3, board, 12, "notify"), outcome: "notified", written: true, decided_by: null, at: 1764460002345 });
  const e = g.entry(5);
  assert.deepEqual([e.outcome, e.written, e.decided_by, e.at], ["notified", true, null, 1764460002345]);
  assert.equal(stageOf(e), "moved");
  // An older bridge: no outcome on an allowed row; the decision says it.
  g.add({ ...flow(6, q3, board, 12, "allow") });
  assert.equal(stageOf(g.entry(6)), "moved");
  g.add({ ...flow(9, q3, board, 12, "ask") });
  assert.equal(stageOf(g.entry(9)), "held");
});

test("graph: a document that gives and receives sits in the middle", () => {
  const a = doc("excel", "A.xlsx");
  const b = doc("excel", "B.xlsx");
  const c = doc("powerpoint", "C.pptx");
  const g = new FlowGraph();
  g.add(flow(1, a, b, 3, "allow"));
  g.add(flow(2, b, c, 3, "allow"));
  const l = layout(g, 760);
  const x = Object.fromEntries(l.nodes.map((n) => [n.name, n.x]));
  assert.ok(x["A.xlsx"] < x["B.xlsx"] && x["B.xlsx"] < x["C.pptx"], JSON.stringify(x));
});

test("policy rows: labels, values in words, where each came from", () => {
  const rows = policyRows({
    values: [
      { path: "flows.default", value: "ask", source: "file" },
      { path: "addins.excel.enabled", value: "true", source: "default" },
      { path: "sensitivity.confidential_sheets", value: "(none)", source: "default" },
      { path: "approval_timeout_seconds", value: "120", source: "default" },
      { path: "agent_client_may_approve", value: "false", source: "file" },
    ],
  });
  assert.deepEqual(
    rows.map((r) => [r.label, r.value, r.source]),
    [
      ["A transfer, by default", "held for your approval", "policy file"],
      ["Excel add-in", "on", "default"],
      ["Confidential sheets", "none", "default"],
      ["Time to answer an approval", "120 s, then denied", "default"],
      ["The agent's app may ask you to approve", "no: only the document's pane and this desktop", "policy file"],
    ],
  );
  // Without `values`, the policy object flattened.
  const flat = policyRows({ policy: { flows: { enabled: false }, deletions: "block" } });
  assert.deepEqual(flat.map((r) => [r.path, r.value]), [["flows.enabled", "off"], ["deletions", "blocked"]]);
  assert.equal(policyValueWords("sensitivity.confidential_documents", ["*Board*"]), "*Board*");
});
