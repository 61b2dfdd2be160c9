// The Excel pane's list of cells whose text looks like instructions aimed at the agent: the
// bridge checks every read and tells the read workbook's pane (`read.notice`, its `flagged`
// cells with where, why and an excerpt). One item per cell, newest first; the text is the
// workbook's own and is shown as text only (ui.js `h`).

import { h, sheetRef } from "../shared/ui.js";

/** "Notes!A2" as the bridge names a cell, in Excel's spelling ("'Q3 notes'!A2"). */
export function cellWords(location) {
  const loc = String(location ?? "");
  const bang = loc.lastIndexOf("!");
  if (bang <= 0) return loc;
  return sheetRef(loc.slice(0, bang), loc.slice(bang + 1));
}

export class FlaggedCells {
  constructor({ section, list, max = 50 }) {
    this.section = section;
    this.list = list;
    this.max = max;
    this.items = new Map(); // location -> li
  }

  get size() {
    return this.items.size;
  }

  /** A read.notice: shows its flagged cells (a cell flagged again moves to the top). */
  notice(params) {
    const flagged = Array.isArray(params?.flagged) ? params.flagged : [];
    for (const f of flagged) {
      if (!f || typeof f !== "object") continue;
      const location = String(f.location ?? "").slice(0, 300);
      if (!location) continue;
      this.items.get(location)?.remove();
      const excerpt = String(f.excerpt ?? "").slice(0, 200);
      const li = h(
        "li",
        { class: "flagged-cell", "data-location": location },
        h("span", { class: "flagged-where" }, cellWords(location)),
        h("span", { class: "flagged-why" }, String(f.reason ?? "looks like instructions aimed at an AI agent").slice(0, 200)),
        excerpt ? h("span", { class: "flagged-text" }, `“${excerpt}”`) : null,
      );
      this.items.set(location, li);
      this.list.prepend(li);
    }
    while (this.items.size > this.max) {
      const [oldest, li] = this.items.entries().next().value;
      li.remove();
      this.items.delete(oldest);
    }
    if (this.section) this.section.hidden = this.items.size === 0;
    return flagged.length;
  }
}
