// The pure parts of the pane UI: reading flows as the bridge sends them, countdowns, words.
import { test } from "node:test";
import assert from "node:assert/strict";
import { describeApproval, describeFlow, explainWhy, formatCountdown, decisionWords, levelWords, sensitivityClass, cellCount } from "../../addins/shared/ui.js";

// A flow summary as the bridge sends it (flow.notice, /v1/flows, an approval's `flow`);
// flow-contract.e2e.test.js holds these readers to the real bridge's payloads.
const SUMMARY = {
  flow_id: 7,
  write_id: "wr_7",
  source: { app: "excel", name: "Q3.xlsx", id: "doc_1" },
  sheet: "Revenue",
  cells: "B2:D5",
  cell_count: 12,
  target: { app: "powerpoint", name: "Board.pptx", id: "doc_2" },
  location: "slide 3",
  matched: 12,
  confidence: 0.97,
  strength: "confirmed",
  sensitivity: "confidential",
  explicit: false,
  decision: "ask",
  why: { rule: "admin_policy", policy: "ask", sensitivity: { level: "confidential", origin: { by: "admin_rule", pattern: "Revenue" } }, sensitive_values: 12 },
  reason: "12 values from Q3.xlsx > Revenue are confidential … would go to Board.pptx (slide 3); your administrator requires approval for confidential data",
  line: "12 values from Q3.xlsx > Revenue!B2:D5 moved into Board.pptx slide 3",
  outcome: "pending",
  written: null,
};

test("describeFlow reads the bridge's flow summary", () => {
  const f = describeFlow(SUMMARY);
  assert.equal(f.sourceName, "Q3.xlsx");
  assert.equal(f.where, "Revenue!B2:D5");
  assert.equal(f.from, "Q3.xlsx > Revenue!B2:D5");
  assert.equal(f.targetName, "Board.pptx");
  assert.equal(f.location, "slide 3");
  assert.equal(f.matched, "12 values");
  assert.equal(f.level, "confidential");
  assert.equal(levelWords(f.level), "Confidential");
  assert.equal(f.decision, "ask");
  assert.equal(f.because, `Your administrator requires approval for confidential data (your administrator's rule "Revenue")`);
  assert.equal(f.strength, "confirmed");
  assert.equal(f.how, "found in what the agent wrote");
  assert.equal(describeFlow({ ...SUMMARY, matched: 1 }).matched, "1 value");
  // A message carrying the summary in `flow` (the `flow` event, an approval) reads the same.
  assert.deepEqual(describeFlow({ type: "flow", at: 1, flow: SUMMARY }), f);
});

test("describeFlow reads only the bridge's fields: other shapes and odd types read as empty, never throw", () => {
  // Shapes the bridge never sends are not guessed at.
  const other = describeFlow({ source_name: "A.xlsx", source: { document: { name: "A.xlsx" } }, target: "Deck.pptx", target_name: "Deck.pptx", sheet: "S", cells: ["B2", "B3"], matched: ["1", "2"], sensitivity: { level: "confidential" } });
  assert.deepEqual([other.sourceName, other.where, other.targetName, other.matched, other.level], ["another document", "S", "", "", ""]);
  assert.equal(describeFlow({}).from, "another document");
  assert.equal(describeFlow({ source: { name: { evil: true } } }).sourceName, "another document");
  assert.equal(describeFlow({ matched: NaN }).matched, "");
  for (const junk of [null, undefined, 0, "flow", [], [1, 2], { flow: "x" }, { source: null, target: 5, why: "x", flow: null }]) {
    const f = describeFlow(junk);
    assert.equal(f.from, "another document", JSON.stringify(junk));
    assert.equal(f.because, "");
  }
});

test("countdown, decisions, sensitivity classes, cell counts", () => {
  assert.equal(formatCountdown(119001), "2:00");
  assert.equal(formatCountdown(59000), "0:59");
  assert.equal(formatCountdown(-5), "0:00");
  assert.equal(decisionWords("deny"), "blocked");
  assert.equal(decisionWords("notify"), "allowed, you were notified");
  assert.equal(sensitivityClass("Highly Confidential"), "sens-high");
  assert.equal(sensitivityClass("Confidential"), "sens-conf");
  assert.equal(sensitivityClass(""), "sens-none");
  assert.equal(cellCount([[1, 2], [3, 4]]), 4);
});

test("describeApproval reads the bridge's approval.request: a held transfer or a held deletion", () => {
  const flow = { flow_id: 7, source: { app: "excel", name: "Q3.xlsx", id: "doc_1" }, sheet: "Revenue", cells: "B2:D4", cell_count: 9, target: { app: "powerpoint", name: "Q3 review.pptx", id: "doc_2" }, location: "slide 3", matched: 9, confidence: 0.97, strength: "confirmed", sensitivity: "normal", explicit: false, decision: "ask", reason: "approval required", line: "9 values from Q3.xlsx > Revenue!B2:D4 moved into Q3 review.pptx slide 3" };
  const a = describeApproval({ approval_id: "apr_1", target: flow.target, held: { kind: "flow", flow }, flow, expires_at: 1, line: flow.line });
  assert.equal(a.deletion, false);
  assert.equal(a.title, "Content from Q3.xlsx");
  assert.equal(a.subject, "content from Q3.xlsx > Revenue!B2:D4");
  assert.equal(a.flow.how, "found in what the agent wrote");
  assert.equal(levelWords(a.flow.level), "not marked sensitive");
  const d = describeApproval({ approval_id: "apr_2", target: { app: "powerpoint", name: "Q3 review.pptx", id: "doc_2" }, held: { kind: "deletion", what: "slide 1" }, flow: { what: "slide 1", target: { name: "Q3 review.pptx" }, location: "slide 1", reason: "deletions need your permission" } });
  assert.equal(d.deletion, true);
  assert.equal(d.title, "Delete slide 1 from Q3 review.pptx?");
  assert.equal(d.subject, "delete slide 1 from Q3 review.pptx");
  assert.equal(d.flow.reason, "deletions need your permission");
  assert.equal(d.flow.because, "deletions need your permission");
  // The approval_requested event: `kind` and `flow` or `what` are its own fields.
  const e = describeApproval({ type: "approval_requested", approval_id: "apr_3", flow_id: null, target: { app: "powerpoint", name: "Q3 review.pptx", id: "doc_2" }, kind: "deletion", what: "slide 4", expires_at: 1, line: "delete slide 4 from Q3 review.pptx" });
  assert.deepEqual([e.deletion, e.subject], [true, "delete slide 4 from Q3 review.pptx"]);
  const t = describeApproval({ type: "approval_requested", approval_id: "apr_4", flow_id: 7, target: flow.target, kind: "flow", flow, expires_at: 1, line: flow.line });
  assert.deepEqual([t.deletion, t.subject], [false, "content from Q3.xlsx > Revenue!B2:D4"]);
  assert.equal(describeApproval({ flow: { source: { name: "A.xlsx" }, explicit: true } }).flow.how, "copied from the workbook");
  assert.equal(describeApproval(null).title, "Content from another document");
  assert.equal(describeApproval({ held: { kind: "deletion" } }).subject, "delete something from this document");
  assert.equal(describeApproval({ held: "deletion", kind: 3, flow: [] }).deletion, false);
});

test("levelWords: the bridge's levels in words, labels pass through", () => {
  assert.equal(levelWords("confidential"), "Confidential");
  assert.equal(levelWords("Highly Confidential"), "Highly Confidential");
  assert.equal(levelWords(""), "not labelled");
});

test("a decision's why is rendered from its data, never from the bridge's sentence", () => {
  const purview = { level: "confidential", origin: { by: "purview", label: "Highly Confidential" } };
  assert.equal(explainWhy({ rule: "admin_policy", policy: "ask", sensitivity: purview, sensitive_values: 6 }), 'Your administrator requires approval for confidential data (Purview label "Highly Confidential")');
  assert.equal(explainWhy({ rule: "admin_policy", policy: "block", sensitivity: { level: "normal", origin: { by: "default" } }, choice: "always_allow" }), "Your administrator blocks data moving between documents; you chose to always allow this pair");
  assert.equal(explainWhy({ rule: "admin_policy", policy: "block", uncertain: true }), "Your administrator blocks data moving between documents; the match is uncertain, so it is only shown");
  assert.equal(explainWhy({ rule: "transfers_off" }), "Cross-app transfers are switched off by your administrator");
  assert.equal(explainWhy({ rule: "deletion_policy", policy: "ask" }), "Your administrator requires approval for deletions");
  assert.equal(explainWhy({ rule: "same_document" }), "It stays within the same document");
  assert.equal(explainWhy({ rule: "something_new" }), "");
  assert.equal(explainWhy(null), "");
  assert.equal(explainWhy("a string"), "");
  // describeFlow carries both: the data's words first, the sentence when there is no data.
  const sentence = "6 values from Q3.xlsx > Revenue are confidential (marked by you) and would go to Board.pptx; your administrator requires approval for confidential data";
  const f = describeFlow({ reason: sentence, why: { rule: "admin_policy", policy: "ask", sensitivity: { level: "confidential", origin: { by: "person" } } } });
  assert.equal(f.because, "Your administrator requires approval for confidential data (marked by you)");
  assert.equal(f.reason, sentence);
  assert.equal(describeFlow({ reason: sentence }).because, sentence);
});
