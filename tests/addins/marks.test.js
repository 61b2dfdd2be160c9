// The Excel pane's list of confidential marks (addins/excel/marks.js): label.list shown as a
// list, "whole sheet" for a whole-sheet mark, Remove sends label.set "normal" for exactly that
// sheet and address and refreshes, failures in words, an older bridge without label.list.
import { test, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { install } from "./helpers/mini-dom.mjs";
import { MarksList, WHOLE_SHEET, isWholeSheet, markWords } from "../../addins/excel/marks.js";

let doc, list, empty, message, stored, calls, connected, changes;

function make(extra = {}) {
  return new MarksList({
    list,
    empty,
    message,
    listMarks: async () => {
      calls.push(["label.list"]);
      return { marks: stored.map((m) => ({ ...m })) };
    },
    setLabel: async (sheet, address, sensitivity) => {
      calls.push(["label.set", sheet, address, sensitivity]);
      if (sensitivity === "normal") stored = stored.filter((m) => !(m.sheet === sheet && m.address === address));
      else stored.push({ sheet, address });
      return { applied: true };
    },
    connected: () => connected,
    onChange: (m) => changes.push(m.length),
    ...extra,
  });
}

const rows = () => list.children.map((li) => li.querySelector("span").textContent);
const removeButton = (i) => list.children[i].querySelector("button");
const settle = () => new Promise((r) => setImmediate(r));

beforeEach(() => {
  doc = install();
  list = doc.createElement("ul");
  empty = doc.createElement("p");
  message = doc.createElement("p");
  doc.body.append(list, empty, message);
  stored = [
    { sheet: "Revenue", address: "B2:D5" },
    { sheet: "Salaries", address: WHOLE_SHEET },
  ];
  calls = [];
  connected = true;
  changes = [];
});

test("the bridge's marks as a list; a whole-sheet mark reads 'whole sheet'", async () => {
  const marks = make();
  assert.deepEqual(await marks.refresh(), stored);
  assert.deepEqual(rows(), ["Revenue!B2:D5", "Salaries (whole sheet)"]);
  assert.equal(empty.hidden, true);
  assert.deepEqual(list.children.map((li) => [li.getAttribute("data-sheet"), li.getAttribute("data-address")]), [["Revenue", "B2:D5"], ["Salaries", WHOLE_SHEET]]);
  assert.deepEqual(list.children.map((li) => li.querySelector("button").getAttribute("aria-label")), [
    "Remove the confidential mark on Revenue!B2:D5",
    "Remove the confidential mark on Salaries (whole sheet)",
  ]);
  assert.ok(list.children.every((li) => li.querySelector("button").textContent === "Remove" && li.querySelector("button").getAttribute("type") === "button"));
  assert.deepEqual(changes, [2]);
  assert.equal(isWholeSheet("$A$1:$XFD$1048576"), true);
  assert.equal(markWords({ sheet: "Q3 costs", address: "A1" }), "Q3 costs!A1");
});

test("Remove sends label.set normal for exactly that sheet and address, then refreshes", async () => {
  const marks = make();
  await marks.refresh();
  removeButton(1).click();
  assert.equal(removeButton(1).disabled, true, "no second click while it is on its way");
  await settle();
  await settle();
  assert.deepEqual(calls, [["label.list"], ["label.set", "Salaries", WHOLE_SHEET, "normal"], ["label.list"]]);
  assert.deepEqual(rows(), ["Revenue!B2:D5"]);
  assert.equal(message.className, "message ok");
  assert.equal(message.textContent, "Removed the confidential mark on Salaries (whole sheet).");
  await marks.remove(stored[0]);
  assert.deepEqual(rows(), []);
  assert.equal(empty.hidden, false);
  assert.equal(empty.textContent, "You have not marked anything in this workbook.");
  assert.deepEqual(changes, [2, 1, 0]);
});

test("a mark made in the pane is shown from the bridge's list", async () => {
  const marks = make();
  await marks.refresh();
  stored.push({ sheet: "Revenue", address: "F2:F5" });
  await marks.marked("Revenue", "F2:F5");
  assert.deepEqual(rows(), ["Revenue!B2:D5", "Salaries (whole sheet)", "Revenue!F2:F5"]);
});

test("a removal the bridge refuses keeps the mark and says why", async () => {
  const marks = make({
    setLabel: async () => {
      throw Object.assign(new Error("no such mark"), { code: -32602 });
    },
  });
  await marks.refresh();
  assert.equal(await marks.remove(stored[0], removeButton(0)), false);
  assert.deepEqual(rows(), ["Revenue!B2:D5", "Salaries (whole sheet)"]);
  assert.equal(message.className, "message error");
  assert.equal(message.textContent, "Could not remove the mark on Revenue!B2:D5: no such mark");
  assert.equal(removeButton(0).disabled, false, "the person can try again");
});

test("the Remove buttons follow the connection", async () => {
  connected = false;
  const marks = make();
  await marks.refresh();
  assert.ok(list.children.every((li) => li.querySelector("button").disabled));
  marks.setEnabled(true);
  assert.ok(list.children.every((li) => !li.querySelector("button").disabled));
});

test("an older bridge without label.list: the marks made here, said so", async () => {
  const marks = make({
    listMarks: async () => {
      throw Object.assign(new Error("method not found"), { code: -32601 });
    },
  });
  assert.deepEqual(await marks.refresh(), []);
  assert.equal(empty.hidden, false);
  assert.match(empty.textContent, /cannot list earlier ones/);
  await marks.marked("Revenue", "B2:B3");
  assert.deepEqual(rows(), ["Revenue!B2:B3"]);
  await marks.remove({ sheet: "Revenue", address: "B2:B3" });
  assert.deepEqual(rows(), []);
  // Any other failure keeps what is shown and says so.
  const failing = make({ listMarks: async () => Promise.reject(new Error("not connected to office-bridge")) });
  await failing.refresh();
  assert.equal(message.textContent, "Could not list your marks: not connected to office-bridge");
});

test("sheet names stay text", async () => {
  stored = [{ sheet: "<img src=x onerror=alert(1)>", address: "A1" }, { sheet: 5, address: "A1" }, null];
  await make().refresh();
  assert.deepEqual(rows(), ["<img src=x onerror=alert(1)>!A1"], "malformed entries are left out");
  assert.equal(list.querySelectorAll("img").length, 0);
});
