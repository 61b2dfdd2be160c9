// The pure parts of the pane UI: reading flows as the bridge sends them, countdowns, words.
import { test } from "node:test";
import assert from "node:assert/strict";
import { describeApproval, describeFlow, explainWhy, formatCountdown, decisionWords, levelWords, sensitivityClass, cellCount } from "../../addins/shared/ui.js";

test("describeFlow reads the approval.request flow shape", () => {
  const f = describeFlow({ source: { name: "Q3.xlsx" }, sheet: "Revenue", cells: "B2:D5", matched: 12, sensitivity: { level: "Confidential" }, location: "slide 3, table", reason: "confidential" });
  assert.equal(f.from, "Q3.xlsx > Revenue!B2:D5");
  assert.equal(f.matched, "12 values");
  assert.equal(f.level, "Confidential");
  assert.equal(f.location, "slide 3, table");
});

test("describeFlow tolerates cell lists, wrapped flows, missing fields and odd types", () => {
  assert.equal(describeFlow({ flow: { source: { name: "A.xlsx" }, sheet: "S", cells: ["B2", "B3"] } }).from, "A.xlsx > S!B2, B3");
  assert.equal(describeFlow({ source: { name: "A" }, sheet: "S", cells: ["A1", "A2", "A3", "A4", "A5"] }).where, "S!A1, A2, A3 and 2 more");
  assert.equal(describeFlow({}).from, "another document");
  assert.equal(describeFlow({ source: { name: { evil: true } } }).sourceName, "another document");
  assert.equal(describeFlow({ target: { name: "Deck.pptx" }, matched: ["1", "2"] }).matched, "2 values");
  assert.equal(describeFlow(null).from, "another document");
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
  assert.equal(describeApproval({ flow: { source: { name: "A.xlsx" }, explicit: true } }).flow.how, "copied from the workbook");
  assert.equal(describeApproval(null).title, "Content from another document");
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
