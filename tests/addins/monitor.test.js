// The monitor's logic without a browser: the SSE parser, the graph of what moved where and
// its layout, the policy table (addins/monitor/model.js).
import { test } from "node:test";
import assert from "node:assert/strict";
import { SseParser, backoffMs, FlowGraph, layout, normDecision, stricter, policyRows, policyValueWords } from "../../addins/monitor/model.js";

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
const flow = (id, from, to, matched, decision) => ({ flow_id: id, source: from, target: to, matched, decision, sheet: "Revenue", cells: "A1:D4", location: "slide 3" });

test("graph: one edge per pair, values summed, strictest decision, denied approvals count as blocked", () => {
  const q3 = doc("excel", "Q3.xlsx");
  const board = doc("powerpoint", "Board.pptx");
  const budget = doc("excel", "Budget.xlsx");
  const g = new FlowGraph();
  assert.equal(g.add(flow(1, q3, board, 12, "notify")), true);
  assert.equal(g.add(flow(1, q3, board, 12, "notify")), false, "a flow seen twice counts once");
  g.add(flow(2, q3, board, 4, "allow"));
  g.add(flow(3, budget, board, 6, "ask"));
  let edges = g.edges();
  assert.equal(edges.length, 2);
  const e1 = edges.find((e) => e.source === "doc_Q3.xlsx");
  assert.deepEqual([e1.values, e1.count, e1.decision], [16, 2, "notify"]);
  assert.equal(edges.find((e) => e.source === "doc_Budget.xlsx").decision, "ask");
  g.resolve(3, "denied");
  edges = g.edges();
  assert.equal(edges.find((e) => e.source === "doc_Budget.xlsx").decision, "block");

  const l = layout(g, 760);
  const x = Object.fromEntries(l.nodes.map((n) => [n.name, n.x]));
  assert.ok(x["Q3.xlsx"] < x["Board.pptx"] && x["Budget.xlsx"] === x["Q3.xlsx"], JSON.stringify(x));
  assert.ok(l.nodes.every((n) => n.x >= 0 && n.x + n.w <= 760));
  const thick = l.edges.find((e) => e.values === 16);
  const thin = l.edges.find((e) => e.values === 6);
  assert.ok(thick.stroke > thin.stroke && thin.stroke >= 2 && thick.stroke <= 10);
  assert.match(thick.d, /^M\d+ [\d.]+ C/);
  assert.deepEqual(layout(g, 760), l, "deterministic");
});

test("graph: a held flow loaded after its answer keeps its outcome", () => {
  const g = new FlowGraph();
  g.add({ ...flow(7, doc("excel", "Q3.xlsx"), doc("powerpoint", "Board.pptx"), 5, "ask"), outcome: "expired" });
  g.add({ ...flow(8, doc("excel", "Costs.xlsx"), doc("powerpoint", "Board.pptx"), 5, "ask"), outcome: "pending" });
  const edges = g.edges();
  assert.equal(edges.find((e) => e.source === "doc_Q3.xlsx").decision, "block");
  assert.equal(edges.find((e) => e.source === "doc_Costs.xlsx").decision, "ask");
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
