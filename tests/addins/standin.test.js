// The Office.js stand-in: Office.js's load/sync semantics and errors, the sample documents,
// and the real pane operations running on it (what the playground does in a browser).
import { test } from "node:test";
import assert from "node:assert/strict";
import "../../addins/standin/office-standin.js";
import { createExcelOperations } from "../../addins/excel/operations.js";
import { createPowerPointOperations } from "../../addins/powerpoint/operations.js";
import { toRpcError } from "../../addins/shared/rpc.js";
import { purviewLabel } from "../../addins/shared/purview.js";

const { OfficeStandin } = globalThis;

async function rpcError(promise) {
  try {
    await promise;
  } catch (e) {
    return toRpcError(e);
  }
  assert.fail("expected failure");
}

test("properties read before load + sync throw PropertyNotLoaded; writes apply at sync", async () => {
  const { Excel } = OfficeStandin.create({ host: "excel" });
  await Excel.run(async (ctx) => {
    const r = ctx.workbook.worksheets.getItem("Revenue").getRange("B2");
    assert.throws(() => r.values, (e) => e.code === "PropertyNotLoaded");
    r.load("values");
    assert.throws(() => r.values, (e) => e.code === "PropertyNotLoaded", "not before sync");
    await ctx.sync();
    assert.deepEqual(r.values, [[1234567.89]]);
    r.values = [[42]];
    const again = ctx.workbook.worksheets.getItem("Revenue").getRange("B2");
    again.load("values,text");
    await ctx.sync();
    assert.deepEqual(again.values, [[42]]);
    assert.deepEqual(again.text, [["$42.00"]]);
  });
});

test("unknown sheets fail at sync with ItemNotFound, and the rest of the batch is dropped", async () => {
  const { Excel } = OfficeStandin.create({ host: "excel" });
  await Excel.run(async (ctx) => {
    const bad = ctx.workbook.worksheets.getItem("Nope").getRange("A1");
    bad.load("values");
    const good = ctx.workbook.worksheets.getItem("Revenue").getRange("A1");
    good.load("values");
    await assert.rejects(ctx.sync(), (e) => e.code === "ItemNotFound" && e.debugInfo.errorLocation.includes("Nope"));
    assert.throws(() => good.values, (e) => e.code === "PropertyNotLoaded");
  });
});

test("displayed text follows the number formats (currency, percent, dates, grouping)", () => {
  const f = OfficeStandin.formatValue;
  assert.equal(f(1234567.89, "$#,##0.00"), "$1,234,567.89");
  assert.equal(f(-1234.5, "#,##0"), "-1,235");
  assert.equal(f(0.1234, "0.0%"), "12.3%");
  assert.equal(f(46295, "yyyy-mm-dd"), "2026-09-30");
  assert.equal(f(46295, "mmm d, yyyy"), "Sep 30, 2026");
  assert.equal(f(46295, "m/d/yyyy"), "9/30/2026");
  assert.equal(f(0.1 + 0.2, "General"), "0.3");
  assert.equal(f(true, "General"), "TRUE");
});

test("the real Excel operations run on the stand-in", async () => {
  const s = OfficeStandin.create({ host: "excel" });
  const ops = createExcelOperations({ Excel: s.Excel, Office: s.Office });
  const sheets = await ops["excel.listSheets"]({});
  assert.deepEqual(sheets.sheets.map((x) => x.name), ["Revenue", "Costs"]);
  const r = await ops["excel.readRange"]({ sheet: "Revenue", address: "A1:G2" });
  assert.deepEqual(r.text[1], ["EMEA", "$1,234,567.89", "$1,302,450.50", "$1,421,337.25", "$1,510,000.00", "12.3%", "2026-09-30"]);
  assert.equal(r.numberFormat[1][5], "0.0%");
  const sel = await ops["excel.getSelection"]({});
  assert.deepEqual([sel.sheet, sel.address], ["Revenue", "B2:D4"]);
  const used = await ops["excel.getUsedRange"]({ sheet: "Costs" });
  assert.equal(used.address, "A1:E4");
  assert.deepEqual(await ops["excel.writeRange"]({ sheet: "Costs", address: "A6", values: [["Travel", 1, 2]] }), { address: "A6:C6" });
  assert.equal((await ops["excel.getUsedRange"]({ sheet: "Costs" })).address, "A1:E6");
  const charts = await ops["excel.listCharts"]({});
  assert.deepEqual(charts.charts, [{ name: "Revenue by region", sheet: "Revenue", sourceRange: "Revenue!A2:D4" }]);
  const img = await ops["excel.getChartImage"]({ sheet: "Revenue", chart: "Revenue by region" });
  assert.ok(img.png_base64.startsWith("iVBORw0KGgo"));
  const png = Buffer.from(img.png_base64, "base64");
  assert.equal(png.readUInt32BE(16), 480);
  const props = await ops["excel.getProperties"]({});
  assert.equal(props.name, "Q3.xlsx");
  assert.equal(props.custom["MSIP_Label_3a5e7c1d-0000-4000-8000-00000000c0de_Name"], "Confidential");
  assert.equal(props.custom.Department, undefined);
  assert.deepEqual(await ops["excel.deleteSheet"]({ sheet: "Costs" }), { deleted: "Costs" });
  const e = await rpcError(ops["excel.deleteSheet"]({ sheet: "Revenue" }));
  assert.equal(e.code, -32005);
  assert.equal(e.data.code, "InvalidOperation");
  const e2 = await rpcError(ops["excel.readRange"]({ sheet: "Costs", address: "A1" }));
  assert.equal(e2.data.code, "ItemNotFound");
});

test("where a selection or the data in whole columns is, without the cells (addressOnly)", async () => {
  const s = OfficeStandin.create({ host: "excel" });
  const ops = createExcelOperations({ Excel: s.Excel, Office: s.Office });
  assert.deepEqual(await ops["excel.getSelection"]({ addressOnly: true }), { sheet: "Revenue", address: "B2:D4" });
  // The used part of whole columns and rows: what the bridge asks before reading them.
  assert.deepEqual(await ops["excel.getUsedRange"]({ sheet: "Costs", address: "B:C", addressOnly: true }), { sheet: "Costs", address: "B1:C4" });
  assert.deepEqual(await ops["excel.getUsedRange"]({ sheet: "Costs", address: "$2:$3", addressOnly: true }), { sheet: "Costs", address: "A2:E3" });
  assert.deepEqual(await ops["excel.getUsedRange"]({ sheet: "Costs", address: "A1:C1048576", addressOnly: true }), { sheet: "Costs", address: "A1:C4" });
  assert.deepEqual(await ops["excel.getUsedRange"]({ sheet: "Costs", addressOnly: true }), { sheet: "Costs", address: "A1:E4" });
  // No value there: null, not an error (and not mistaken for a missing sheet).
  assert.deepEqual(await ops["excel.getUsedRange"]({ sheet: "Costs", address: "H:J", addressOnly: true }), { sheet: "Costs", address: null });
  const e = await rpcError(ops["excel.getUsedRange"]({ sheet: "Nope", address: "H:J", addressOnly: true }));
  assert.equal(e.data.code, "ItemNotFound");
  // Without addressOnly, the used part's cells.
  const cells = await ops["excel.getUsedRange"]({ sheet: "Costs", address: "B:C" });
  assert.equal(cells.address, "B1:C4");
  assert.equal(cells.values.length, 4);
  const bad = await rpcError(ops["excel.getSelection"]({ addressOnly: "yes" }));
  assert.equal(bad.code, -32602);
  assert.match(bad.message, /addressOnly/);
});

test("the stand-in honours missing requirement sets (and so do the operations)", async () => {
  const s = OfficeStandin.create({ host: "excel", missing: ["ExcelApi 1.7"] });
  const ops = createExcelOperations({ Excel: s.Excel, Office: s.Office });
  assert.equal(s.Office.context.requirements.isSetSupported("ExcelApi", "1.6"), true);
  assert.equal(s.Office.context.requirements.isSetSupported("ExcelApi", "1.9"), false);
  assert.equal(s.Office.context.requirements.isSetSupported("PowerPointApi", "1.1"), false);
  const e = await rpcError(ops["excel.getProperties"]({}));
  assert.deepEqual([e.code, e.message], [-32004, "needs ExcelApi 1.7"]);
});

test("the real PowerPoint operations run on the stand-in", async () => {
  const s = OfficeStandin.create({ host: "powerpoint" });
  const ops = createPowerPointOperations({ PowerPoint: s.PowerPoint, Office: s.Office });
  const list = await ops["powerpoint.listSlides"]({});
  assert.equal(list.slides.length, 2);
  assert.equal(list.slides[0].shapes[0].text, "Q3 business review");
  const added = await ops["powerpoint.addSlide"]({ layout: "Title Only" });
  assert.deepEqual(added, { id: "258#", index: 3 });
  const tb = await ops["powerpoint.addTextBox"]({ slide: 3, text: "EMEA $1.42M" });
  const tbl = await ops["powerpoint.addTable"]({ slide: "258#", rows: [["Region", "Q3"], ["EMEA", "$1.42M"]] });
  const img = await ops["powerpoint.insertImage"]({ slide: 3, png_base64: OfficeStandin.barChartPng([1, 2, 3], 64, 48) });
  assert.ok(tb.shape_id && tbl.shape_id && img.shape_id);
  const slide = await ops["powerpoint.readSlide"]({ slide: 3 });
  assert.deepEqual(slide.shapes.map((x) => [x.type, x.text]), [["TextBox", "EMEA $1.42M"], ["Table", "Region\tQ3\nEMEA\t$1.42M"], ["Image", null]]);
  assert.deepEqual(await ops["powerpoint.deleteSlide"]({ slide: 1 }), { deleted: "256#" });
  assert.equal((await ops["powerpoint.listSlides"]({})).slides.length, 2);
  const props = await ops["powerpoint.getProperties"]({});
  assert.equal(props.name, "Q3 review.pptx");
  assert.equal(props.url, "https://contoso.sharepoint.com/sites/finance/Shared%20Documents/Q3%20review.pptx");
  assert.equal(purviewLabel(props.custom), "General");
  assert.equal(props.custom.Audience, undefined, "only the Purview properties leave the deck");
  const noProps = OfficeStandin.create({ host: "powerpoint", missing: ["PowerPointApi 1.7"] });
  const e7 = await rpcError(createPowerPointOperations({ PowerPoint: noProps.PowerPoint, Office: noProps.Office })["powerpoint.getProperties"]({}));
  assert.deepEqual([e7.code, e7.message], [-32004, "needs PowerPointApi 1.7"]);
  const noTables = OfficeStandin.create({ host: "powerpoint", missing: ["PowerPointApi 1.8"] });
  const ops2 = createPowerPointOperations({ PowerPoint: noTables.PowerPoint, Office: noTables.Office });
  const e = await rpcError(ops2["powerpoint.addTable"]({ slide: 1, rows: [["a"]] }));
  assert.deepEqual([e.code, e.message], [-32004, "needs PowerPointApi 1.8"]);
});

test("the stand-in reports what each sync touched (the playground's live highlights)", async () => {
  const s = OfficeStandin.create({ host: "excel" });
  const seen = [];
  s.subscribe((changes) => seen.push(...changes.map((c) => `${c.kind} ${c.detail.sheet}!${c.detail.address}`)));
  const ops = createExcelOperations({ Excel: s.Excel, Office: s.Office });
  await ops["excel.readRange"]({ sheet: "Revenue", address: "B2:D4" });
  await ops["excel.writeRange"]({ sheet: "Revenue", address: "H1", values: [["note"]] });
  assert.deepEqual(seen, ["read Revenue!B2:D4", "write Revenue!H1"]);
});
