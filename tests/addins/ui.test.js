// The pure parts of the pane UI: reading flows as the bridge sends them, countdowns, words.
import { test } from "node:test";
import assert from "node:assert/strict";
import { describeFlow, formatCountdown, decisionWords, sensitivityClass, cellCount } from "../../addins/shared/ui.js";

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
