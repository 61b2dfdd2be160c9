// The PowerPoint operations the bridge calls (docs/addin-protocol.md). Same rules as the Excel
// ones: requirement set checked at run time (-32004 naming it), params checked (-32602),
// Office errors passed on for the client to map to -32005. `PowerPoint` and `Office` are
// injected: Office, the stand-in and office-addin-mock all run this code.

import { CODES, RpcError, invalidParams, isSetSupported, matrix, num, obj, requireSet, str } from "../shared/rpc.js";
import { purviewProperties } from "../shared/purview.js";

/** Shape types whose text frame holds text (others throw when their textFrame is loaded). */
const TEXT_TYPES = new Set(["GeometricShape", "TextBox", "Placeholder", "Callout", "Freeform"]);
export const MAX_IMAGE_BASE64 = 15 * 1024 * 1024;
export const MAX_TEXT = 100000;

export function createPowerPointOperations({ PowerPoint, Office }) {
  const run = (fn) => PowerPoint.run(fn);

  /**
   * Finds a slide by id ("256#") or 1-based index; -32602 naming what exists when it is not
   * there (a friendlier answer than Office's ItemNotFound).
   */
  async function resolveSlide(ctx, ref) {
    const slides = ctx.presentation.slides;
    slides.load("items/id");
    await ctx.sync();
    const items = slides.items;
    if (typeof ref === "number") {
      if (!Number.isInteger(ref) || ref < 1 || ref > items.length) {
        throw invalidParams(`slide ${ref} does not exist; the deck has ${items.length} slide(s)`);
      }
      return { slide: items[ref - 1], index: ref };
    }
    const i = items.findIndex((s) => s.id === ref);
    if (i < 0) throw invalidParams(`no slide with id "${String(ref).slice(0, 64)}"`);
    return { slide: items[i], index: i + 1 };
  }

  function slideRef(p) {
    const v = p.slide;
    if (typeof v === "number" && Number.isFinite(v)) return v;
    if (typeof v === "string" && v.length > 0 && v.length <= 128) return /^\d+$/.test(v) ? Number(v) : v;
    throw invalidParams(`"slide" must be a slide id (string) or a 1-based index (number)`);
  }

  /** Shapes of a slide with their text: text frames when 1.4, tables when 1.8. */
  async function readShapes(ctx, slide) {
    const shapes = slide.shapes;
    shapes.load("items/id,items/name,items/type");
    await ctx.sync();
    const withText = isSetSupported(Office, "PowerPointApi", "1.4");
    const withTables = isSetSupported(Office, "PowerPointApi", "1.8");
    const pending = [];
    for (const shape of shapes.items) {
      if (withText && TEXT_TYPES.has(shape.type)) {
        pending.push({
          shape,
          queue: () => {
            const tr = shape.textFrame.textRange;
            tr.load("text");
            return () => tr.text;
          },
        });
      } else if (withTables && shape.type === "Table") {
        pending.push({
          shape,
          queue: () => {
            const table = shape.getTable();
            table.load("values");
            return () => table.values.map((r) => r.join("\t")).join("\n");
          },
        });
      }
    }
    const texts = new Map();
    try {
      const getters = pending.map((p) => p.queue());
      await ctx.sync();
      pending.forEach((p, i) => texts.set(p.shape, getters[i]()));
    } catch {
      // One shape refused (an odd placeholder, a locked table): read them one by one.
      for (const p of pending) {
        try {
          const get = p.queue();
          await ctx.sync();
          texts.set(p.shape, get());
        } catch {
          texts.set(p.shape, null);
        }
      }
    }
    return shapes.items.map((s) => ({ id: s.id, name: s.name, type: s.type, text: texts.has(s) ? texts.get(s) : null }));
  }

  const ops = {
    async "powerpoint.listSlides"(params) {
      obj(params);
      requireSet(Office, "PowerPointApi", "1.3"); // slide.shapes
      return run(async (ctx) => {
        const slides = ctx.presentation.slides;
        slides.load("items/id");
        await ctx.sync();
        const out = [];
        let index = 1;
        for (const slide of slides.items) {
          out.push({ id: slide.id, index: index++, shapes: await readShapes(ctx, slide) });
        }
        return { slides: out };
      });
    },

    async "powerpoint.readSlide"(params) {
      const p = obj(params);
      const ref = slideRef(p);
      requireSet(Office, "PowerPointApi", "1.3");
      return run(async (ctx) => {
        const { slide, index } = await resolveSlide(ctx, ref);
        return { id: slide.id, index, shapes: await readShapes(ctx, slide) };
      });
    },

    async "powerpoint.addSlide"(params) {
      const p = obj(params);
      const layout = str(p, "layout", { optional: true, max: 256 });
      requireSet(Office, "PowerPointApi", "1.3"); // slides.add, slideMasters/layouts
      return run(async (ctx) => {
        const options = {};
        if (layout) {
          const master = ctx.presentation.slideMasters.getItemAt(0);
          master.load("id");
          master.layouts.load("items/id,items/name");
          await ctx.sync();
          const wanted = layout.toLowerCase();
          const hit = master.layouts.items.find((l) => l.id === layout || String(l.name).toLowerCase() === wanted);
          if (!hit) {
            const names = master.layouts.items.map((l) => l.name).join(", ");
            throw invalidParams(`no layout "${layout.slice(0, 64)}"; this deck has: ${names}`);
          }
          options.layoutId = hit.id;
          options.slideMasterId = master.id;
        }
        ctx.presentation.slides.add(options);
        await ctx.sync();
        const slides = ctx.presentation.slides;
        slides.load("items/id");
        await ctx.sync();
        const last = slides.items[slides.items.length - 1];
        return { id: last.id, index: slides.items.length };
      });
    },

    async "powerpoint.addTextBox"(params) {
      const p = obj(params);
      const ref = slideRef(p);
      const text = p.text;
      if (typeof text !== "string") throw invalidParams(`"text" must be a string`);
      if (text.length > MAX_TEXT) throw invalidParams(`"text" is longer than ${MAX_TEXT} characters`);
      const box = geometry(p, { left: 60, top: 120, width: 840, height: 80 });
      requireSet(Office, "PowerPointApi", "1.4"); // shapes.addTextBox
      return run(async (ctx) => {
        const { slide } = await resolveSlide(ctx, ref);
        const shape = slide.shapes.addTextBox(text, box);
        shape.load("id");
        await ctx.sync();
        return { shape_id: shape.id };
      });
    },

    async "powerpoint.addTable"(params) {
      const p = obj(params);
      const ref = slideRef(p);
      const rows = matrix(p, "rows", { maxCells: 2500 });
      const box = geometry(p, { left: 60, top: 140 });
      requireSet(Office, "PowerPointApi", "1.8"); // shapes.addTable (Microsoft 365 only)
      return run(async (ctx) => {
        const { slide } = await resolveSlide(ctx, ref);
        const values = rows.map((r) => r.map((c) => (c === null ? "" : String(c))));
        const shape = slide.shapes.addTable(values.length, values[0].length, { values, ...box });
        shape.load("id");
        await ctx.sync();
        return { shape_id: shape.id };
      });
    },

    async "powerpoint.insertImage"(params) {
      const p = obj(params);
      const ref = slideRef(p);
      const png = str(p, "png_base64", { max: MAX_IMAGE_BASE64 });
      if (!/^[A-Za-z0-9+/]+={0,2}$/.test(png)) throw invalidParams(`"png_base64" must be base64 without a data: prefix`);
      if (!png.startsWith("iVBORw0KGgo")) throw invalidParams(`"png_base64" is not a PNG picture`);
      const box = geometry(p, { left: 120, top: 110, width: 720, height: 405 });
      // PowerPoint has no shapes.addImage (through PowerPointApi 1.8 pictures can only be
      // inserted with the Common API): select the target slide, then
      // Office.context.document.setSelectedDataAsync(base64, {coercionType: Image}), which
      // puts the picture on the selected slide (requirement set ImageCoercion 1.1). The new
      // shape's id is found by comparing the slide's shapes before and after.
      requireSet(Office, "ImageCoercion", "1.1");
      requireSet(Office, "PowerPointApi", "1.3");
      return run(async (ctx) => {
        const { slide, index } = await resolveSlide(ctx, ref);
        slide.shapes.load("items/id");
        await ctx.sync();
        const before = new Set(slide.shapes.items.map((s) => s.id));
        if (isSetSupported(Office, "PowerPointApi", "1.5")) {
          ctx.presentation.setSelectedSlides([slide.id]);
          await ctx.sync();
        } else {
          await officeAsync((cb) => Office.context.document.goToByIdAsync(index, Office.GoToType.Index, cb));
        }
        await officeAsync((cb) =>
          Office.context.document.setSelectedDataAsync(
            png,
            {
              coercionType: Office.CoercionType.Image,
              imageLeft: box.left,
              imageTop: box.top,
              imageWidth: box.width,
              imageHeight: box.height,
            },
            cb,
          ),
        );
        const after = slide.shapes;
        after.load("items/id");
        await ctx.sync();
        const added = after.items.map((s) => s.id).filter((id) => !before.has(id));
        return { shape_id: added.length ? added[added.length - 1] : null };
      });
    },

    async "powerpoint.getProperties"(params) {
      obj(params);
      // Presentation.properties.customProperties is where Office keeps the deck's Purview
      // label (MSIP_Label_…), as Workbook.properties.custom is for a workbook.
      requireSet(Office, "PowerPointApi", "1.7");
      return run(async (ctx) => {
        const custom = ctx.presentation.properties.customProperties;
        custom.load("items/key,items/value");
        await ctx.sync();
        // PowerPoint.js has no file name: the name is the url's last part, as at register.
        const { name, url } = await powerpointDocumentInfo({ Office });
        return { name, url, custom: purviewProperties(custom.items) };
      });
    },

    async "powerpoint.deleteSlide"(params) {
      const p = obj(params);
      const ref = slideRef(p);
      requireSet(Office, "PowerPointApi", "1.2"); // Slide.delete
      return run(async (ctx) => {
        const { slide } = await resolveSlide(ctx, ref);
        const id = slide.id;
        slide.delete();
        await ctx.sync();
        return { deleted: id };
      });
    },
  };
  return ops;
}

function geometry(p, defaults) {
  const out = {};
  for (const k of ["left", "top", "width", "height"]) {
    const v = num(p, k, { optional: true, min: 0, max: 10000 });
    if (v !== undefined) out[k] = v;
    else if (defaults[k] !== undefined) out[k] = defaults[k];
  }
  return out;
}

/** Runs a Common API call (callback style) as a promise; a failure carries Office's code. */
export function officeAsync(start) {
  return new Promise((resolve, reject) => {
    start((result) => {
      if (result && result.status === "failed") {
        const e = result.error ?? {};
        const err = new Error(e.message || "the Office call failed");
        err.code = e.code ?? "Failed";
        err.name = e.name || "OfficeError";
        reject(err);
      } else {
        resolve(result?.value);
      }
    });
  });
}

export async function powerpointDocumentInfo({ Office }) {
  let url = "";
  try {
    url = Office?.context?.document?.url ?? "";
  } catch {
    url = "";
  }
  const last = String(url || "").split(/[\\/]/).pop() || "";
  let name = "";
  try {
    name = decodeURIComponent(last.split("?")[0]);
  } catch {
    name = last;
  }
  return { name: name || "Untitled presentation", url: url || "" };
}

export { CODES, RpcError };
