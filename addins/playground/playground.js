// The playground: renders the stand-in's simulated workbook and deck next to the real panes
// (each in an iframe with ?standin=1), live. Everything shown from the documents goes through
// textContent: cell values are untrusted like anywhere else.
import { h } from "../shared/ui.js";
import { numToCol as colName } from "../excel/operations.js";

const $ = (id) => document.getElementById(id);
const xlFrame = $("xl-pane");
const ppFrame = $("pp-pane");
let activeSheet = "Revenue";
let anchor = null;
const marks = new Map(); // "Sheet!r,c" -> {kind, until}

function standinOf(frame) {
  try {
    return frame.contentWindow?.OfficeStandin?.instance ?? null;
  } catch {
    return null;
  }
}

/** Waits for the pane in `frame` to load the stand-in, then calls `attach(instance)`. */
function whenReady(frame, attach) {
  let tries = 0;
  let attachedTo = null;
  const poll = () => {
    const inst = standinOf(frame);
    if (inst && inst !== attachedTo) {
      attachedTo = inst;
      attach(inst);
      return;
    }
    if (!inst && tries++ < 200) setTimeout(poll, 100);
  };
  frame.addEventListener("load", () => {
    tries = 0;
    poll();
  });
  poll();
}

// ---------------------------------------------------------------- Excel

function renderWorkbook(inst) {
  const wb = inst.env.workbook;
  $("xl-name").textContent = wb.name;
  if (!wb.sheets.some((s) => s.name === activeSheet)) activeSheet = wb.sheets[0]?.name;
  const tabs = $("sheet-tabs");
  tabs.replaceChildren(
    ...wb.sheets.map((s) =>
      h("button", { type: "button", role: "tab", "aria-selected": String(s.name === activeSheet), onclick: () => { activeSheet = s.name; renderWorkbook(inst); } }, s.name),
    ),
  );
  const sheet = wb.sheets.find((s) => s.name === activeSheet);
  if (!sheet) {
    $("grid-wrap").replaceChildren(h("p", { class: "muted small" }, "This workbook has no sheets."));
    return;
  }
  let maxR = 8, maxC = 8;
  for (const k of Object.keys(sheet.cells)) {
    const [r, c] = k.split(",").map(Number);
    maxR = Math.max(maxR, r + 2);
    maxC = Math.max(maxC, c + 1);
  }
  maxR = Math.min(maxR, 200);
  maxC = Math.min(maxC, 40);
  const sel = wb.selection.sheet === sheet.name ? inst.parseA1(wb.selection.address) : null;
  const now = Date.now();
  const head = h("tr", {}, h("th", { class: "rh", scope: "col" }, ""), ...Array.from({ length: maxC }, (_, i) => h("th", { scope: "col" }, colName(i + 1))));
  const rows = [];
  for (let r = 1; r <= maxR; r++) {
    const tds = [];
    for (let c = 1; c <= maxC; c++) {
      const cell = sheet.cells[`${r},${c}`];
      const text = cell ? inst.formatValue(cell.v, cell.f) : "";
      const m = marks.get(`${sheet.name}!${r},${c}`);
      const cls = [
        typeof cell?.v === "string" ? "text" : "",
        sel && r >= sel.r0 && r <= sel.r1 && c >= sel.c0 && c <= sel.c1 ? "sel" : "",
        m && m.until > now ? m.kind : "",
      ].filter(Boolean).join(" ");
      tds.push(h("td", { class: cls, "data-r": r, "data-c": c }, text));
    }
    rows.push(h("tr", {}, h("th", { class: "rh", scope: "row" }, String(r)), ...tds));
  }
  const table = h("table", { class: "grid", "aria-label": `Sheet ${sheet.name}` }, h("thead", {}, head), h("tbody", {}, ...rows));
  table.addEventListener("click", (ev) => {
    const td = ev.target.closest("td");
    if (!td) return;
    const r = Number(td.dataset.r), c = Number(td.dataset.c);
    if (ev.shiftKey && anchor && anchor.sheet === sheet.name) {
      const a = `${colName(Math.min(anchor.c, c))}${Math.min(anchor.r, r)}:${colName(Math.max(anchor.c, c))}${Math.max(anchor.r, r)}`;
      inst.select(sheet.name, a);
    } else {
      anchor = { sheet: sheet.name, r, c };
      inst.select(sheet.name, `${colName(c)}${r}`);
    }
  });
  $("grid-wrap").replaceChildren(table);
  if (document.activeElement !== $("select-input")) $("select-input").value = wb.selection.sheet === sheet.name ? wb.selection.address : "";
}

function attachExcel(inst) {
  renderWorkbook(inst);
  inst.subscribe((changes) => {
    const until = Date.now() + 5000;
    for (const ch of changes) {
      if (ch.kind !== "read" && ch.kind !== "write") continue;
      const box = inst.parseA1(ch.detail.address);
      if (!box) continue;
      for (let r = box.r0; r <= Math.min(box.r1, box.r0 + 500); r++)
        for (let c = box.c0; c <= Math.min(box.c1, box.c0 + 50); c++) marks.set(`${ch.detail.sheet}!${r},${c}`, { kind: ch.kind, until });
      activeSheet = ch.detail.sheet;
      $("xl-changes").textContent = `${ch.kind === "read" ? "Read" : "Written"}: ${ch.detail.sheet}!${ch.detail.address} at ${new Date().toLocaleTimeString()}`;
    }
    renderWorkbook(inst);
    setTimeout(() => renderWorkbook(inst), 5100);
  });
  $("select-form").onsubmit = (ev) => {
    ev.preventDefault();
    const v = $("select-input").value.trim().toUpperCase();
    if (!inst.parseA1(v)) {
      $("xl-changes").textContent = `"${v}" is not a range such as B2:D4.`;
      return;
    }
    inst.select(activeSheet, v);
  };
}

// ---------------------------------------------------------------- PowerPoint
function renderDeck(inst, changedSlides = new Set()) {
  const deck = inst.env.deck;
  $("pp-name").textContent = deck.name;
  const items = deck.slides.map((slide, i) => {
    const shapes = slide.shapes.map((s) => {
      const style = `left:${(s.left / 960) * 100}%;top:${(s.top / 540) * 100}%;width:${(s.width / 960) * 100}%;height:${(s.height / 540) * 100}%`;
      const el = h("div", { class: `shape ${s.type}`, style, title: s.name });
      if (s.table) el.append(h("table", {}, ...s.table.map((row) => h("tr", {}, ...row.map((c) => h("td", {}, c))))));
      else if (s.image) el.append(h("img", { src: `data:image/png;base64,${s.image}`, alt: s.name }));
      else if (s.text) el.textContent = s.text;
      return el;
    });
    return h(
      "li",
      {},
      h("div", { class: `slide${changedSlides.has(slide.id) ? " changed" : ""}`, role: "img", "aria-label": `Slide ${i + 1}: ${slide.shapes.map((s) => s.text || (s.table ? "table" : s.image ? "picture" : "")).filter(Boolean).join("; ").slice(0, 300)}` }, ...shapes),
      h("span", {}, `Slide ${i + 1}${deck.selected === i ? " (selected)" : ""}`),
    );
  });
  $("slides").replaceChildren(...items);
}

function attachPowerPoint(inst) {
  renderDeck(inst);
  inst.subscribe((changes) => {
    const changed = new Set(changes.map((c) => c.detail?.slide).filter(Boolean));
    renderDeck(inst, changed);
    if (changes.length) $("pp-changes").textContent = `The deck changed at ${new Date().toLocaleTimeString()}`;
    setTimeout(() => renderDeck(inst), 5000);
  });
}

// ---------------------------------------------------------------- options
function reloadWith(frame, base, missing) {
  const q = new URLSearchParams({ standin: "1" });
  q.set("host", base.includes("excel") ? "excel" : "powerpoint");
  if (missing) q.set("missing", missing);
  frame.src = `${base}?${q}`;
}
$("no-tables").addEventListener("change", (e) => reloadWith(ppFrame, "../powerpoint/taskpane.html", e.target.checked ? "PowerPointApi 1.8" : ""));
$("no-props").addEventListener("change", (e) => reloadWith(xlFrame, "../excel/taskpane.html", e.target.checked ? "ExcelApi 1.7" : ""));

whenReady(xlFrame, attachExcel);
whenReady(ppFrame, attachPowerPoint);

// ---------------------------------------------------------------- the bar
// Run demo agent: the bridge acts as an agent's client (POST /playground/demo-agent, only
// with `serve --playground`), through its real MCP tools: what it reads and writes lands in
// the panes like any agent's.
const demoButton = $("demo-run");
/** Each step of the demo in words: [done, could not …]. */
const STEP_WORDS = {
  excel_read_range: ["read Revenue!A1:D4 from the workbook", "read Revenue!A1:D4 from the workbook"],
  ppt_add_table: ["wrote it, in millions, as a table on slide 2 of the deck", "write it into the deck"],
};
const demoStatus = $("demo-status");

function say(text, kind = "") {
  demoStatus.className = `small${kind ? ` ${kind}` : ""}`;
  demoStatus.textContent = text;
}

demoButton.addEventListener("click", async () => {
  demoButton.disabled = true;
  say("The demo agent reads Revenue!A1:D4 from the workbook and writes it into slide 2 of the deck. Watch the panes; if office-bridge holds the write for your approval, answer it in the PowerPoint pane.");
  try {
    const res = await fetch("/playground/demo-agent", { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(body?.error ?? `HTTP ${res.status}`);
    const steps = Array.isArray(body.steps) ? body.steps : [];
    const failed = steps.find((s) => !s.ok);
    if (failed) say(`The demo agent could not ${STEP_WORDS[failed.tool]?.[1] ?? String(failed.what ?? failed.tool)}: ${String(failed.text ?? "").slice(0, 400)}`, "error");
    else say(`Done: the demo agent ${steps.map((s) => STEP_WORDS[s.tool]?.[0] ?? String(s.what ?? s.tool)).join(", then ")}. Each pane's activity says how the transfer ended.`, "ok");
  } catch (e) {
    say(`The demo agent did not run: ${e?.message ?? e}`, "error");
  } finally {
    demoButton.disabled = false;
  }
});

// A bar that jumps to a waiting approval in either pane (same-origin frames: their DOM is
// read, never written, except to move the focus to the approvals' heading).
const PANES = [
  { frame: xlFrame, name: "Excel" },
  { frame: ppFrame, name: "PowerPoint" },
];

function waiting() {
  for (const p of PANES) {
    let doc = null;
    try {
      doc = p.frame.contentDocument;
    } catch {
      doc = null;
    }
    const cards = doc ? doc.querySelectorAll("#approvals article.card") : [];
    if (cards.length) return { ...p, doc, count: cards.length, headline: cards[0].querySelector("h3")?.textContent ?? "" };
  }
  return null;
}

let shown = "";
function renderWaiting() {
  const w = waiting();
  const bar = $("waiting-bar");
  bar.hidden = !w;
  const text = w ? `${w.count === 1 ? "An approval is" : `${w.count} approvals are`} waiting in the ${w.name} pane: ${w.headline}` : "";
  if (text !== shown) {
    shown = text;
    $("waiting-text").textContent = text;
  }
}
setInterval(renderWaiting, 400);

$("waiting-go").addEventListener("click", () => {
  const w = waiting();
  if (!w) return;
  w.frame.scrollIntoView({ block: "start", behavior: "smooth" });
  const heading = w.doc.getElementById("approvals-h");
  w.doc.querySelector("#approvals article.card")?.scrollIntoView({ block: "nearest" });
  w.frame.contentWindow?.focus();
  // The region's heading, not a button: reading the card comes before answering it.
  heading?.focus();
});

// How to connect your own agent: this bridge's MCP URL and the command that prints its token.
$("mcp-url").textContent = `${location.origin}/mcp`;
for (const button of document.querySelectorAll("button[data-copy]")) {
  button.addEventListener("click", async () => {
    const text = $(button.dataset.copy).textContent;
    try {
      await navigator.clipboard.writeText(text);
      $("copy-status").textContent = `Copied: ${text}`;
    } catch {
      // No clipboard access (a browser setting): select it for Ctrl+C instead.
      const range = document.createRange();
      range.selectNodeContents($(button.dataset.copy));
      const sel = getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      $("copy-status").textContent = "Selected: press Ctrl+C (⌘C) to copy";
    }
  });
}
