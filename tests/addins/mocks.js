// office-addin-mock object models for the Excel and PowerPoint operations. office-addin-mock
// (Microsoft's mock library) gives load/sync semantics to plain data: a property reads as
// "Error, property was not loaded" until load() and context.sync(). It has no collections
// (arrays are plain values, "items/name" cannot be loaded), so collections here are mock
// objects whose load("items/...") loads each item mock, and every mock made is synced by
// context.sync(). An Office error is raised at the next sync, as Office does.
import { OfficeMockObject } from "office-addin-mock";

export class FakeOfficeError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "RichApi.Error";
    this.code = code;
    this.debugInfo = { code, message, errorLocation: "mock" };
  }
}

function world(host) {
  const registry = new Set();
  const state = { pendingError: null, syncs: 0 };
  const mock = (data) => {
    const m = new OfficeMockObject(data, host);
    registry.add(m);
    return m;
  };
  const fail = (code, message) => {
    state.pendingError ??= new FakeOfficeError(code, message);
  };
  /** A collection: items are mocks; load("items/a,items/b") loads a, b on each item. */
  const collection = (items, extra = {}) => ({
    items,
    load: function (arg) {
      const parts = typeof arg === "string" ? arg.split(",") : Array.isArray(arg) ? arg : [];
      const itemProps = parts.map((p) => p.trim().replace(/^items\//, "")).filter((p) => p && p !== "items");
      for (const it of items) if (itemProps.length) it.load(itemProps.join(","));
      OfficeMockObject.prototype.load.call(this, "items");
      return this;
    },
    ...extra,
  });
  const context = (root) => ({
    ...root,
    sync: async function () {
      state.syncs++;
      await OfficeMockObject.prototype.sync.call(this);
      for (const m of registry) await m.sync();
      if (state.pendingError) {
        const e = state.pendingError;
        state.pendingError = null;
        throw e;
      }
    },
  });
  return { registry, state, mock, fail, collection, context };
}

/** Office (Common API): no load semantics, so it is a mock of host "outlook" (plain reads). */
export function officeMock({ sets = {}, url = "https://contoso.sharepoint.com/Q3.xlsx", document = {} } = {}) {
  const calls = [];
  const office = new OfficeMockObject(
    {
      context: {
        requirements: {
          isSetSupported: function (name, version) {
            calls.push([name, version]);
            const max = sets[name];
            if (!max) return false;
            const [a, b] = String(version).split(".").map(Number);
            const [c, d] = String(max).split(".").map(Number);
            return a < c || (a === c && b <= d);
          },
        },
        document: { url, ...document },
      },
      CoercionType: { Image: "image", Text: "text" },
      GoToType: { Index: "index", Slide: "slide" },
    },
    "outlook",
  );
  office.setCalls = calls;
  return office;
}

// ------------------------------------------------------------------ Excel

export function excelMock(model) {
  const w = world("excel");
  const { mock, collection, fail } = w;
  const rangeMock = (r) =>
    mock({ address: r.address, values: r.values, text: r.text, numberFormat: r.numberFormat, rowCount: r.values.length, columnCount: r.values[0].length });
  const ranges = []; // every range handed out, for assertions
  const deleted = [];
  const sheetMocks = model.sheets.map((s, position) => {
    const chartMocks = (s.charts ?? []).map((c) => {
      const seriesMocks = (c.series ?? []).map((se) =>
        mock({
          name: se.name ?? "S",
          getDimensionDataSourceString: function (dim) {
            const v = dim === "Categories" ? se.categories : se.values;
            if (!v) fail("GeneralException", "no source");
            return { value: v };
          },
        }),
      );
      return mock({
        name: c.name,
        series: collection(seriesMocks),
        getImage: function (width, height) {
          w.state.lastImageSize = [width, height];
          if (c.imageError) fail(c.imageError, "image failed");
          return { value: c.image };
        },
      });
    });
    const sheet = mock({
      name: s.name,
      position,
      visibility: s.visibility ?? "Visible",
      charts: collection(chartMocks, {
        getItem: function (name) {
          const hit = chartMocks.find((_, i) => (s.charts ?? [])[i].name === name);
          if (!hit) {
            fail("ItemNotFound", `The requested resource doesn't exist.`);
            return mock({ name: "", getImage: () => ({ value: "" }), series: collection([]) });
          }
          return hit;
        },
      }),
      getRange: function (address) {
        const r = (s.ranges ?? {})[address];
        if (!r) {
          // A write target or an unknown read: a range that echoes its address, and whose
          // used part is the sheet's usedIn[address] (none: ItemNotFound, as in Excel).
          const m = mock({
            address: `${s.name}!${address}`,
            values: [[""]],
            text: [[""]],
            numberFormat: [["General"]],
            rowCount: 1,
            columnCount: 1,
            getUsedRange: function (valuesOnly) {
              w.state.usedRangeValuesOnly = valuesOnly;
              const used = (s.usedIn ?? {})[address];
              if (!used) fail("ItemNotFound", "The requested resource doesn't exist.");
              return rangeMock({ address: `${s.name}!${used ?? "A1"}`, values: [[""]], text: [[""]], numberFormat: [["General"]] });
            },
          });
          ranges.push({ sheet: s.name, address, mock: m });
          return m;
        }
        const m = rangeMock(r);
        ranges.push({ sheet: s.name, address, mock: m });
        return m;
      },
      getUsedRange: function (valuesOnly) {
        w.state.usedRangeValuesOnly = valuesOnly;
        return rangeMock(s.usedRange);
      },
      delete: function () {
        if (s.deleteError) fail(s.deleteError, "cannot delete");
        else deleted.push(s.name);
      },
    });
    return sheet;
  });
  const worksheets = collection(sheetMocks, {
    getItem: function (name) {
      const i = model.sheets.findIndex((s) => s.name === name);
      if (i < 0) {
        fail("ItemNotFound", `The requested resource doesn't exist.`);
        return mock({ name: "", getRange: () => rangeMock({ address: "", values: [[""]], text: [[""]], numberFormat: [[""]] }), getUsedRange: () => rangeMock({ address: "", values: [[""]], text: [[""]], numberFormat: [[""]] }), delete: () => {}, charts: collection([], { getItem: () => mock({ name: "", getImage: () => ({ value: "" }) }) }) });
      }
      return sheetMocks[i];
    },
  });
  const customMocks = (model.custom ?? []).map((p) => mock({ key: p.key, value: p.value }));
  const ctx = w.context({
    workbook: {
      name: model.name,
      worksheets,
      properties: { custom: collection(customMocks) },
      getSelectedRange: function () {
        return rangeMock(model.selection);
      },
    },
  });
  const Excel = new OfficeMockObject(
    {
      context: ctx,
      run: async function (cb) {
        return cb(this.context);
      },
    },
    "excel",
  );
  w.registry.add(Excel.context.workbook);
  return { Excel, ranges, deleted, state: w.state };
}

// ------------------------------------------------------------------ PowerPoint

export function powerpointMock(model) {
  const w = world("powerpoint");
  const { mock, collection, fail } = w;
  let nextShape = 100;
  const selected = { slide: null, via: null };
  const slideItems = [];
  const shapeMock = (sh) =>
    mock({
      id: sh.id,
      name: sh.name ?? `Shape ${sh.id}`,
      type: sh.type,
      textFrame: { textRange: { text: sh.text ?? "" } },
      getTable: function () {
        return mock({ values: sh.table ?? [[""]] });
      },
    });
  const makeSlide = (sl) => {
    const shapeItems = (sl.shapes ?? []).map(shapeMock);
    const added = (sh) => {
      sh.id = String(nextShape++);
      const m = shapeMock(sh);
      shapeItems.push(m);
      (sl.shapes ??= []).push(sh);
      return m;
    };
    const slide = mock({
      id: sl.id,
      shapes: collection(shapeItems, {
        addTextBox: function (text, options) {
          return added({ type: "TextBox", text, options });
        },
        addTable: function (rows, cols, options) {
          if (sl.tableError) fail(sl.tableError, "table failed");
          return added({ type: "Table", table: options.values, rows, cols, options });
        },
      }),
      delete: function () {
        const i = slideItems.indexOf(slide);
        if (sl.deleteError) fail(sl.deleteError, "cannot delete");
        else slideItems.splice(i, 1);
      },
      _addImage: (data, opts) => added({ type: "Image", image: data, options: opts }),
    });
    rawOf.set(slide, sl);
    return slide;
  };
  const rawOf = new Map();
  for (const sl of model.slides) slideItems.push(makeSlide(sl));
  let nextSlide = 300;
  const layouts = (model.layouts ?? [{ id: "L1", name: "Title Slide" }, { id: "L2", name: "Title and Content" }]).map((l) => mock({ id: l.id, name: l.name }));
  const master = mock({ id: "M1", layouts: collection(layouts) });
  const customMocks = (model.custom ?? []).map((p) => mock({ key: p.key, value: p.value }));
  const ctx = w.context({
    presentation: {
      properties: { customProperties: collection(customMocks) },
      slides: collection(slideItems, {
        add: function (options) {
          w.state.addOptions = options;
          slideItems.push(makeSlide({ id: `${nextSlide++}#`, shapes: [] }));
        },
      }),
      slideMasters: {
        getItemAt: function () {
          return master;
        },
      },
      setSelectedSlides: function (ids) {
        selected.slide = ids[0];
        selected.via = "setSelectedSlides";
      },
    },
  });
  const PowerPoint = new OfficeMockObject(
    {
      context: ctx,
      run: async function (cb) {
        return cb(this.context);
      },
    },
    "powerpoint",
  );
  registryAddDeep(w, PowerPoint.context.presentation);
  const document = {
    setSelectedDataAsync: function (data, options, cb) {
      if (model.imageError) {
        cb({ status: "failed", error: { code: 5001, name: "Internal Error", message: "An internal error has occurred." } });
        return;
      }
      const slide = slideItems.find((s) => rawOf.get(s).id === selected.slide) ?? slideItems[selected.index - 1];
      slide._addImage(data, options);
      cb({ status: "succeeded" });
    },
    goToByIdAsync: function (id, type, cb) {
      selected.index = id;
      selected.via = "goToByIdAsync";
      cb({ status: "succeeded" });
    },
  };
  return { PowerPoint, slides: slideItems, selected, state: w.state, document };
}

function registryAddDeep(w, m) {
  w.registry.add(m);
}
