// An approval as a policy tip, shared by the panes (approvals.js) and the monitor: one line
// saying what the agent wants to do, with what and from where ("The agent wants to add a
// table to slide 2 with 12 confidential values from Q3.xlsx > Revenue!A1:D4"), a preview of
// what it would write, one line of why with a Details disclosure for the rest, Allow once and
// Block on one row, and "Always for this deck" as a separate, quieter choice. The three
// kinds of approval (a transfer, a deletion, a write after instruction-like text) have the
// same shape.
//
// Everything here comes from the bridge, and the preview from the agent's write: text only
// (ui.js `h`), never markup.

import { describeApproval, explainWhy, formatCountdown, h, levelWords, sensitivityClass } from "./ui.js";

const obj = (v) => (v && typeof v === "object" && !Array.isArray(v) ? v : {});
const str = (v) => (typeof v === "string" ? v.slice(0, 500) : typeof v === "number" && Number.isFinite(v) ? String(v) : "");

/** The write's preview as the bridge sends it: {rows: [[text]], more}; [] when absent. */
export function previewOf(req) {
  const p = obj(req?.preview);
  const rows = Array.isArray(p.rows) ? p.rows.filter(Array.isArray).slice(0, 8).map((r) => r.slice(0, 8).map(str)) : [];
  return { rows, more: p.more === true };
}

/**
 * The tip's words: {kind, headline, reason, subject, location, flowId, details: [[term,
 * value]]}. `here`: the card is in the target document's own pane, which is "this deck"
 * there; on the monitor the document is named.
 */
export function tipWords(req, { here = false, noun = "deck" } = {}) {
  const r = obj(req);
  const a = describeApproval(r);
  const f = a.flow;
  const kind = obj(r.held).kind ?? r.kind ?? "flow";
  const targetName = str(obj(r.target).name) || f.targetName || `this ${noun}`;
  const inDoc = here ? `this ${noun}` : targetName;
  const action = str(r.action);
  let headline;
  if (kind === "deletion") {
    headline = `The agent wants to delete ${a.what} from ${inDoc}`;
  } else if (kind === "after_instructions") {
    const doing = action ? `${action}${here ? "" : ` of ${targetName}`}` : `write to ${inDoc}`;
    headline = `The agent wants to ${doing} after reading text that looks like instructions aimed at it`;
  } else {
    const doing = action ? `${action}${here ? "" : ` of ${targetName}`}` : `put data into ${inDoc}${f.location ? `, ${f.location}` : ""}`;
    const count = f.matched ? f.matched.replace(/ values?$/, (m) => `${f.level === "confidential" ? " confidential" : ""}${m}`) : `${f.level === "confidential" ? "confidential " : ""}data`;
    headline = `The agent wants to ${doing} with ${count} from ${f.from}`;
  }
  // One line of why: the decision as data (explainWhy), else the bridge's sentence.
  const reason = kind === "after_instructions" ? explainWhy(obj(r.flow).why ?? obj(r.held).why ?? r.why) || "The agent read text that looks like instructions aimed at it" : f.because;
  const full = str(obj(r.flow).reason) || str(obj(r.held).reason);
  const details =
    kind === "flow"
      ? [
          ["From", f.from],
          ["To", [targetName, f.location].filter(Boolean).join(", ")],
          ["What", f.matched ? `${f.matched} matched${f.how ? ` (${f.how})` : ""}` : ""],
          ["Sensitivity", h("span", { class: `badge ${sensitivityClass(f.level)}` }, levelWords(f.level))],
          ["Why held", full || f.because],
        ]
      : [
          ["In", [targetName, kind === "deletion" ? a.what : action].filter(Boolean).join(", ")],
          ["Why held", full || f.because],
        ];
  return {
    kind,
    deletion: kind !== "flow",
    headline,
    reason,
    subject: a.subject,
    sourceName: f.sourceName,
    from: f.from,
    targetName,
    location: kind === "flow" ? f.location : "",
    flowId: kind === "flow" ? (r.flow_id ?? obj(r.flow).flow_id ?? obj(obj(r.held).flow).flow_id ?? null) : null,
    details: details.filter(([, v]) => v),
  };
}

let seq = 0;

/**
 * Builds a policy-tip card. `decide(decision, scope)` answers it; `always` is the label of
 * the standing choice ("Always for this deck"), offered for transfers only. Returns {el,
 * words, buttons, countdown, timer, message, setPreview, setPaused}.
 */
export function renderTip(req, { here = false, noun = "deck", always = `Always for this ${noun}`, expiresAt, now = Date.now(), enabled = true, decide, idAttr = "data-approval-id" }) {
  const w = tipWords(req, { here, noun });
  const n = ++seq;
  const titleId = `tip-${n}-title`;
  const countdown = h("strong", {}, formatCountdown(expiresAt - now));
  // role=timer is aria-live off: the region announces the new card, not every second.
  const timer = h("span", { class: "countdown", role: "timer", "aria-live": "off" }, "Blocked automatically in ", countdown);
  const message = h("p", { class: "message", role: "status" });
  const button = (label, cls, decision, scope, aria) =>
    h("button", { type: "button", class: cls, "aria-label": aria, "data-decision": decision, "data-scope": scope, disabled: !enabled, onclick: () => decide(decision, scope) }, label);
  const what = w.deletion ? w.subject : `content from ${w.from}${here ? "" : ` into ${w.targetName}`}`;
  const buttons = [button("Allow once", "primary", "allow", "once", `Allow once: ${what}`), button("Block", "danger", "deny", "once", `Block: ${what}`)];
  if (!w.deletion) buttons.push(button(always, "link always", "allow", "document", `${always}: always allow content from ${w.sourceName} in ${here ? `this ${noun}` : w.targetName}`));
  const preview = h("div", { class: "tip-preview" });
  const setPreview = (raw) => {
    const p = previewOf(raw);
    preview.hidden = p.rows.length === 0;
    if (!p.rows.length) return preview.replaceChildren();
    const single = p.rows.length === 1 && p.rows[0].length === 1;
    const parts = [
      h("span", { class: "tip-preview-label" }, "What it would write"),
      single
        ? h("p", { class: "tip-preview-text" }, `${p.rows[0][0]}${p.more ? " …" : ""}`)
        : h("table", {}, h("tbody", {}, ...p.rows.map((row) => h("tr", {}, ...row.map((c) => h("td", {}, c)))))),
    ];
    if (!single && p.more) parts.push(h("span", { class: "tip-preview-more" }, "and more"));
    preview.replaceChildren(...parts);
  };
  setPreview(req);
  const el = h(
    "article",
    { class: `card tip tip-${w.kind}`, "aria-labelledby": titleId, [idAttr]: String(req?.approval_id ?? "") },
    h("h3", { id: titleId }, w.headline),
    preview,
    h(
      "div",
      { class: "tip-why" },
      w.reason ? h("p", { class: "tip-reason" }, w.reason) : null,
      h("details", { class: "tip-details" }, h("summary", {}, "Details"), h("dl", {}, ...w.details.map(([t, v]) => [h("dt", {}, t), h("dd", {}, v)]))),
    ),
    h("div", { class: "actions tip-actions" }, buttons[0], buttons[1]),
    h("div", { class: "tip-foot" }, buttons[2] ?? null, timer),
    message,
  );
  /** The bridge is out of reach: the countdown stops (the card cannot be answered now, and
   * what happens to the approval is the bridge's to say when it is back). */
  const setPaused = (paused) => {
    timer.classList.toggle("paused", paused);
    timer.hidden = paused;
  };
  return { el, words: w, buttons, countdown, timer, message, setPreview, setPaused };
}
