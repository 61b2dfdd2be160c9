// Every Excel operation on office-addin-mock: results, unsupported requirement sets
// (-32004 naming the set), Office errors (-32005 with Office's code) and bad params (-32602).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createExcelOperations, purviewLabel, targetAddress, unionOfRefs, rangeInName } from "../../addins/excel/operations.js";
import { toRpcError } from "../../addins/shared/rpc.js";
import { excelMock, officeMock } from "./mocks.js";

const ALL = { ExcelApi: "1.17", ImageCoercion: "1.1" };
const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg==";

function model() {
  return {
    name: "Q3.xlsx",
    sheets: [
      {
        name: "Revenue",
        ranges: {
          "B2:C3": { address: "Revenue!B2:C3", values: [[1234567.89, 0.1234], [2345678.1, 0.0931]], text: [["$1,234,567.89", "12.3%"], ["$2,345,678.10", "9.3%"]], numberFormat: [["$#,##0.00", "0.0%"], ["$#,##0.00", "0.0%"]] },
        },
        usedRange: { address: "Revenue!A1:G5", values: Array.from({ length: 5 }, () => Array(7).fill(1)), text: Array.from({ length: 5 }, () => Array(7).fill("1")), numberFormat: Array.from({ length: 5 }, () => Array(7).fill("General")) },
        charts: [{ name: "Revenue by region", image: PNG, series: [{ name: "Q3", values: "=Revenue!$D$2:$D$4", categories: "=Revenue!$A$2:$A$4" }] }],
      },
      { name: "Costs", visibility: "Hidden", charts: [], usedRange: { address: "Costs!A1", values: [[""]], text: [[""]], numberFormat: [["General"]] } },
    ],
    selection: { address: "Revenue!B2:B3", values: [[1], [2]], text: [["1"], ["2"]], numberFormat: [["General"], ["General"]] },
    custom: [
      { key: "MSIP_Label_abc-123_Enabled", value: "true" },
      { key: "MSIP_Label_abc-123_Name", value: "Confidential" },
      { key: "Department", value: "Finance" },
    ],
  };
}

function setup({ sets = ALL, mutate } = {}) {
  const m = model();
  mutate?.(m);
  const mocks = excelMock(m);
  const Office = officeMock({ sets });
  const ops = createExcelOperations({ Excel: mocks.Excel, Office });
  return { ops, ...mocks, Office };
}

/** Runs an operation and returns the JSON-RPC error object it produces. */
async function rpcError(promise) {
  try {
    await promise;
  } catch (e) {
    return toRpcError(e);
  }
  assert.fail("expected the operation to fail");
}

test("excel.listSheets lists names, positions and visibility", async () => {
  const { ops } = setup();
  assert.deepEqual(await ops["excel.listSheets"]({}), {
    sheets: [
      { name: "Revenue", position: 0, visible: true },
      { name: "Costs", position: 1, visible: false },
    ],
  });
});

test("excel.readRange returns values, text and number formats", async () => {
  const { ops } = setup();
  const r = await ops["excel.readRange"]({ sheet: "Revenue", address: "B2:C3" });
  assert.equal(r.sheet, "Revenue");
  assert.equal(r.address, "B2:C3");
  assert.deepEqual(r.values, [[1234567.89, 0.1234], [2345678.1, 0.0931]]);
  assert.deepEqual(r.text[0], ["$1,234,567.89", "12.3%"]);
  assert.deepEqual(r.numberFormat[1], ["$#,##0.00", "0.0%"]);
});

test("excel.readRange of an unknown sheet is an Office error (-32005) carrying Office's code", async () => {
  const { ops } = setup();
  const e = await rpcError(ops["excel.readRange"]({ sheet: "Nope", address: "A1" }));
  assert.equal(e.code, -32005);
  assert.equal(e.data.code, "ItemNotFound");
  assert.match(e.data.message, /doesn't exist/);
});

test("excel.readRange rejects bad params with -32602 naming the field", async () => {
  const { ops } = setup();
  let e = await rpcError(ops["excel.readRange"]({ address: "A1" }));
  assert.equal(e.code, -32602);
  assert.match(e.message, /sheet/);
  e = await rpcError(ops["excel.readRange"]({ sheet: "Revenue", address: "=SUM(A1)" }));
  assert.equal(e.code, -32602);
  assert.match(e.message, /address/);
  e = await rpcError(ops["excel.readRange"]([1, 2]));
  assert.equal(e.code, -32602);
});

test("every Excel operation answers -32004 naming the set when the host lacks it", async () => {
  const { ops } = setup({ sets: {} });
  const calls = {
    "excel.listSheets": [{}, "ExcelApi 1.1"],
    "excel.readRange": [{ sheet: "Revenue", address: "A1" }, "ExcelApi 1.1"],
    "excel.getSelection": [{}, "ExcelApi 1.1"],
    "excel.getUsedRange": [{ sheet: "Revenue" }, "ExcelApi 1.2"],
    "excel.writeRange": [{ sheet: "Revenue", address: "A1", values: [[1]] }, "ExcelApi 1.1"],
    "excel.deleteSheet": [{ sheet: "Costs" }, "ExcelApi 1.1"],
    "excel.listCharts": [{}, "ExcelApi 1.1"],
    "excel.getChartImage": [{ sheet: "Revenue", chart: "Revenue by region" }, "ExcelApi 1.2"],
    "excel.getProperties": [{}, "ExcelApi 1.7"],
  };
  assert.deepEqual(Object.keys(calls).sort(), Object.keys(ops).sort(), "every operation is covered");
  for (const [method, [params, set]] of Object.entries(calls)) {
    const e = await rpcError(ops[method](params));
    assert.equal(e.code, -32004, method);
    assert.equal(e.message, `needs ${set}`, method);
  }
});

test("excel.getUsedRange needs ExcelApi 1.2 (valuesOnly) and reads the used range", async () => {
  let { ops } = setup({ sets: { ExcelApi: "1.1" } });
  const e = await rpcError(ops["excel.getUsedRange"]({ sheet: "Revenue" }));
  assert.deepEqual([e.code, e.message], [-32004, "needs ExcelApi 1.2"]);
  const s = setup();
  const r = await s.ops["excel.getUsedRange"]({ sheet: "Revenue" });
  assert.equal(r.address, "A1:G5");
  assert.equal(r.values.length, 5);
  assert.equal(s.state.usedRangeValuesOnly, true);
});

test("excel.getUsedRange with addressOnly says where the data is, for a sheet or inside a range", async () => {
  const s = setup({ mutate: (m) => (m.sheets[0].usedIn = { "A:C": "A1:C5" }) });
  assert.deepEqual(await s.ops["excel.getUsedRange"]({ sheet: "Revenue", addressOnly: true }), { sheet: "Revenue", address: "A1:G5" });
  assert.deepEqual(await s.ops["excel.getUsedRange"]({ sheet: "Revenue", address: "A:C", addressOnly: true }), { sheet: "Revenue", address: "A1:C5" });
  assert.equal(s.state.usedRangeValuesOnly, true);
  // A range without values: null.
  assert.deepEqual(await s.ops["excel.getUsedRange"]({ sheet: "Revenue", address: "E:F", addressOnly: true }), { sheet: "Revenue", address: null });
  // A sheet that does not exist is still an Office error.
  const e = await rpcError(s.ops["excel.getUsedRange"]({ sheet: "Nope", address: "E:F", addressOnly: true }));
  assert.deepEqual([e.code, e.data.code], [-32005, "ItemNotFound"]);
  const bad = await rpcError(s.ops["excel.getUsedRange"]({ sheet: "Revenue", address: "A:C", addressOnly: 1 }));
  assert.equal(bad.code, -32602);
});

test("excel.getSelection with addressOnly gives where the selection is, without its cells", async () => {
  const { ops } = setup();
  assert.deepEqual(await ops["excel.getSelection"]({ addressOnly: true }), { sheet: "Revenue", address: "B2:B3" });
});

test("excel.getSelection reads the selected range with its sheet", async () => {
  const { ops } = setup();
  const r = await ops["excel.getSelection"]({});
  assert.deepEqual([r.sheet, r.address, r.values], ["Revenue", "B2:B3", [[1], [2]]]);
});

test("excel.writeRange writes values, grows a single cell to fit, and checks sizes", async () => {
  const { ops, ranges } = setup();
  const r = await ops["excel.writeRange"]({ sheet: "Revenue", address: "H2", values: [[1, "x"], [true, null]] });
  assert.equal(r.address, "H2:I3");
  const written = ranges.find((x) => x.address === "H2:I3");
  assert.deepEqual(written.mock.values, [[1, "x"], [true, ""]]);
  const e = await rpcError(ops["excel.writeRange"]({ sheet: "Revenue", address: "A1:B1", values: [[1], [2]] }));
  assert.equal(e.code, -32602);
  assert.match(e.message, /2x1 but A1:B1 is 1x2/);
  const e2 = await rpcError(ops["excel.writeRange"]({ sheet: "Revenue", address: "A1", values: [[1, 2], [3]] }));
  assert.equal(e2.code, -32602);
  const e3 = await rpcError(ops["excel.writeRange"]({ sheet: "Revenue", address: "A1", values: [[{}]] }));
  assert.equal(e3.code, -32602);
});

test("excel.writeRange to an unknown sheet is -32005", async () => {
  const { ops } = setup();
  const e = await rpcError(ops["excel.writeRange"]({ sheet: "Gone", address: "A1", values: [[1]] }));
  assert.equal(e.code, -32005);
  assert.equal(e.data.code, "ItemNotFound");
});

test("excel.deleteSheet deletes and reports the name; Office refusals are -32005", async () => {
  const s = setup({ mutate: (m) => (m.sheets[0].deleteError = "InvalidOperation") });
  assert.deepEqual(await s.ops["excel.deleteSheet"]({ sheet: "Costs" }), { deleted: "Costs" });
  assert.deepEqual(s.deleted, ["Costs"]);
  const e = await rpcError(s.ops["excel.deleteSheet"]({ sheet: "Revenue" }));
  assert.equal(e.code, -32005);
  assert.equal(e.data.code, "InvalidOperation");
  assert.equal((await rpcError(s.ops["excel.deleteSheet"]({}))).code, -32602);
});

test("excel.listCharts gives the source range from series formulas (ExcelApi 1.15)", async () => {
  const { ops } = setup();
  assert.deepEqual(await ops["excel.listCharts"]({}), {
    charts: [{ name: "Revenue by region", sheet: "Revenue", sourceRange: "Revenue!A2:D4" }],
  });
  const only = await ops["excel.listCharts"]({ sheet: "Costs" });
  assert.deepEqual(only, { charts: [] });
});

test("excel.listCharts without ExcelApi 1.15 falls back to the chart name, else null", async () => {
  const { ops } = setup({ sets: { ExcelApi: "1.14" }, mutate: (m) => m.sheets[0].charts.push({ name: "Sales Revenue!B2:D5", image: PNG }) });
  const r = await ops["excel.listCharts"]({});
  assert.deepEqual(r.charts.map((c) => c.sourceRange), [null, "Revenue!B2:D5"]);
});

test("excel.getChartImage returns the PNG and source; missing chart is -32005; 1.1 hosts get -32004", async () => {
  const s = setup();
  const r = await s.ops["excel.getChartImage"]({ sheet: "Revenue", chart: "Revenue by region" });
  assert.equal(r.png_base64, PNG);
  assert.equal(r.sourceRange, "Revenue!A2:D4");
  await s.ops["excel.getChartImage"]({ sheet: "Revenue", chart: "Revenue by region", width: 640, height: 360 });
  assert.deepEqual(s.state.lastImageSize, [640, 360]);
  const e = await rpcError(s.ops["excel.getChartImage"]({ sheet: "Revenue", chart: "Nope" }));
  assert.equal(e.code, -32005);
  const old = setup({ sets: { ExcelApi: "1.1" } });
  const e2 = await rpcError(old.ops["excel.getChartImage"]({ sheet: "Revenue", chart: "Revenue by region" }));
  assert.deepEqual([e2.code, e2.message], [-32004, "needs ExcelApi 1.2"]);
  assert.equal((await rpcError(s.ops["excel.getChartImage"]({ sheet: "Revenue" }))).code, -32602);
});

test("excel.getProperties returns name, url and only the Purview label properties", async () => {
  const { ops } = setup();
  const r = await ops["excel.getProperties"]({});
  assert.equal(r.name, "Q3.xlsx");
  assert.equal(r.url, "https://contoso.sharepoint.com/Q3.xlsx");
  assert.deepEqual(r.custom, { "MSIP_Label_abc-123_Enabled": "true", "MSIP_Label_abc-123_Name": "Confidential" });
  assert.equal(purviewLabel(r.custom), "Confidential");
  assert.equal(purviewLabel({ "MSIP_Label_x_Name": "Secret", "MSIP_Label_x_Enabled": "false" }), null);
});

test("A1 helpers", () => {
  assert.equal(targetAddress("b2", 1, 1), "B2");
  assert.equal(targetAddress("Z9", 2, 3), "Z9:AB10");
  assert.equal(targetAddress("B2:D3", 2, 3), "B2:D3");
  assert.equal(unionOfRefs(["=Revenue!$D$2:$D$4", "=Revenue!$A$2:$A$4"], "X"), "Revenue!A2:D4");
  assert.equal(unionOfRefs(["='My sheet'!$B$1"], "X"), "'My sheet'!B1");
  assert.equal(unionOfRefs([], "X"), null);
  assert.equal(rangeInName("Chart 1"), null);
  assert.equal(rangeInName("Revenue!B2:D5 chart"), "Revenue!B2:D5");
});
