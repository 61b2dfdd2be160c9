// office-standin.js: a small in-browser implementation of the subset of Office.js that the
// office-bridge panes use, over a simulated workbook and deck. It keeps Office.js's shapes:
// proxy objects, property reads only after load() + context.sync(), writes and method calls
// queued and applied at sync, errors (ItemNotFound, InvalidArgument, ...) raised by sync as
// OfficeExtension.Error. Pane code that works here is written the way real Office needs.
//
// A classic script (no import/export) so it can stand in for
// https://appsforoffice.microsoft.com/lib/1/hosted/office.js (browser tests route that URL
// here) and be loaded by shared/office-host.js when a pane runs with ?standin=1.
// In a page it installs the globals Office, Excel, PowerPoint, OfficeExtension and
// OfficeStandin; elsewhere (Node tests) it only defines globalThis.OfficeStandin.create().
//
// Page URL options: ?host=excel|powerpoint (default: from the path), &missing=PowerPointApi 1.8,
// ExcelApi 1.7 (requirement sets to pretend the host lacks).
(function () {
  "use strict";

  // ------------------------------------------------------------------ errors
  class OfficeError extends Error {
    constructor(code, message, location) {
      super(message);
      this.name = "RichApi.Error";
      this.code = code;
      this.debugInfo = { code, message, errorLocation: location || "" };
    }
  }
  const notLoaded = (prop) =>
    new OfficeError(
      "PropertyNotLoaded",
      `The property '${prop}' is not available. Before reading the property's value, call the load method on the containing object and call "context.sync()" on the associated request context.`,
    );
  const notSynced = () =>
    new OfficeError("ValueNotLoaded", 'The value of the result object has not been loaded yet. Before reading the value property, call "context.sync()" on the associated request context.');

  const clone = (v) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));

  // ------------------------------------------------------------------ A1 + formats
  function colToNum(c) {
    let n = 0;
    for (const ch of c.toUpperCase()) n = n * 26 + ch.charCodeAt(0) - 64;
    return n;
  }
  function numToCol(n) {
    let s = "";
    while (n > 0) {
      const r = (n - 1) % 26;
      s = String.fromCharCode(65 + r) + s;
      n = Math.floor((n - 1) / 26);
    }
    return s;
  }
  const MAX_ROW = 1048576;
  const MAX_COL = 16384;
  /** "B2:D5" | "B2" | "A:C" | "2:4" -> {r0,c0,r1,c1} (1-based, inclusive) or null. */
  function parseA1(addr) {
    const parts = String(addr).replace(/\$/g, "").toUpperCase().split(":");
    if (parts.length > 2) return null;
    const cell = (s) => {
      let m = /^([A-Z]{1,3})(\d{1,7})$/.exec(s);
      if (m) return { r: +m[2], c: colToNum(m[1]), kind: "cell" };
      m = /^([A-Z]{1,3})$/.exec(s);
      if (m) return { r: null, c: colToNum(m[1]), kind: "col" };
      m = /^(\d{1,7})$/.exec(s);
      if (m) return { r: +m[1], c: null, kind: "row" };
      return null;
    };
    const a = cell(parts[0]);
    const b = parts.length === 2 ? cell(parts[1]) : a;
    if (!a || !b || a.kind !== b.kind || (parts.length === 1 && a.kind !== "cell")) return null;
    let box;
    if (a.kind === "cell") box = { r0: a.r, c0: a.c, r1: b.r, c1: b.c };
    else if (a.kind === "col") box = { r0: 1, c0: a.c, r1: MAX_ROW, c1: b.c };
    else box = { r0: a.r, c0: 1, r1: b.r, c1: MAX_COL };
    const n = { r0: Math.min(box.r0, box.r1), r1: Math.max(box.r0, box.r1), c0: Math.min(box.c0, box.c1), c1: Math.max(box.c0, box.c1) };
    if (n.r0 < 1 || n.c0 < 1 || n.r1 > MAX_ROW || n.c1 > MAX_COL) return null;
    return n;
  }
  function boxToA1(b) {
    const a = `${numToCol(b.c0)}${b.r0}`;
    return b.r0 === b.r1 && b.c0 === b.c1 ? a : `${a}:${numToCol(b.c1)}${b.r1}`;
  }
  function quoteSheet(name) {
    return /^[A-Za-z_][A-Za-z0-9_.]*$/.test(name) ? name : `'${name.replace(/'/g, "''")}'`;
  }

  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  /** The displayed text of a value under an Excel number format (the common formats only). */
  function formatValue(v, fmt) {
    if (v === "" || v === null || v === undefined) return "";
    if (typeof v === "boolean") return v ? "TRUE" : "FALSE";
    if (typeof v === "string") return v;
    fmt = fmt || "General";
    const section = fmt.split(";")[v < 0 && fmt.includes(";") ? 1 : 0] || fmt;
    if (section === "General") {
      if (Number.isInteger(v)) return String(v);
      return String(Number(v.toPrecision(11)));
    }
    if (section === "@") return String(v);
    if (/[ymd]/i.test(section.replace(/"[^"]*"/g, ""))) {
      const d = new Date(Math.round((v - 25569) * 86400000));
      const Y = d.getUTCFullYear(), M = d.getUTCMonth() + 1, D = d.getUTCDate();
      const p2 = (n) => String(n).padStart(2, "0");
      return section
        .replace(/yyyy/g, String(Y))
        .replace(/yy/g, p2(Y % 100))
        .replace(/mmmm/g, "\u0001")
        .replace(/mmm/g, "\u0002")
        .replace(/mm/g, p2(M))
        .replace(/(^|[^\u0001\u0002])m/g, (_, a) => `${a}${M}`)
        .replace(/dd/g, p2(D))
        .replace(/d/g, String(D))
        .replace(/\u0002/g, MONTHS[M - 1])
        .replace(/\u0001/g, MONTHS[M - 1])
        .replace(/\\/g, "");
    }
    const percent = section.includes("%");
    let x = percent ? v * 100 : v;
    const dec = /\.(0+)/.exec(section);
    const decimals = dec ? dec[1].length : 0;
    const grouping = section.includes(",");
    const neg = x < 0;
    x = Math.abs(x);
    let s = x.toFixed(decimals);
    if (grouping) {
      const [i, f] = s.split(".");
      s = i.replace(/\B(?=(\d{3})+(?!\d))/g, ",") + (f !== undefined ? `.${f}` : "");
    }
    const prefix = (/^[^0#]*/.exec(section.replace(/"/g, ""))[0] || "").replace(/[_\\*]/g, "").replace(/\[[^\]]*\]/g, "");
    return `${neg ? "-" : ""}${prefix}${s}${percent ? "%" : ""}`;
  }

  // ------------------------------------------------------------------ tiny PNG (no zlib needed)
  const CRC_TABLE = (() => {
    const t = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      t[n] = c >>> 0;
    }
    return t;
  })();
  function crc32(bytes) {
    let c = 0xffffffff;
    for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  }
  /** RGB pixels -> PNG bytes, with deflate "stored" blocks (valid, uncompressed). */
  function encodePng(width, height, rgb) {
    const raw = new Uint8Array((width * 3 + 1) * height);
    for (let y = 0; y < height; y++) {
      raw[y * (width * 3 + 1)] = 0;
      raw.set(rgb.subarray(y * width * 3, (y + 1) * width * 3), y * (width * 3 + 1) + 1);
    }
    const blocks = [];
    for (let i = 0; i < raw.length || i === 0; i += 65535) {
      const chunk = raw.subarray(i, Math.min(raw.length, i + 65535));
      const last = i + 65535 >= raw.length ? 1 : 0;
      const hdr = new Uint8Array([last, chunk.length & 0xff, chunk.length >> 8, ~chunk.length & 0xff, (~chunk.length >> 8) & 0xff]);
      blocks.push(hdr, chunk);
      if (last) break;
    }
    let a = 1, b = 0;
    for (let i = 0; i < raw.length; i++) {
      a = (a + raw[i]) % 65521;
      b = (b + a) % 65521;
    }
    const zlen = 2 + blocks.reduce((n, x) => n + x.length, 0) + 4;
    const z = new Uint8Array(zlen);
    z[0] = 0x78; z[1] = 0x01;
    let o = 2;
    for (const x of blocks) { z.set(x, o); o += x.length; }
    const adler = ((b << 16) | a) >>> 0;
    z[o++] = adler >>> 24; z[o++] = (adler >>> 16) & 0xff; z[o++] = (adler >>> 8) & 0xff; z[o++] = adler & 0xff;
    const chunk = (type, data) => {
      const out = new Uint8Array(12 + data.length);
      const dv = new DataView(out.buffer);
      dv.setUint32(0, data.length);
      for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
      out.set(data, 8);
      dv.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
      return out;
    };
    const ihdr = new Uint8Array(13);
    const dv = new DataView(ihdr.buffer);
    dv.setUint32(0, width); dv.setUint32(4, height);
    ihdr[8] = 8; ihdr[9] = 2; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
    const parts = [new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", ihdr), chunk("IDAT", z), chunk("IEND", new Uint8Array(0))];
    const total = parts.reduce((n, p) => n + p.length, 0);
    const png = new Uint8Array(total);
    let p = 0;
    for (const part of parts) { png.set(part, p); p += part.length; }
    return png;
  }
  function toBase64(bytes) {
    let s = "";
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return typeof btoa === "function" ? btoa(s) : Buffer.from(bytes).toString("base64");
  }
  /** A bar chart picture of the given numbers. */
  function barChartPng(values, width, height) {
    width = Math.max(16, Math.min(1200, Math.round(width || 480)));
    height = Math.max(16, Math.min(900, Math.round(height || 300)));
    const rgb = new Uint8Array(width * height * 3).fill(255);
    const rect = (x0, y0, x1, y1, [r, g, b]) => {
      for (let y = Math.max(0, y0); y < Math.min(height, y1); y++)
        for (let x = Math.max(0, x0); x < Math.min(width, x1); x++) {
          const i = (y * width + x) * 3;
          rgb[i] = r; rgb[i + 1] = g; rgb[i + 2] = b;
        }
    };
    const pad = Math.round(Math.min(width, height) * 0.1);
    rect(pad, height - pad, width - pad, height - pad + 2, [97, 97, 97]);
    const nums = values.filter((v) => typeof v === "number");
    const max = Math.max(1, ...nums);
    const n = Math.max(1, nums.length);
    const slot = (width - 2 * pad) / n;
    const colors = [[15, 108, 189], [0, 120, 212], [99, 173, 229], [17, 94, 163]];
    nums.forEach((v, i) => {
      const hgt = Math.round(((height - 2 * pad) * Math.max(0, v)) / max);
      const x0 = Math.round(pad + i * slot + slot * 0.2);
      rect(x0, height - pad - hgt, Math.round(x0 + slot * 0.6), height - pad, colors[i % colors.length]);
    });
    return toBase64(encodePng(width, height, rgb));
  }

  // ------------------------------------------------------------------ sample documents
  function sampleWorkbook() {
    const money = "$#,##0.00";
    const date = (y, m, d) => Math.round(Date.UTC(y, m - 1, d) / 86400000) + 25569;
    const rows = [
      ["Region", "Q1", "Q2", "Q3", "Q4", "Growth", "Updated"],
      ["EMEA", 1234567.89, 1302450.5, 1421337.25, 1510000, 0.1234, date(2026, 9, 30)],
      ["Americas", 2345678.1, 2410003.75, 2563120.4, 2699999.99, 0.0931, date(2026, 10, 2)],
      ["APAC", 987654.32, 1010500, 1122334.45, 1180000, 0.1477, date(2026, 10, 5)],
      ["Total", 4567900.31, 4722954.25, 5106792.1, 5389999.99, 0.1179, date(2026, 10, 5)],
    ];
    const fmts = rows.map((r, i) => r.map((_, j) => (i === 0 || j === 0 ? "General" : j <= 4 ? money : j === 5 ? "0.0%" : "yyyy-mm-dd")));
    const costs = [
      ["Category", "Q1", "Q2", "Q3", "Q4"],
      ["Salaries", 812000, 815500, 830250, 845000],
      ["Marketing", 120400, 98000, 143210, 150000],
      ["Cloud", 64250, 66875, 70120, 72400],
    ];
    return {
      name: "Q3.xlsx",
      url: "https://contoso.sharepoint.com/sites/finance/Shared%20Documents/Q3.xlsx",
      sheets: [
        { id: "{S1}", name: "Revenue", visibility: "Visible", cells: grid(rows, fmts), charts: [{ id: "{C1}", name: "Revenue by region", chartType: "ColumnClustered", series: [{ name: "Q3", values: "=Revenue!$D$2:$D$4", categories: "=Revenue!$A$2:$A$4" }] }] },
        { id: "{S2}", name: "Costs", visibility: "Visible", cells: grid(costs, costs.map((r, i) => r.map((_, j) => (i === 0 || j === 0 ? "General" : "#,##0")))), charts: [] },
      ],
      selection: { sheet: "Revenue", address: "B2:D4" },
      custom: [
        { key: "MSIP_Label_3a5e7c1d-0000-4000-8000-00000000c0de_Enabled", value: "true", type: "String" },
        { key: "MSIP_Label_3a5e7c1d-0000-4000-8000-00000000c0de_Name", value: "Confidential", type: "String" },
        { key: "MSIP_Label_3a5e7c1d-0000-4000-8000-00000000c0de_Method", value: "Standard", type: "String" },
        { key: "Department", value: "Finance", type: "String" },
      ],
    };
  }
  function grid(values, formats) {
    const cells = {};
    values.forEach((r, i) => r.forEach((v, j) => (cells[`${i + 1},${j + 1}`] = { v, f: formats[i][j] })));
    return cells;
  }
  function sampleDeck() {
    return {
      name: "Q3 review.pptx",
      url: "https://contoso.sharepoint.com/sites/finance/Shared%20Documents/Q3%20review.pptx",
      // A Purview label the deck carries (powerpoint.getProperties), and a property of the
      // author's that must not leave it.
      custom: [
        { key: "MSIP_Label_5b1f0e2a-0000-4000-8000-00000000beef_Enabled", value: "true", type: "String" },
        { key: "MSIP_Label_5b1f0e2a-0000-4000-8000-00000000beef_Name", value: "General", type: "String" },
        { key: "MSIP_Label_5b1f0e2a-0000-4000-8000-00000000beef_Method", value: "Standard", type: "String" },
        { key: "Audience", value: "Board", type: "String" },
      ],
      nextSlide: 258,
      nextShape: 10,
      selected: 0,
      layouts: [
        { id: "2147483649#1", name: "Title Slide" },
        { id: "2147483650#2", name: "Title and Content" },
        { id: "2147483651#3", name: "Title Only" },
        { id: "2147483652#4", name: "Blank" },
      ],
      slides: [
        { id: "256#", layoutId: "2147483649#1", shapes: [
          { id: "2", name: "Title 1", type: "Placeholder", left: 120, top: 160, width: 720, height: 120, text: "Q3 business review" },
          { id: "3", name: "Subtitle 2", type: "Placeholder", left: 120, top: 300, width: 720, height: 60, text: "Finance team · October 2026" },
        ] },
        { id: "257#", layoutId: "2147483650#2", shapes: [
          { id: "4", name: "Title 1", type: "Placeholder", left: 60, top: 30, width: 840, height: 70, text: "Highlights" },
          { id: "5", name: "Content Placeholder 2", type: "Placeholder", left: 60, top: 120, width: 840, height: 360, text: "Revenue grew in every region\nAPAC grew fastest" },
        ] },
      ],
    };
  }

  // ------------------------------------------------------------------ proxy machinery
  class RequestContext {
    constructor(env) {
      this._env = env;
      this._queue = [];
    }
    /** Runs the queued operations in order; the first failure rejects and drops the rest. */
    async sync() {
      const queue = this._queue;
      this._queue = [];
      await Promise.resolve();
      try {
        for (const op of queue) op();
      } finally {
        this._env.changed();
      }
    }
    _enqueue(op) {
      this._queue.push(op);
    }
  }

  class ClientResult {
    constructor() {
      this._set = false;
      this._value = undefined;
    }
    get value() {
      if (!this._set) throw notSynced();
      return this._value;
    }
  }

  /**
   * Base of every proxy. `resolve()` finds the model object at sync time (throwing
   * ItemNotFound when it is gone); SCALARS are readable after load + sync; WRITABLE ones are
   * set through a queued write; NAV are child proxies; collections have `items`.
   */
  class ClientObject {
    constructor(ctx, resolve, path) {
      this.context = ctx;
      this._resolve = resolve;
      this._path = path;
      this._data = Object.create(null);
    }
    load(option) {
      const props = parseLoad(option, this);
      this.context._enqueue(() => this._applyLoad(props));
      return this;
    }
    _applyLoad(props) {
      const m = this._resolve();
      const scal = this.constructor.SCALARS;
      const list = props.scalars.length ? props.scalars : props.all ? scal : [];
      for (const p of list) {
        if (!scal.includes(p)) throw new OfficeError("InvalidArgument", `The property '${p}' does not exist on ${this.constructor.name}.`);
        this._data[p] = clone(this._get(m, p));
      }
      for (const [nav, sub] of Object.entries(props.nav)) {
        const child = this[nav];
        if (!child || !(child instanceof ClientObject)) throw new OfficeError("InvalidArgument", `The property '${nav}' is not a navigation property of ${this.constructor.name}.`);
        child._applyLoad(sub);
      }
    }
    _get(m, p) {
      return m[p];
    }
    toJSON() {
      return { ...this._data };
    }
  }

  function parseLoad(option, target) {
    const props = { scalars: [], nav: {}, all: false, itemProps: null };
    let list = [];
    if (option === undefined || option === null) props.all = true;
    else if (typeof option === "string") list = option.split(",");
    else if (Array.isArray(option)) list = option.flatMap((s) => String(s).split(","));
    else if (typeof option === "object") {
      const sel = option.select ?? option.$select;
      if (sel) list = (Array.isArray(sel) ? sel : String(sel).split(","));
      else list = Object.keys(option).filter((k) => option[k]);
    }
    list = list.map((s) => s.trim()).filter(Boolean);
    if (!list.length && option !== undefined && option !== null) props.all = true;
    for (const p of list) addPath(props, p.split("/"));
    return props;
  }
  function addPath(props, parts) {
    if (parts.length === 1) {
      if (parts[0] === "*") props.all = true;
      else props.scalars.push(parts[0]);
      return;
    }
    const head = parts[0];
    props.nav[head] ??= { scalars: [], nav: {}, all: false };
    addPath(props.nav[head], parts.slice(1));
  }

  function defineScalars(Cls, names, writable = {}) {
    Cls.SCALARS = names;
    for (const n of names) {
      Object.defineProperty(Cls.prototype, n, {
        configurable: true,
        get() {
          if (!(n in this._data)) throw notLoaded(n);
          return this._data[n];
        },
        set: writable[n]
          ? function (v) {
              const value = clone(v);
              this.context._enqueue(() => {
                writable[n].call(this, this._resolve(), value);
                this._data[n] = clone(value);
              });
              if (n in this._data) this._data[n] = clone(value);
            }
          : function () {
              throw new OfficeError("InvalidArgument", `The property '${n}' is read-only.`);
            },
      });
    }
  }

  /** Collections: `items` after load; item proxies are bound to each model object at sync. */
  class ClientCollection extends ClientObject {
    get items() {
      if (!this._items) throw notLoaded("items");
      return this._items;
    }
    _applyLoad(props) {
      const list = this._list();
      const itemProps = props.nav.items ?? (props.scalars.length || props.all ? { scalars: props.scalars, nav: props.nav, all: props.all } : { scalars: [], nav: {}, all: true });
      if (props.scalars.includes("items")) {
        itemProps.all = true;
        itemProps.scalars = itemProps.scalars.filter((s) => s !== "items");
      }
      this._items = list.map((m) => {
        const item = this._itemProxy(m);
        item._applyLoad(itemProps);
        return item;
      });
    }
  }

  // Custom document properties (Excel's workbook.properties.custom, PowerPoint's
  // presentation.properties.customProperties): where Office keeps Purview labels.
  class CustomPropertyCollection extends ClientCollection {
    _list() { return this._resolve(); }
    _itemProxy(m) { return new CustomProperty(this.context, () => m); }
    getItemOrNullObject(key) { return new CustomProperty(this.context, () => this._resolve().find((p) => p.key === key) ?? { key: null, value: null, type: null }); }
    add(key, value) {
      this.context._enqueue(() => {
        const list = this._resolve();
        const hit = list.find((p) => p.key === key);
        if (hit) hit.value = value; else list.push({ key, value, type: typeof value === "number" ? "Number" : "String" });
      });
      return this.getItemOrNullObject(key);
    }
  }
  class CustomProperty extends ClientObject {}
  defineScalars(CustomProperty, ["key", "value", "type"]);

  // ------------------------------------------------------------------ Excel
  function makeExcel(env) {
    const wbModel = () => env.workbook;
    const sheetByName = (name) => {
      const s = wbModel().sheets.find((x) => x.name.toLowerCase() === String(name).toLowerCase());
      if (!s) throw new OfficeError("ItemNotFound", `The requested resource doesn't exist.`, `Worksheets.getItem(${JSON.stringify(name)})`);
      return s;
    };
    const sheetById = (id) => {
      const s = wbModel().sheets.find((x) => x.id === id);
      if (!s) throw new OfficeError("ItemNotFound", "The worksheet was deleted.", "Worksheet");
      return s;
    };
    const api = (set, v) => {
      if (!env.isSetSupported(set, v)) throw new OfficeError("ApiNotFound", `The API you are trying to use could not be found. It may be available in a newer version of Excel (${set} ${v}).`);
    };

    class Workbook extends ClientObject {
      get worksheets() { return (this._ws ??= new WorksheetCollection(this.context, wbModel, "worksheets")); }
      get properties() { api("ExcelApi", "1.7"); return (this._props ??= new DocumentProperties(this.context, () => wbModel(), "properties")); }
      getSelectedRange() {
        return new Range(this.context, () => {
          const sel = wbModel().selection;
          return { sheet: sheetByName(sel.sheet), box: parseA1(sel.address) };
        });
      }
      _get(m, p) {
        if (p === "name") { api("ExcelApi", "1.7"); return m.name; }
        return m[p];
      }
    }
    defineScalars(Workbook, ["name"]);

    class DocumentProperties extends ClientObject {
      get custom() { return (this._custom ??= new CustomPropertyCollection(this.context, () => wbModel().custom)); }
      _get(m, p) { return m[p] ?? ""; }
    }
    defineScalars(DocumentProperties, ["title", "author", "company"]);

    class WorksheetCollection extends ClientCollection {
      _list() { return wbModel().sheets; }
      _itemProxy(m) { const id = m.id; return new Worksheet(this.context, () => sheetById(id)); }
      getItem(name) { return new Worksheet(this.context, () => sheetByName(name)); }
      getActiveWorksheet() { return new Worksheet(this.context, () => sheetByName(wbModel().selection.sheet)); }
      getCount() {
        const r = new ClientResult();
        this.context._enqueue(() => { r._value = wbModel().sheets.length; r._set = true; });
        return r;
      }
      add(name) {
        const model = { id: `{S${Date.now()}${Math.random().toString(16).slice(2, 6)}}`, name: name || `Sheet${wbModel().sheets.length + 1}`, visibility: "Visible", cells: {}, charts: [] };
        this.context._enqueue(() => {
          if (wbModel().sheets.some((s) => s.name.toLowerCase() === model.name.toLowerCase())) throw new OfficeError("ItemAlreadyExists", "A resource with the same name or identifier already exists.");
          wbModel().sheets.push(model);
        });
        return new Worksheet(this.context, () => sheetById(model.id));
      }
    }

    class Worksheet extends ClientObject {
      get charts() { return (this._charts ??= new ChartCollection(this.context, () => this._resolve())); }
      getRange(address) {
        return new Range(this.context, () => {
          const sheet = this._resolve();
          const box = address === undefined || address === "" ? { r0: 1, c0: 1, r1: MAX_ROW, c1: MAX_COL } : parseA1(address);
          if (!box) throw new OfficeError("InvalidArgument", "The argument is invalid or missing or has an incorrect format.", `Worksheet.getRange(${JSON.stringify(address)})`);
          return { sheet, box };
        });
      }
      getUsedRange(valuesOnly) {
        if (valuesOnly !== undefined) api("ExcelApi", "1.2");
        return new Range(this.context, () => {
          const sheet = this._resolve();
          // An empty sheet's used range is A1, as in Excel.
          return { sheet, box: usedBox(sheet, valuesOnly, null) ?? { r0: 1, c0: 1, r1: 1, c1: 1 } };
        });
      }
      delete() {
        this.context._enqueue(() => {
          const s = this._resolve();
          const wb = wbModel();
          if (wb.sheets.filter((x) => x.visibility === "Visible").length <= 1 && s.visibility === "Visible") {
            throw new OfficeError("InvalidOperation", "A workbook must contain at least one visible worksheet.", "Worksheet.delete");
          }
          wb.sheets.splice(wb.sheets.indexOf(s), 1);
          if (wb.selection.sheet === s.name) wb.selection = { sheet: wb.sheets[0].name, address: "A1" };
        });
      }
      activate() {
        this.context._enqueue(() => { wbModel().selection = { sheet: this._resolve().name, address: "A1" }; });
      }
      _get(m, p) {
        if (p === "position") return wbModel().sheets.indexOf(m);
        return m[p];
      }
    }
    defineScalars(Worksheet, ["id", "name", "position", "visibility"], {
      name(m, v) { m.name = String(v); },
    });

    /** The smallest box holding the sheet's cells (with a value, when valuesOnly) inside `within`; null when none. */
    function usedBox(sheet, valuesOnly, within) {
      let b = null;
      for (const [k, cell] of Object.entries(sheet.cells)) {
        if (valuesOnly && (cell.v === "" || cell.v === null)) continue;
        const [r, c] = k.split(",").map(Number);
        if (within && (r < within.r0 || r > within.r1 || c < within.c0 || c > within.c1)) continue;
        b = b ? { r0: Math.min(b.r0, r), c0: Math.min(b.c0, c), r1: Math.max(b.r1, r), c1: Math.max(b.c1, c) } : { r0: r, c0: c, r1: r, c1: c };
      }
      return b;
    }

    class Range extends ClientObject {
      get worksheet() { return new Worksheet(this.context, () => this._resolve().sheet); }
      /** The used part of this range; ItemNotFound (at sync) when it holds no cell, as in Excel. */
      getUsedRange(valuesOnly) {
        if (valuesOnly !== undefined) api("ExcelApi", "1.2");
        return new Range(this.context, () => {
          const { sheet, box } = this._resolve();
          const b = usedBox(sheet, valuesOnly, box);
          if (!b) throw new OfficeError("ItemNotFound", "The requested resource doesn't exist.", "Range.getUsedRange");
          return { sheet, box: b };
        });
      }
      select() {
        this.context._enqueue(() => { const { sheet, box } = this._resolve(); wbModel().selection = { sheet: sheet.name, address: boxToA1(box) }; });
      }
      _get(m, p) {
        const { sheet, box } = m;
        const rows = box.r1 - box.r0 + 1, cols = box.c1 - box.c0 + 1;
        const each = (fn) => {
          if (rows * cols > 5000000) throw new OfficeError("ResponsePayloadSizeLimitExceeded", "The response payload size has exceeded the limit.");
          const out = [];
          for (let r = box.r0; r <= box.r1; r++) {
            const row = [];
            for (let c = box.c0; c <= box.c1; c++) row.push(fn(sheet.cells[`${r},${c}`]));
            out.push(row);
          }
          return out;
        };
        switch (p) {
          case "address": return `${quoteSheet(sheet.name)}!${boxToA1(box)}`;
          case "addressLocal": return `${quoteSheet(sheet.name)}!${boxToA1(box)}`;
          case "rowCount": return rows;
          case "columnCount": return cols;
          case "cellCount": return rows * cols;
          case "rowIndex": return box.r0 - 1;
          case "columnIndex": return box.c0 - 1;
          case "values": return each((c) => (c ? c.v : ""));
          case "text": return each((c) => (c ? formatValue(c.v, c.f) : ""));
          case "numberFormat": return each((c) => (c ? c.f : "General"));
          default: return undefined;
        }
      }
    }
    const writeGrid = (key) => function (m, v) {
      const { sheet, box } = m;
      const rows = box.r1 - box.r0 + 1, cols = box.c1 - box.c0 + 1;
      const grid2 = Array.isArray(v) ? v : [[v]];
      const single = !Array.isArray(v);
      if (!single && (grid2.length !== rows || grid2.some((r) => !Array.isArray(r) || r.length !== cols))) {
        throw new OfficeError("InvalidArgument", `The number of rows or columns in the input array doesn't match the size or dimensions of the range.`, `Range.${key}`);
      }
      for (let r = 0; r < rows; r++)
        for (let c = 0; c < cols; c++) {
          const val = single ? grid2[0][0] : grid2[r][c];
          const k = `${box.r0 + r},${box.c0 + c}`;
          const cell = (sheet.cells[k] ??= { v: "", f: "General" });
          if (key === "values") cell.v = val === null ? "" : val;
          else cell.f = val;
          if (cell.v === "" && cell.f === "General") delete sheet.cells[k];
        }
      env.touch("write", { sheet: sheet.name, address: boxToA1(box) });
    };
    defineScalars(Range, ["address", "addressLocal", "values", "text", "numberFormat", "rowCount", "columnCount", "cellCount", "rowIndex", "columnIndex"], {
      values: writeGrid("values"),
      numberFormat: writeGrid("numberFormat"),
    });
    // Reads are reported to the playground when they are synced (for the live highlight).
    const origRangeLoad = Range.prototype._applyLoad;
    Range.prototype._applyLoad = function (props) {
      origRangeLoad.call(this, props);
      if (props.scalars.includes("values") || props.all) {
        const { sheet, box } = this._resolve();
        env.touch("read", { sheet: sheet.name, address: boxToA1(box) });
      }
    };

    class ChartCollection extends ClientCollection {
      _list() { return this._resolve().charts; }
      _itemProxy(m) { const sheet = this._resolve(); return new Chart(this.context, () => chartIn(sheet, m.name)); }
      getItem(name) { return new Chart(this.context, () => chartIn(this._resolve(), name)); }
      getCount() {
        const r = new ClientResult();
        this.context._enqueue(() => { r._value = this._resolve().charts.length; r._set = true; });
        return r;
      }
    }
    const chartIn = (sheet, name) => {
      const c = sheet.charts.find((x) => x.name === name);
      if (!c) throw new OfficeError("ItemNotFound", "The requested resource doesn't exist.", `Charts.getItem(${JSON.stringify(name)})`);
      c._sheet = sheet;
      return c;
    };
    class Chart extends ClientObject {
      get series() { return (this._series ??= new ChartSeriesCollection(this.context, () => this._resolve())); }
      getImage(width, height) {
        api("ExcelApi", "1.2");
        const r = new ClientResult();
        this.context._enqueue(() => {
          const c = this._resolve();
          const ref = (c.series[0]?.values || "").replace(/^=/, "");
          const i = ref.lastIndexOf("!");
          const sheet = wbModel().sheets.find((s) => s.name === ref.slice(0, i).replace(/^'|'$/g, "")) ?? c._sheet;
          const box = parseA1(ref.slice(i + 1)) ?? { r0: 1, c0: 1, r1: 1, c1: 1 };
          const nums = [];
          for (let rr = box.r0; rr <= box.r1; rr++) for (let cc = box.c0; cc <= box.c1; cc++) nums.push(sheet.cells[`${rr},${cc}`]?.v);
          r._value = barChartPng(nums, width, height);
          r._set = true;
        });
        return r;
      }
    }
    defineScalars(Chart, ["id", "name", "chartType"]);
    class ChartSeriesCollection extends ClientCollection {
      _list() { return this._resolve().series; }
      _itemProxy(m) { return new ChartSeries(this.context, () => m); }
      getItemAt(i) { return new ChartSeries(this.context, () => { const s = this._resolve().series[i]; if (!s) throw new OfficeError("ItemNotFound", "The requested resource doesn't exist."); return s; }); }
    }
    class ChartSeries extends ClientObject {
      getDimensionDataSourceString(dimension) {
        api("ExcelApi", "1.15");
        const r = new ClientResult();
        this.context._enqueue(() => {
          const s = this._resolve();
          const v = String(dimension).toLowerCase() === "categories" ? s.categories : s.values;
          if (!v) throw new OfficeError("GeneralException", "This series has no data source for that dimension.");
          r._value = v;
          r._set = true;
        });
        return r;
      }
    }
    defineScalars(ChartSeries, ["name"]);

    const Excel = {
      async run(batch) {
        const ctx = new RequestContext(env);
        ctx.workbook = new Workbook(ctx, wbModel, "workbook");
        return batch(ctx);
      },
      RequestContext,
      ErrorCodes: { itemNotFound: "ItemNotFound", invalidArgument: "InvalidArgument", generalException: "GeneralException", apiNotFound: "ApiNotFound" },
    };
    return Excel;
  }

  // ------------------------------------------------------------------ PowerPoint
  function makePowerPoint(env) {
    const deck = () => env.deck;
    const api = (set, v) => {
      if (!env.isSetSupported(set, v)) throw new OfficeError("ApiNotFound", `The API you are trying to use could not be found. It may be available in a newer version of PowerPoint (${set} ${v}).`);
    };
    const slideById = (id) => {
      const s = deck().slides.find((x) => x.id === id);
      if (!s) throw new OfficeError("ItemNotFound", "The requested resource doesn't exist.", `SlideCollection.getItem(${JSON.stringify(id)})`);
      return s;
    };

    class Presentation extends ClientObject {
      get slides() { return (this._slides ??= new SlideCollection(this.context, deck)); }
      get slideMasters() { return (this._masters ??= new SlideMasterCollection(this.context, deck)); }
      get properties() { api("PowerPointApi", "1.7"); return (this._props ??= new PresentationProperties(this.context, () => deck(), "properties")); }
      setSelectedSlides(ids) {
        api("PowerPointApi", "1.5");
        this.context._enqueue(() => {
          const i = deck().slides.findIndex((s) => s.id === ids[0]);
          if (i < 0) throw new OfficeError("ItemNotFound", "The requested resource doesn't exist.", "Presentation.setSelectedSlides");
          deck().selected = i;
        });
      }
      getSelectedSlides() {
        api("PowerPointApi", "1.5");
        const c = new SlideCollection(this.context, deck);
        c._list = () => [deck().slides[deck().selected]].filter(Boolean);
        return c;
      }
    }
    defineScalars(Presentation, ["title"]);

    class PresentationProperties extends ClientObject {
      get customProperties() { return (this._custom ??= new CustomPropertyCollection(this.context, () => (deck().custom ??= []))); }
      _get(m, p) { return m[p] ?? ""; }
    }
    defineScalars(PresentationProperties, ["title", "author", "company"]);

    class SlideMasterCollection extends ClientCollection {
      _list() { return [{ id: "2147483648#1", name: "Office Theme" }]; }
      _itemProxy(m) { return new SlideMaster(this.context, () => m); }
      getItemAt(i) {
        return new SlideMaster(this.context, () => { if (i !== 0) throw new OfficeError("ItemNotFound", "The requested resource doesn't exist."); return { id: "2147483648#1", name: "Office Theme" }; });
      }
    }
    class SlideMaster extends ClientObject {
      get layouts() { return (this._layouts ??= new LayoutCollection(this.context, () => deck().layouts)); }
    }
    defineScalars(SlideMaster, ["id", "name"]);
    class LayoutCollection extends ClientCollection {
      _list() { return this._resolve(); }
      _itemProxy(m) { return new Layout(this.context, () => m); }
    }
    class Layout extends ClientObject {}
    defineScalars(Layout, ["id", "name"]);

    class SlideCollection extends ClientCollection {
      _list() { return deck().slides; }
      _itemProxy(m) { const id = m.id; return new Slide(this.context, () => slideById(id)); }
      getItem(id) { return new Slide(this.context, () => slideById(id)); }
      getItemAt(index) {
        return new Slide(this.context, () => {
          const s = deck().slides[index];
          if (!s) throw new OfficeError("ItemNotFound", "The requested resource doesn't exist.", `SlideCollection.getItemAt(${index})`);
          return s;
        });
      }
      getCount() {
        const r = new ClientResult();
        this.context._enqueue(() => { r._value = deck().slides.length; r._set = true; });
        return r;
      }
      add(options) {
        api("PowerPointApi", "1.3");
        this.context._enqueue(() => {
          const d = deck();
          const layoutId = options?.layoutId ?? d.layouts[1].id;
          if (!d.layouts.some((l) => l.id === layoutId)) throw new OfficeError("InvalidArgument", "The layout id is not valid.", "SlideCollection.add");
          d.slides.push({ id: `${d.nextSlide++}#`, layoutId, shapes: [] });
          env.touch("slide", { index: d.slides.length });
        });
      }
    }

    class Slide extends ClientObject {
      get shapes() { api("PowerPointApi", "1.3"); return (this._shapes ??= new ShapeCollection(this.context, () => this._resolve())); }
      get layout() { return new Layout(this.context, () => deck().layouts.find((l) => l.id === this._resolve().layoutId)); }
      delete() {
        this.context._enqueue(() => {
          const d = deck();
          const s = this._resolve();
          d.slides.splice(d.slides.indexOf(s), 1);
          d.selected = Math.min(d.selected, Math.max(0, d.slides.length - 1));
          env.touch("slide", {});
        });
      }
      _get(m, p) {
        if (p === "index") { api("PowerPointApi", "1.8"); return deck().slides.indexOf(m); }
        return m[p];
      }
    }
    defineScalars(Slide, ["id", "index"]);

    const shapeIn = (slide, id) => {
      const s = slide.shapes.find((x) => x.id === id);
      if (!s) throw new OfficeError("ItemNotFound", "The requested resource doesn't exist.", `ShapeCollection.getItem(${JSON.stringify(id)})`);
      return s;
    };
    class ShapeCollection extends ClientCollection {
      _list() { return this._resolve().shapes; }
      _itemProxy(m) { const id = m.id; return new Shape(this.context, () => shapeIn(this._resolve(), id)); }
      getItem(id) { return new Shape(this.context, () => shapeIn(this._resolve(), id)); }
      getCount() {
        const r = new ClientResult();
        this.context._enqueue(() => { r._value = this._resolve().shapes.length; r._set = true; });
        return r;
      }
      _add(model) {
        this.context._enqueue(() => {
          const slide = this._resolve();
          model.id = String(deck().nextShape++);
          slide.shapes.push(model);
          env.touch("shape", { slide: slide.id, shape: model.id });
        });
        return new Shape(this.context, () => { if (!model.id) throw new OfficeError("GeneralException", "The shape was not added."); return shapeIn(this._resolve(), model.id); });
      }
      addTextBox(text, options = {}) {
        api("PowerPointApi", "1.4");
        const o = options ?? {};
        return this._add({ id: null, name: `TextBox ${deck().nextShape}`, type: "TextBox", left: o.left ?? 0, top: o.top ?? 0, width: o.width ?? 200, height: o.height ?? 50, text: String(text) });
      }
      addGeometricShape(kind, options = {}) {
        api("PowerPointApi", "1.4");
        const o = options ?? {};
        return this._add({ id: null, name: `${kind} ${deck().nextShape}`, type: "GeometricShape", left: o.left ?? 0, top: o.top ?? 0, width: o.width ?? 100, height: o.height ?? 100, text: "" });
      }
      addTable(rowCount, columnCount, options = {}) {
        api("PowerPointApi", "1.8");
        const o = options ?? {};
        const values = o.values ?? Array.from({ length: rowCount }, () => Array.from({ length: columnCount }, () => ""));
        if (values.length !== rowCount || values.some((r) => r.length !== columnCount)) {
          throw new OfficeError("InvalidArgument", "The values do not match rowCount and columnCount.", "ShapeCollection.addTable");
        }
        return this._add({ id: null, name: `Table ${deck().nextShape}`, type: "Table", left: o.left ?? 60, top: o.top ?? 140, width: o.width ?? 60 + columnCount * 140, height: o.height ?? rowCount * 36, table: values.map((r) => r.map(String)) });
      }
    }

    class Shape extends ClientObject {
      get textFrame() {
        return new TextFrame(this.context, () => {
          const s = this._resolve();
          if (!("text" in s)) throw new OfficeError("InvalidArgument", "This shape does not support a text frame.", "Shape.textFrame");
          return s;
        });
      }
      getTable() {
        api("PowerPointApi", "1.8");
        return new Table(this.context, () => {
          const s = this._resolve();
          if (!s.table) throw new OfficeError("InvalidArgument", "The shape is not a table.", "Shape.getTable");
          return s;
        });
      }
      delete() {
        this.context._enqueue(() => {
          const s = this._resolve();
          for (const sl of deck().slides) {
            const i = sl.shapes.indexOf(s);
            if (i >= 0) sl.shapes.splice(i, 1);
          }
          env.touch("shape", {});
        });
      }
    }
    const move = (k) => (m, v) => { m[k] = Number(v); env.touch("shape", {}); };
    defineScalars(Shape, ["id", "name", "type", "left", "top", "width", "height"], { left: move("left"), top: move("top"), width: move("width"), height: move("height"), name: (m, v) => { m.name = String(v); } });

    class TextFrame extends ClientObject {
      get textRange() { return new TextRange(this.context, () => this._resolve()); }
      _get(m, p) { return p === "hasText" ? Boolean(m.text) : m[p]; }
    }
    defineScalars(TextFrame, ["hasText", "wordWrap"]);
    class TextRange extends ClientObject {}
    defineScalars(TextRange, ["text"], { text: (m, v) => { m.text = String(v); env.touch("shape", {}); } });
    class Table extends ClientObject {
      _get(m, p) {
        if (p === "values") return m.table;
        if (p === "rowCount") return m.table.length;
        if (p === "columnCount") return m.table[0]?.length ?? 0;
        return undefined;
      }
    }
    defineScalars(Table, ["values", "rowCount", "columnCount"]);

    return {
      async run(batch) {
        const ctx = new RequestContext(env);
        ctx.presentation = new Presentation(ctx, deck, "presentation");
        return batch(ctx);
      },
      RequestContext,
      ShapeType: { textBox: "TextBox", geometricShape: "GeometricShape", table: "Table", image: "Image", placeholder: "Placeholder" },
      ErrorCodes: { itemNotFound: "ItemNotFound", invalidArgument: "InvalidArgument", generalException: "GeneralException" },
    };
  }

  // ------------------------------------------------------------------ Office (Common API)
  const ALL_SETS = {
    ExcelApi: "1.17",
    PowerPointApi: "1.8",
    ImageCoercion: "1.1",
    DialogApi: "1.2",
  };

  function create(options = {}) {
    const host = String(options.host ?? "excel").toLowerCase() === "powerpoint" ? "PowerPoint" : "Excel";
    const missing = new Set((options.missing ?? []).map((s) => s.trim()).filter(Boolean));
    const listeners = new Set();
    const env = {
      host,
      workbook: options.workbook ?? sampleWorkbook(),
      deck: options.deck ?? sampleDeck(),
      sets: { ...ALL_SETS, ...(options.sets ?? {}) },
      missing,
      isSetSupported(name, version = "1.1") {
        const max = env.sets[name];
        if (!max) return false;
        if ((name === "ExcelApi" && host !== "Excel") || (name === "PowerPointApi" && host !== "PowerPoint")) return false;
        const cmp = (a, b) => {
          const [x1, y1] = String(a).split(".").map(Number);
          const [x2, y2] = String(b).split(".").map(Number);
          return x1 - x2 || (y1 || 0) - (y2 || 0);
        };
        if (cmp(version, max) > 0) return false;
        // A missing set removes it and every later version of it.
        for (const m of env.missing) {
          const [n, v] = m.split(/\s+/);
          if (n === name && cmp(version, v || "1.1") >= 0) return false;
        }
        return true;
      },
      touched: [],
      touch(kind, detail) {
        env.touched.push({ kind, detail, at: Date.now() });
        if (env.touched.length > 200) env.touched.shift();
      },
      changed() {
        const t = env.touched.splice(0);
        if (!t.length) return;
        for (const fn of listeners) {
          try { fn(t); } catch (e) { console.error(e); }
        }
      },
    };
    const Excel = makeExcel(env);
    const PowerPoint = makePowerPoint(env);
    const doc = () => (host === "Excel" ? env.workbook : env.deck);
    let readyInfo = null;
    const Office = {
      __standin: true,
      HostType: { Excel: "Excel", PowerPoint: "PowerPoint", Word: "Word", Outlook: "Outlook" },
      PlatformType: { OfficeOnline: "OfficeOnline", PC: "PC", Mac: "Mac" },
      CoercionType: { Text: "text", Image: "image", SlideRange: "slideRange", Matrix: "matrix" },
      GoToType: { Index: "index", Slide: "slide" },
      AsyncResultStatus: { Succeeded: "succeeded", Failed: "failed" },
      context: {
        host,
        platform: "OfficeOnline",
        diagnostics: { host, platform: "OfficeOnline", version: "16.0.0.0-standin" },
        requirements: { isSetSupported: (n, v) => env.isSetSupported(n, v) },
        document: {
          get url() { return doc().url; },
          setSelectedDataAsync(data, opts, cb) {
            if (typeof opts === "function") { cb = opts; opts = {}; }
            const done = (r) => setTimeout(() => cb?.(r), 0);
            if (host !== "PowerPoint" || opts?.coercionType !== "image") {
              done({ status: "failed", error: { code: 1000, name: "Invalid coercion type", message: "The specified coercion type is not supported." } });
              return;
            }
            if (!env.isSetSupported("ImageCoercion", "1.1")) {
              done({ status: "failed", error: { code: 5009, name: "Permission denied", message: "ImageCoercion is not supported." } });
              return;
            }
            const d = env.deck;
            const slide = d.slides[d.selected];
            if (!slide) {
              done({ status: "failed", error: { code: 5001, name: "Internal Error", message: "No slide is selected." } });
              return;
            }
            slide.shapes.push({ id: String(d.nextShape++), name: `Picture ${d.nextShape}`, type: "Image", left: opts.imageLeft ?? 100, top: opts.imageTop ?? 100, width: opts.imageWidth ?? 400, height: opts.imageHeight ?? 250, image: String(data) });
            env.touch("shape", { slide: slide.id });
            env.changed();
            done({ status: "succeeded", value: undefined });
          },
          goToByIdAsync(id, type, cb) {
            const d = env.deck;
            const i = type === "index" ? Number(id) - 1 : d.slides.findIndex((s) => s.id === id);
            setTimeout(() => {
              if (i < 0 || i >= d.slides.length) cb?.({ status: "failed", error: { code: 7004, name: "Invalid navigation", message: "The specified location does not exist." } });
              else { d.selected = i; cb?.({ status: "succeeded", value: undefined }); }
            }, 0);
          },
        },
      },
      onReady(cb) {
        readyInfo ??= { host, platform: "OfficeOnline" };
        const p = new Promise((resolve) => setTimeout(() => resolve(readyInfo), 0));
        if (cb) p.then(cb);
        return p;
      },
      initialize: null,
    };
    const OfficeExtension = { Error: OfficeError, ClientResult, ErrorCodes: { propertyNotLoaded: "PropertyNotLoaded" } };
    return {
      Office,
      Excel,
      PowerPoint,
      OfficeExtension,
      env,
      /** The playground listens here: fn(changes) after every sync that touched something. */
      subscribe(fn) { listeners.add(fn); return () => listeners.delete(fn); },
      /** Selects a range as if the person clicked in the grid. */
      select(sheet, address) { env.workbook.selection = { sheet, address }; env.touch("select", { sheet, address }); env.changed(); },
      formatValue,
      parseA1,
      boxToA1,
    };
  }

  const OfficeStandin = { create, formatValue, parseA1, sampleWorkbook, sampleDeck, barChartPng, encodePng };
  globalThis.OfficeStandin = OfficeStandin;

  // In a page: install the globals (over the real Office.js if it also loaded).
  if (typeof window !== "undefined" && typeof document !== "undefined") {
    const q = new URLSearchParams(window.location.search);
    const host = q.get("host") || (/\/powerpoint\//.test(window.location.pathname) ? "powerpoint" : "excel");
    const missing = (q.get("missing") || "").split(",");
    const inst = create({ host, missing });
    OfficeStandin.instance = inst;
    window.Office = inst.Office;
    window.OfficeExtension = inst.OfficeExtension;
    if (inst.Office.context.host === "Excel") window.Excel = inst.Excel;
    else window.PowerPoint = inst.PowerPoint;
  }
})();
