// Every PowerPoint operation on office-addin-mock: results, unsupported requirement sets
// (-32004 naming the set), Office errors (-32005) and bad params (-32602).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createPowerPointOperations } from "../../addins/powerpoint/operations.js";
import { toRpcError } from "../../addins/shared/rpc.js";
import { purviewLabel, purviewProperties } from "../../addins/shared/purview.js";
import { officeMock, powerpointMock } from "./mocks.js";

const ALL = { PowerPointApi: "1.8", ImageCoercion: "1.1" };
const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg==";

function model() {
  return {
    slides: [
      { id: "256#", shapes: [{ id: "2", name: "Title 1", type: "Placeholder", text: "Q3 business review" }, { id: "3", name: "Picture 2", type: "Image" }] },
      { id: "257#", shapes: [{ id: "4", name: "Table 3", type: "Table", table: [["Region", "Q3"], ["EMEA", "$1.42M"]] }, { id: "5", name: "TextBox 4", type: "TextBox", text: "Revenue grew" }] },
    ],
    custom: [
      { key: "MSIP_Label_9f1c-77_Enabled", value: "true" },
      { key: "MSIP_Label_9f1c-77_Name", value: "Highly Confidential" },
      { key: "MSIP_Label_9f1c-77_SiteId", value: "72f988bf" },
      { key: "Client", value: "Contoso board" },
    ],
  };
}

function setup({ sets = ALL, mutate } = {}) {
  const m = model();
  mutate?.(m);
  const mocks = powerpointMock(m);
  const Office = officeMock({ sets, url: "https://contoso.sharepoint.com/Q3%20review.pptx", document: mocks.document });
  const ops = createPowerPointOperations({ PowerPoint: mocks.PowerPoint, Office });
  return { ops, ...mocks, Office, model: m };
}

async function rpcError(promise) {
  try {
    await promise;
  } catch (e) {
    return toRpcError(e);
  }
  assert.fail("expected the operation to fail");
}

test("powerpoint.listSlides lists ids, 1-based indexes and the text of each shape", async () => {
  const { ops } = setup();
  assert.deepEqual(await ops["powerpoint.listSlides"]({}), {
    slides: [
      { id: "256#", index: 1, shapes: [{ id: "2", name: "Title 1", type: "Placeholder", text: "Q3 business review" }, { id: "3", name: "Picture 2", type: "Image", text: null }] },
      { id: "257#", index: 2, shapes: [{ id: "4", name: "Table 3", type: "Table", text: "Region\tQ3\nEMEA\t$1.42M" }, { id: "5", name: "TextBox 4", type: "TextBox", text: "Revenue grew" }] },
    ],
  });
});

test("powerpoint.listSlides on PowerPointApi 1.3 gives shapes without text (text needs 1.4)", async () => {
  const { ops } = setup({ sets: { PowerPointApi: "1.3" } });
  const r = await ops["powerpoint.listSlides"]({});
  assert.deepEqual(r.slides[0].shapes.map((s) => s.text), [null, null]);
});

test("powerpoint.readSlide by id or 1-based index; unknown slides are -32602", async () => {
  const { ops } = setup();
  const byId = await ops["powerpoint.readSlide"]({ slide: "257#" });
  assert.equal(byId.index, 2);
  assert.equal(byId.shapes[1].text, "Revenue grew");
  const byIndex = await ops["powerpoint.readSlide"]({ slide: 1 });
  assert.equal(byIndex.id, "256#");
  const byIndexString = await ops["powerpoint.readSlide"]({ slide: "2" });
  assert.equal(byIndexString.id, "257#");
  let e = await rpcError(ops["powerpoint.readSlide"]({ slide: 9 }));
  assert.deepEqual([e.code, e.message], [-32602, "slide 9 does not exist; the deck has 2 slide(s)"]);
  e = await rpcError(ops["powerpoint.readSlide"]({ slide: "999#" }));
  assert.equal(e.code, -32602);
  e = await rpcError(ops["powerpoint.readSlide"]({}));
  assert.equal(e.code, -32602);
  assert.match(e.message, /slide/);
});

test("every PowerPoint operation answers -32004 naming the set when the host lacks it", async () => {
  const { ops } = setup({ sets: {} });
  const calls = {
    "powerpoint.listSlides": [{}, "PowerPointApi 1.3"],
    "powerpoint.readSlide": [{ slide: 1 }, "PowerPointApi 1.3"],
    "powerpoint.addSlide": [{}, "PowerPointApi 1.3"],
    "powerpoint.addTextBox": [{ slide: 1, text: "x" }, "PowerPointApi 1.4"],
    "powerpoint.addTable": [{ slide: 1, rows: [["a"]] }, "PowerPointApi 1.8"],
    "powerpoint.insertImage": [{ slide: 1, png_base64: PNG }, "ImageCoercion 1.1"],
    "powerpoint.deleteSlide": [{ slide: 1 }, "PowerPointApi 1.2"],
    "powerpoint.getProperties": [{}, "PowerPointApi 1.7"],
  };
  assert.deepEqual(Object.keys(calls).sort(), Object.keys(ops).sort(), "every operation is covered");
  for (const [method, [params, set]] of Object.entries(calls)) {
    const e = await rpcError(ops[method](params));
    assert.equal(e.code, -32004, method);
    assert.equal(e.message, `needs ${set}`, method);
  }
});

test("powerpoint.addSlide appends a slide, optionally with a layout by name", async () => {
  const s = setup();
  assert.deepEqual(await s.ops["powerpoint.addSlide"]({}), { id: "300#", index: 3 });
  assert.deepEqual(await s.ops["powerpoint.addSlide"]({ layout: "title and content" }), { id: "301#", index: 4 });
  assert.deepEqual(s.state.addOptions, { layoutId: "L2", slideMasterId: "M1" });
  const e = await rpcError(s.ops["powerpoint.addSlide"]({ layout: "Nope" }));
  assert.equal(e.code, -32602);
  assert.match(e.message, /Title Slide, Title and Content/);
});

test("powerpoint.addTextBox adds a text box with default geometry and returns its id", async () => {
  const s = setup();
  const r = await s.ops["powerpoint.addTextBox"]({ slide: "256#", text: "Revenue $5.1M", top: 400 });
  assert.deepEqual(r, { shape_id: "100" });
  const added = s.model.slides[0].shapes.at(-1);
  assert.equal(added.text, "Revenue $5.1M");
  assert.deepEqual(added.options, { left: 60, top: 400, width: 840, height: 80 });
  assert.equal((await rpcError(s.ops["powerpoint.addTextBox"]({ slide: 1, text: 5 }))).code, -32602);
  assert.equal((await rpcError(s.ops["powerpoint.addTextBox"]({ slide: 1, text: "x", left: -4 }))).code, -32602);
  const old = setup({ sets: { PowerPointApi: "1.3" } });
  const e = await rpcError(old.ops["powerpoint.addTextBox"]({ slide: 1, text: "x" }));
  assert.deepEqual([e.code, e.message], [-32004, "needs PowerPointApi 1.4"]);
});

test("powerpoint.addTable needs PowerPointApi 1.8, adds string cells, Office errors are -32005", async () => {
  const old = setup({ sets: { PowerPointApi: "1.7", ImageCoercion: "1.1" } });
  const e = await rpcError(old.ops["powerpoint.addTable"]({ slide: 1, rows: [["a"]] }));
  assert.deepEqual([e.code, e.message, e.data], [-32004, "needs PowerPointApi 1.8", { set: "PowerPointApi", version: "1.8" }]);
  const s = setup({ mutate: (m) => (m.slides[1].tableError = "GeneralException") });
  const r = await s.ops["powerpoint.addTable"]({ slide: 1, rows: [["Region", "Q3"], ["EMEA", 1421337.25], ["APAC", null]] });
  assert.deepEqual(r, { shape_id: "100" });
  const t = s.model.slides[0].shapes.at(-1);
  assert.deepEqual(t.table, [["Region", "Q3"], ["EMEA", "1421337.25"], ["APAC", ""]]);
  assert.deepEqual([t.rows, t.cols], [3, 2]);
  const e2 = await rpcError(s.ops["powerpoint.addTable"]({ slide: 2, rows: [["x"]] }));
  assert.equal(e2.code, -32005);
  assert.equal(e2.data.code, "GeneralException");
  assert.equal((await rpcError(s.ops["powerpoint.addTable"]({ slide: 1, rows: [] }))).code, -32602);
});

test("powerpoint.insertImage selects the slide, inserts with the Common API and returns the new shape", async () => {
  const s = setup();
  const r = await s.ops["powerpoint.insertImage"]({ slide: "257#", png_base64: PNG });
  assert.deepEqual(r, { shape_id: "100" });
  assert.equal(s.selected.via, "setSelectedSlides");
  const img = s.model.slides[1].shapes.at(-1);
  assert.equal(img.image, PNG);
  assert.equal(img.options.coercionType, "image");
  // Without PowerPointApi 1.5 the slide is selected with goToByIdAsync.
  const old = setup({ sets: { PowerPointApi: "1.4", ImageCoercion: "1.1" } });
  await old.ops["powerpoint.insertImage"]({ slide: 2, png_base64: PNG });
  assert.equal(old.selected.via, "goToByIdAsync");
  assert.equal(old.model.slides[1].shapes.at(-1).type, "Image");
});

test("powerpoint.insertImage: bad pictures are -32602, a failed AsyncResult is -32005", async () => {
  const s = setup({ mutate: (m) => (m.imageError = true) });
  assert.equal((await rpcError(s.ops["powerpoint.insertImage"]({ slide: 1, png_base64: "data:image/png;base64,xx" }))).code, -32602);
  assert.equal((await rpcError(s.ops["powerpoint.insertImage"]({ slide: 1, png_base64: "R0lGODlhAQABAAAAACw=" }))).code, -32602);
  const e = await rpcError(s.ops["powerpoint.insertImage"]({ slide: 1, png_base64: PNG }));
  assert.equal(e.code, -32005);
  assert.equal(e.data.code, 5001);
  assert.match(e.data.message, /internal error/);
});

test("powerpoint.deleteSlide deletes by id or index; Office refusals are -32005", async () => {
  const s = setup({ mutate: (m) => (m.slides[0].deleteError = "InvalidOperation") });
  assert.deepEqual(await s.ops["powerpoint.deleteSlide"]({ slide: 2 }), { deleted: "257#" });
  assert.equal(s.slides.length, 1);
  const e = await rpcError(s.ops["powerpoint.deleteSlide"]({ slide: "256#" }));
  assert.equal(e.code, -32005);
  assert.equal(e.data.code, "InvalidOperation");
  const old = setup({ sets: { PowerPointApi: "1.1" } });
  const e2 = await rpcError(old.ops["powerpoint.deleteSlide"]({ slide: 1 }));
  assert.deepEqual([e2.code, e2.message], [-32004, "needs PowerPointApi 1.2"]);
});

test("powerpoint.getProperties returns the deck's name, url and only its Purview label properties", async () => {
  const { ops } = setup();
  const r = await ops["powerpoint.getProperties"]({});
  assert.deepEqual(r, {
    name: "Q3 review.pptx",
    url: "https://contoso.sharepoint.com/Q3%20review.pptx",
    custom: { "MSIP_Label_9f1c-77_Enabled": "true", "MSIP_Label_9f1c-77_Name": "Highly Confidential", "MSIP_Label_9f1c-77_SiteId": "72f988bf" },
  });
  assert.equal(purviewLabel(r.custom), "Highly Confidential");
  assert.deepEqual(purviewProperties([{ key: "MSIP_Label_x_SetDate", value: null }, { key: "Other", value: "x" }]), { "MSIP_Label_x_SetDate": "" });
  // A deck without custom properties: an empty object, not an error.
  const bare = setup({ mutate: (m) => (m.custom = []) });
  assert.deepEqual((await bare.ops["powerpoint.getProperties"]({})).custom, {});
  assert.equal((await rpcError(ops["powerpoint.getProperties"]([1]))).code, -32602);
});

test("powerpoint.getProperties needs PowerPointApi 1.7 (-32004), Office errors are -32005", async () => {
  const old = setup({ sets: { PowerPointApi: "1.6", ImageCoercion: "1.1" } });
  const e = await rpcError(old.ops["powerpoint.getProperties"]({}));
  assert.deepEqual([e.code, e.message, e.data], [-32004, "needs PowerPointApi 1.7", { set: "PowerPointApi", version: "1.7" }]);
  const s = setup();
  s.state.pendingError = Object.assign(new Error("Access denied"), { code: "AccessDenied", debugInfo: { code: "AccessDenied" } });
  const e2 = await rpcError(s.ops["powerpoint.getProperties"]({}));
  assert.equal(e2.code, -32005);
  assert.equal(e2.data.code, "AccessDenied");
});
