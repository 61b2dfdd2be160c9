// The Excel operations the bridge calls (docs/addin-protocol.md, "Bridge -> pane requests").
// Each checks its requirement set at run time, validates its params (-32602), and lets Office
// errors through for the client to map to -32005. `Excel` and `Office` are injected so the
// same code runs on Office, on the stand-in (addins/standin/) and on office-addin-mock.

import { purviewLabel, purviewProperties } from "../shared/purview.js";
import { RpcError, CODES, address, flag, invalidParams, isSetSupported, matrix, num, obj, requireSet, splitAddress, str } from "../shared/rpc.js";

/** The most cells one readRange / writeRange may move (keeps messages far below 16 MiB). */
export const MAX_CELLS = 100000;
/** Chart pictures must stay under the channel's 16 MiB frame limit. */
export const MAX_IMAGE_BASE64 = 15 * 1024 * 1024;

const SHEET_MAX = 31; // Excel's own limit on worksheet names

export function createExcelOperations({ Excel, Office }) {
  const run = (fn) => Excel.run(fn);
  const chartSource = (ctx, chart, sheet) => chartSourceOf(Office, ctx, chart, sheet);

  function shape(range, fallbackSheet) {
    const { sheet, address: addr } = splitAddress(range.address);
    return {
      sheet: sheet ?? fallbackSheet ?? null,
      address: addr,
      values: range.values,
      text: range.text,
      numberFormat: range.numberFormat,
    };
  }

  /** Loads a range's size first so a huge read ("A:Z") is refused before it is fetched. */
  async function readChecked(ctx, range, fallbackSheet) {
    range.load("rowCount,columnCount");
    await ctx.sync();
    const cells = range.rowCount * range.columnCount;
    if (cells > MAX_CELLS) {
      throw invalidParams(`the range has ${cells} cells; read at most ${MAX_CELLS} at a time`);
    }
    range.load("address,values,text,numberFormat");
    await ctx.sync();
    return shape(range, fallbackSheet);
  }

  const ops = {
    async "excel.listSheets"(params) {
      obj(params);
      requireSet(Office, "ExcelApi", "1.1");
      return run(async (ctx) => {
        const sheets = ctx.workbook.worksheets;
        sheets.load("items/name,items/position,items/visibility");
        await ctx.sync();
        return {
          sheets: sheets.items.map((s) => ({ name: s.name, position: s.position, visible: s.visibility === "Visible" })),
        };
      });
    },

    async "excel.readRange"(params) {
      const p = obj(params);
      const sheet = str(p, "sheet", { max: SHEET_MAX });
      const addr = address(p);
      requireSet(Office, "ExcelApi", "1.1");
      return run(async (ctx) => {
        const range = ctx.workbook.worksheets.getItem(sheet).getRange(addr);
        return readChecked(ctx, range, sheet);
      });
    },

    // addressOnly: where the selection is ({sheet, address}), no cells: the bridge reads
    // a big selection, or whole columns, page by page with excel.readRange.
    async "excel.getSelection"(params) {
      const p = obj(params);
      const addressOnly = flag(p, "addressOnly");
      requireSet(Office, "ExcelApi", "1.1");
      return run(async (ctx) => {
        const range = ctx.workbook.getSelectedRange();
        if (!addressOnly) return readChecked(ctx, range);
        range.load("address");
        await ctx.sync();
        const { sheet, address: addr } = splitAddress(range.address);
        return { sheet, address: addr };
      });
    },

    // The used range of a sheet, or (address) the used part of a range of it, such as the
    // whole columns "A:C". addressOnly: only {sheet, address}, no cells; address null when
    // the range holds no value (what the bridge asks before reading whole columns).
    async "excel.getUsedRange"(params) {
      const p = obj(params);
      const sheet = str(p, "sheet", { max: SHEET_MAX });
      const within = p.address === undefined || p.address === null ? null : address(p);
      const addressOnly = flag(p, "addressOnly");
      // getUsedRange(valuesOnly) needs 1.2; plain getUsedRange() would count formatted-only cells.
      requireSet(Office, "ExcelApi", "1.2");
      return run(async (ctx) => {
        const ws = ctx.workbook.worksheets.getItem(sheet);
        if (!within) {
          const range = ws.getUsedRange(true);
          if (!addressOnly) return readChecked(ctx, range, sheet);
          range.load("address");
          await ctx.sync();
          return { sheet, address: splitAddress(range.address).address };
        }
        // The sheet first: Range.getUsedRange answers ItemNotFound for a range without
        // values, which must not be mistaken for a sheet that does not exist.
        ws.load("name");
        await ctx.sync();
        const range = ws.getRange(within).getUsedRange(true);
        if (!addressOnly) return readChecked(ctx, range, sheet);
        range.load("address");
        try {
          await ctx.sync();
        } catch (e) {
          if (e?.code === "ItemNotFound") return { sheet, address: null };
          throw e;
        }
        return { sheet, address: splitAddress(range.address).address };
      });
    },

    async "excel.writeRange"(params) {
      const p = obj(params);
      const sheet = str(p, "sheet", { max: SHEET_MAX });
      const addr = address(p);
      const values = matrix(p, "values", { maxCells: MAX_CELLS });
      const target = targetAddress(addr, values.length, values[0].length);
      requireSet(Office, "ExcelApi", "1.1");
      return run(async (ctx) => {
        const range = ctx.workbook.worksheets.getItem(sheet).getRange(target);
        range.values = values.map((r) => r.map((c) => (c === null ? "" : c)));
        range.load("address");
        await ctx.sync();
        return { address: splitAddress(range.address).address };
      });
    },

    async "excel.deleteSheet"(params) {
      const p = obj(params);
      const sheet = str(p, "sheet", { max: SHEET_MAX });
      requireSet(Office, "ExcelApi", "1.1");
      return run(async (ctx) => {
        const ws = ctx.workbook.worksheets.getItem(sheet);
        ws.load("name");
        await ctx.sync();
        const name = ws.name;
        ws.delete();
        await ctx.sync();
        return { deleted: name };
      });
    },

    async "excel.listCharts"(params) {
      const p = obj(params);
      const only = str(p, "sheet", { optional: true, max: SHEET_MAX });
      requireSet(Office, "ExcelApi", "1.1");
      return run(async (ctx) => {
        let sheets;
        if (only) {
          const ws = ctx.workbook.worksheets.getItem(only);
          ws.load("name");
          sheets = [ws];
        } else {
          const all = ctx.workbook.worksheets;
          all.load("items/name");
          await ctx.sync();
          sheets = all.items;
        }
        const perSheet = sheets.map((ws) => {
          const charts = ws.charts;
          charts.load("items/name");
          return { ws, charts };
        });
        await ctx.sync();
        const out = [];
        for (const { ws, charts } of perSheet) {
          for (const chart of charts.items) {
            out.push({ name: chart.name, sheet: ws.name, sourceRange: await chartSource(ctx, chart, ws.name) });
          }
        }
        return { charts: out };
      });
    },

    async "excel.getChartImage"(params) {
      const p = obj(params);
      const sheet = str(p, "sheet", { max: SHEET_MAX });
      const name = str(p, "chart", { max: 255 });
      const width = num(p, "width", { optional: true, min: 16, max: 4000 });
      const height = num(p, "height", { optional: true, min: 16, max: 4000 });
      requireSet(Office, "ExcelApi", "1.2"); // Chart.getImage
      return run(async (ctx) => {
        const chart = ctx.workbook.worksheets.getItem(sheet).charts.getItem(name);
        chart.load("name");
        const image = width || height ? chart.getImage(width, height, "Fit") : chart.getImage();
        await ctx.sync();
        const png = image.value;
        if (typeof png !== "string" || png.length === 0) {
          throw new RpcError(CODES.OFFICE_ERROR, "Office returned no picture for the chart", { code: "NoImage", message: "empty image" });
        }
        if (png.length > MAX_IMAGE_BASE64) {
          throw invalidParams(`the chart picture is ${png.length} bytes in base64; ask for a smaller width/height`);
        }
        return { png_base64: png, sourceRange: await chartSource(ctx, chart, sheet) };
      });
    },

    async "excel.getProperties"(params) {
      obj(params);
      requireSet(Office, "ExcelApi", "1.7"); // Workbook.name and Workbook.properties
      return run(async (ctx) => {
        const wb = ctx.workbook;
        wb.load("name");
        const custom = wb.properties.custom;
        custom.load("items/key,items/value");
        await ctx.sync();
        return {
          name: wb.name,
          url: documentUrl(Office),
          custom: purviewProperties(custom.items),
        };
      });
    },
  };
  return ops;
}

// The Purview helpers live in shared/purview.js (PowerPoint uses them too); re-exported for
// the callers that know them from here.
export { purviewProperties, purviewLabel };

export function documentUrl(Office) {
  try {
    return Office?.context?.document?.url ?? "";
  } catch {
    return "";
  }
}

/**
 * Where a chart's data comes from. What Office.js allows: there is no Chart.getDataRange or
 * series formula property before ExcelApi 1.15; from 1.15 ChartSeries.
 * getDimensionDataSourceString("Values" | "Categories") returns the series' source reference
 * (for example "=Revenue!$D$2:$D$4"; it throws for series built from literal values). So:
 * with 1.15, the union of every series' values and categories ranges; without it, a range
 * reference in the chart's name (a naming convention some workbooks use, "Revenue!B2:D5");
 * else null (unknown).
 */
async function chartSourceOf(Office, ctx, chart, sheet) {
  if (isSetSupported(Office, "ExcelApi", "1.15")) {
    try {
      const series = chart.series;
      series.load("items/name");
      await ctx.sync();
      const refs = [];
      for (const s of series.items) {
        refs.push(s.getDimensionDataSourceString("Values"));
        refs.push(s.getDimensionDataSourceString("Categories"));
      }
      await ctx.sync();
      const union = unionOfRefs(refs.map((r) => r.value).filter(Boolean), sheet);
      if (union) return union;
    } catch {
      // literal series or an unsupported chart type: fall through to the name
    }
  }
  return rangeInName(chart.name);
}

export function rangeInName(name) {
  const m = /((?:'[^']+'|[A-Za-z0-9_.]+)!)?\$?([A-Z]{1,3})\$?(\d+)(?::\$?([A-Z]{1,3})\$?(\d+))?/.exec(String(name ?? ""));
  if (!m || !m[1]) return null; // a bare "B2" in a name is too likely to be a coincidence
  return `${m[1]}${m[2]}${m[3]}${m[4] ? `:${m[4]}${m[5]}` : ""}`;
}

// ---- A1 helpers ----

export function colToNum(col) {
  let n = 0;
  for (const ch of col.toUpperCase()) n = n * 26 + (ch.charCodeAt(0) - 64);
  return n;
}

export function numToCol(n) {
  let s = "";
  while (n > 0) {
    const r = (n - 1) % 26;
    s = String.fromCharCode(65 + r) + s;
    n = Math.floor((n - 1) / 26);
  }
  return s;
}

export function parseCell(a1) {
  const m = /^\$?([A-Za-z]{1,3})\$?(\d+)$/.exec(a1);
  if (!m) return null;
  return { col: colToNum(m[1]), row: Number(m[2]) };
}

/**
 * The address to write `rows` x `cols` values to: a single cell grows to fit (like a paste);
 * a rectangle must have the values' size, else -32602 names both sizes.
 */
export function targetAddress(addr, rows, cols) {
  const [a, b] = addr.split(":");
  const start = parseCell(a);
  if (!start) throw invalidParams(`"address" must start with a cell such as B2 for a write (got "${addr}")`);
  if (!b) {
    if (rows === 1 && cols === 1) return addr.replace(/\$/g, "").toUpperCase();
    return `${numToCol(start.col)}${start.row}:${numToCol(start.col + cols - 1)}${start.row + rows - 1}`;
  }
  const end = parseCell(b);
  if (!end) throw invalidParams(`"address" must be a cell rectangle such as B2:D5 for a write (got "${addr}")`);
  const h = Math.abs(end.row - start.row) + 1;
  const w = Math.abs(end.col - start.col) + 1;
  if (h !== rows || w !== cols) {
    throw invalidParams(`"values" is ${rows}x${cols} but ${addr} is ${h}x${w}`);
  }
  return addr.replace(/\$/g, "").toUpperCase();
}

/** Bounding box of A1 references on one sheet ("=Revenue!$D$2:$D$4"): "Revenue!A2:D4". */
export function unionOfRefs(refs, defaultSheet) {
  let sheet = null;
  let r0 = Infinity, c0 = Infinity, r1 = -Infinity, c1 = -Infinity;
  for (const raw of refs) {
    for (const part of String(raw).replace(/^=/, "").split(",")) {
      const { sheet: s, address: a } = splitAddress(part.trim());
      const sh = s ?? defaultSheet;
      if (sheet === null) sheet = sh;
      else if (sh !== sheet) continue; // different sheets: keep the first one's box
      const [x, y] = a.split(":");
      const p = parseCell(x);
      const q = y ? parseCell(y) : p;
      if (!p || !q) continue;
      r0 = Math.min(r0, p.row, q.row);
      r1 = Math.max(r1, p.row, q.row);
      c0 = Math.min(c0, p.col, q.col);
      c1 = Math.max(c1, p.col, q.col);
    }
  }
  if (sheet === null || r0 === Infinity) return null;
  const quoted = /^[A-Za-z0-9_.]+$/.test(sheet) ? sheet : `'${sheet.replace(/'/g, "''")}'`;
  const box = r0 === r1 && c0 === c1 ? `${numToCol(c0)}${r0}` : `${numToCol(c0)}${r0}:${numToCol(c1)}${r1}`;
  return `${quoted}!${box}`;
}

/** Pane helpers (not bridge operations): the document and the current selection. */
export async function excelDocumentInfo({ Excel, Office }) {
  const url = documentUrl(Office);
  let name = "";
  if (isSetSupported(Office, "ExcelApi", "1.7")) {
    try {
      name = await Excel.run(async (ctx) => {
        ctx.workbook.load("name");
        await ctx.sync();
        return ctx.workbook.name;
      });
    } catch {
      name = "";
    }
  }
  if (!name) name = nameFromUrl(url) || "Untitled workbook";
  return { name, url };
}

export function nameFromUrl(url) {
  if (!url) return "";
  const last = String(url).split(/[\\/]/).pop() || "";
  try {
    return decodeURIComponent(last.split("?")[0]);
  } catch {
    return last;
  }
}

export async function excelSelection({ Excel }) {
  return Excel.run(async (ctx) => {
    const r = ctx.workbook.getSelectedRange();
    r.load("address");
    await ctx.sync();
    return splitAddress(r.address);
  });
}
