// The Excel pane's list of the person's confidential marks on this workbook: what the bridge
// has stored (`label.list`), each with a Remove button that sends `label.set` with
// sensitivity "normal" for that exact sheet and address (the bridge removes a mark only by
// its exact range). Refreshed after every register and after each mark or removal, so the
// list is the bridge's, not this pane's memory.
//
// Sheet names come from the workbook and addresses from the bridge: text only (ui.js `h`).

import { h } from "../shared/ui.js";

/** The address the bridge stores for a whole-sheet mark. */
export const WHOLE_SHEET = "A1:XFD1048576";

export function isWholeSheet(address) {
  return String(address ?? "").replace(/\$/g, "").toUpperCase() === WHOLE_SHEET;
}

/** A mark in words: "Revenue!B2:D5", or "Revenue (whole sheet)". */
export function markWords(mark) {
  const sheet = String(mark?.sheet ?? "");
  return isWholeSheet(mark?.address) ? `${sheet} (whole sheet)` : `${sheet}!${String(mark?.address ?? "")}`;
}

/**
 *   const marks = new MarksList({ list, empty, message, listMarks, setLabel, connected, onChange });
 *   await marks.refresh()      // label.list, then render
 *   marks.setEnabled(bool)     // the Remove buttons follow the connection
 *
 * `listMarks()` and `setLabel(sheet, address, sensitivity)` are the client's requests;
 * `onChange(marks)` hears every list shown (the pane's sensitivity badge follows it).
 */
export class MarksList {
  constructor({ list, empty = null, message = null, listMarks, setLabel, connected = () => true, onChange = () => {} }) {
    this.list = list;
    this.empty = empty;
    this.message = message;
    this.listMarks = listMarks;
    this.setLabel = setLabel;
    this.connected = connected;
    this.onChange = onChange;
    this.marks = [];
    this.buttons = [];
    this.supported = true;
    this.local = []; // marks made here: all an older bridge without label.list lets us show
  }

  /** Asks the bridge for the marks and shows them; resolves with the list shown. */
  async refresh() {
    let marks;
    try {
      const res = await this.listMarks();
      marks = Array.isArray(res?.marks) ? res.marks.filter((m) => m && typeof m.sheet === "string" && typeof m.address === "string") : [];
      this.supported = true;
    } catch (e) {
      if (e?.code !== -32601) {
        this.#say("error", `Could not list your marks: ${e?.message ?? e}`);
        return this.marks;
      }
      // An older bridge: it stores marks but cannot list them; show the ones made here.
      this.supported = false;
      marks = this.local;
    }
    this.render(marks);
    return marks;
  }

  /** A mark was just made here (label.set confidential answered): remember it, then refresh. */
  async marked(sheet, address) {
    if (!this.local.some((m) => m.sheet === sheet && m.address === address)) this.local.push({ sheet, address });
    return this.refresh();
  }

  render(marks) {
    this.marks = marks;
    const enabled = this.connected();
    this.buttons = [];
    this.list.replaceChildren(
      ...marks.map((m) => {
        const words = markWords(m);
        const button = h(
          "button",
          { type: "button", class: "link", "aria-label": `Remove the confidential mark on ${words}`, disabled: !enabled, onclick: () => this.remove(m, button) },
          "Remove",
        );
        this.buttons.push(button);
        return h("li", { class: "mark", "data-sheet": m.sheet, "data-address": m.address }, h("span", { class: "mark-range" }, words), " ", button);
      }),
    );
    if (this.empty) {
      this.empty.hidden = marks.length > 0;
      this.empty.textContent = this.supported ? "You have not marked anything in this workbook." : "No marks made here yet (this version of office-bridge cannot list earlier ones).";
    }
    this.onChange(marks);
  }

  /** Removes one mark: label.set "normal" for exactly its sheet and address, then refresh. */
  async remove(mark, button) {
    if (button) button.disabled = true;
    const words = markWords(mark);
    this.#say("", `Removing the mark on ${words}…`);
    try {
      await this.setLabel(mark.sheet, mark.address, "normal");
      this.local = this.local.filter((m) => !(m.sheet === mark.sheet && m.address === mark.address));
      this.#say("ok", `Removed the confidential mark on ${words}.`);
    } catch (e) {
      this.#say("error", `Could not remove the mark on ${words}: ${e?.message ?? e}`);
      if (button) button.disabled = !this.connected();
      return false;
    }
    await this.refresh();
    return true;
  }

  setEnabled(enabled) {
    for (const b of this.buttons) b.disabled = !enabled;
  }

  #say(kind, text) {
    if (!this.message) return;
    this.message.className = kind ? `message ${kind}` : "message";
    this.message.textContent = text;
  }
}
