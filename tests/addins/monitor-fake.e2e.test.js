// The monitor page in Chromium against the fake bridge's events API (fake-bridge.mjs), so the
// lifecycle of a transfer can be driven event by event without the Rust bridge: one row per
// transfer rewritten in place (flow, approval_resolved, flow_outcome), the graph counting
// only written values and coloured by what reached the target, and after a reload the rows
// built from /v1/flows with the right words. Skipped when Chromium is absent, except under
// CI=true. (monitor.e2e.test.js runs the same page against the real bridge.)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startFakeBridge } from "./fake-bridge.mjs";
import { CHROMIUM_ARGS } from "./helpers/bridge-process.mjs";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const CI = process.env.CI === "true";
const OUT = join(dirname(fileURLToPath(import.meta.url)), "../output");
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && CI) throw new Error(`Chromium not found at ${CHROMIUM}; under CI=true the browser tests may not be skipped`);
const skip = haveChromium ? false : `Chromium not found at ${CHROMIUM} (apt-get install chromium)`;

let bridge, browser, page;
const problems = [];

const Q3 = { app: "excel", name: "Q3.xlsx", id: "doc_q3" };
const BOARD = { app: "powerpoint", name: "Board.pptx", id: "doc_board" };
const BUDGET = { app: "excel", name: "Budget.xlsx", id: "doc_budget" };
const T0 = Date.now() - 60000;
const summary = (id, extra = {}) => ({
  flow_id: id,
  write_id: `wr_${id}`,
  source: Q3,
  sheet: "Revenue",
  cells: "A1:D4",
  cell_count: 16,
  target: BOARD,
  location: "slide 3",
  matched: 12,
  confidence: 0.97,
  strength: "confirmed",
  sensitivity: "confidential",
  explicit: false,
  decision: "ask",
  reason: "confidential data needs your approval",
  line: "12 values from Q3.xlsx > Revenue!A1:D4 moved into Board.pptx slide 3",
  outcome: "pending",
  written: null,
  ...extra,
});

before(async () => {
  if (skip) return;
  mkdirSync(OUT, { recursive: true });
  bridge = await startFakeBridge();
  const { chromium } = await import("playwright-core");
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" || /Content Security Policy/i.test(m.text())) problems.push(`console: ${m.text()}`);
  });
});

after(async () => {
  await browser?.close();
  await bridge?.close();
});

const flowRows = () => page.$$eval("#feed > li[data-group=flows]", (items) => items.map((li) => ({ title: li.querySelector(".row-title").textContent, badge: li.querySelector(".row-badge").textContent, detail: li.querySelector(".row-detail")?.textContent ?? "" })));
const edge = (source, kind = "moved") => page.$eval(`#graph svg g.edge[data-source='${source}'][data-kind='${kind}']`, (g) => ({ ...g.dataset }));
const edgeCount = (source) => page.$$eval(`#graph svg g.edge[data-source='${source}']`, (gs) => gs.length);
const waitStream = async () => {
  const t0 = Date.now();
  while (bridge.streams < 1) {
    if (Date.now() - t0 > 10000) throw new Error("the monitor did not open /v1/events");
    await new Promise((r) => setTimeout(r, 50));
  }
};

test("a held transfer, then approved and written: one row, rewritten in place; the waiting arrow becomes a green one", { skip }, async () => {
  await page.goto(`${bridge.origin}/monitor/#token=${bridge.token}`);
  await page.waitForSelector("#conn[data-state=live]", { timeout: 15000 });
  await waitStream();
  const flow = summary(1);
  bridge.emit("flow", { at: T0 + 1000, flow });
  const req = { approval_id: "apr_1", write_id: "wr_1", flow_id: 1, target: BOARD, kind: "flow", flow, expires_at: Date.now() + 120000, line: flow.line };
  bridge.approvals.powerpoint.push({ ...req, held: { kind: "flow", flow } });
  bridge.emit("approval_requested", req);
  await page.waitForSelector("#approvals article.card");
  await page.waitForSelector("#graph svg g.edge[data-source='Q3.xlsx'][data-decision='ask']");
  let rows = await flowRows();
  assert.deepEqual(rows.map((r) => [r.title, r.badge]), [["Waiting to go to Board.pptx, slide 3: 12 values from Q3.xlsx > Revenue!A1:D4", "Waiting for approval"]]);
  assert.equal((await edge("Q3.xlsx", "waiting")).values, "12");
  assert.equal(await edgeCount("Q3.xlsx"), 1, "nothing has moved while it is held: no green arrow");
  // Answered on the monitor: the card goes; the bridge's events follow.
  const answered = bridge.next("approval.answer");
  await page.getByRole("button", { name: /^Allow once/ }).click();
  assert.deepEqual(await answered, { approval_id: "apr_1", decision: "allow", scope: "once" });
  bridge.emit("approval_resolved", { approval_id: "apr_1", state: "allowed", decided_by: "desktop", scope: "once", write_id: "wr_1", flow_id: 1, reason: "", at: T0 + 5000 });
  await page.waitForFunction(() => /Approved, being written/.test(document.getElementById("feed").textContent));
  bridge.emit("flow_outcome", { flow_id: 1, write_id: "wr_1", outcome: "approved", written: true, decided_by: "desktop", reason: "", at: T0 + 6000 });
  await page.waitForSelector("#graph svg g.edge[data-source='Q3.xlsx'][data-decision='allow']");
  rows = await flowRows();
  assert.equal(rows.length, 1, `one row for the transfer: ${JSON.stringify(rows)}`);
  assert.deepEqual([rows[0].title, rows[0].badge], ["Moved into Board.pptx, slide 3: 12 values from Q3.xlsx > Revenue!A1:D4", "Approved, moved"]);
  assert.match(rows[0].detail, /^answered on the desktop/);
  assert.deepEqual(await edge("Q3.xlsx").then((e) => [e.values, e.count]), ["12", "1"]);
  assert.equal(await edgeCount("Q3.xlsx"), 1, "the waiting arrow is gone");
});

test("a blocked transfer beside allowed ones: its own red arrow; the green one keeps only what moved", { skip }, async () => {
  bridge.emit("flow", { at: T0 + 7000, flow: summary(2, { decision: "allow", outcome: "pending", written: null, matched: 4 }) });
  bridge.emit("flow_outcome", { flow_id: 2, write_id: "wr_2", outcome: "allowed", written: true, decided_by: null, reason: "", at: T0 + 7100 });
  bridge.emit("flow", { at: T0 + 8000, flow: summary(3, { decision: "block", reason: "confidential data may not leave Q3.xlsx", outcome: "blocked", written: false, matched: 50 }) });
  bridge.emit("flow_outcome", { flow_id: 3, write_id: "wr_3", outcome: "blocked", written: false, decided_by: null, reason: "", at: T0 + 8000 });
  await page.waitForSelector("#graph svg g.edge[data-source='Q3.xlsx'][data-kind='kept']");
  const e = await edge("Q3.xlsx");
  assert.deepEqual([e.decision, e.values, e.count], ["allow", "16", "2"]);
  const k = await edge("Q3.xlsx", "kept");
  assert.deepEqual([k.decision, k.values, k.count], ["block", "50", "1"]);
  assert.match(await page.textContent("#graph svg .labels"), /16 values moved · 50 kept out/);
  const rows = await flowRows();
  assert.equal(rows.length, 3, JSON.stringify(rows));
  assert.deepEqual([rows[0].title, rows[0].badge], ["Kept out of Board.pptx, slide 3: 50 values from Q3.xlsx > Revenue!A1:D4", "Blocked"]);
  // A transfer held and denied from another workbook: nothing ever moved on that edge: red.
  bridge.emit("flow", { at: T0 + 9000, flow: summary(4, { source: BUDGET, matched: 6 }) });
  bridge.emit("approval_resolved", { approval_id: "apr_4", state: "denied", decided_by: "pane", scope: "once", write_id: "wr_4", flow_id: 4, reason: "", at: T0 + 9500 });
  bridge.emit("flow_outcome", { flow_id: 4, write_id: "wr_4", outcome: "denied", written: false, decided_by: "pane", reason: "", at: T0 + 9500 });
  await page.waitForSelector("#graph svg g.edge[data-source='Budget.xlsx'][data-kind='kept'][data-decision='block']");
  assert.equal(await edgeCount("Budget.xlsx"), 1, "nothing moved from Budget.xlsx: only its kept-out arrow");
  const table = await page.$$eval("#graph-rows tr", (trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent.trim())));
  // From, to, values moved, values kept out, values waiting, transfers.
  assert.deepEqual(table, [
    ["Q3.xlsx", "Board.pptx", "16", "50", "0", "3"],
    ["Budget.xlsx", "Board.pptx", "0", "6", "0", "1"],
  ]);
  assert.equal((await flowRows()).length, 4, "held then denied: one row, not two or three");
  await page.screenshot({ path: join(OUT, "monitor-outcomes.png"), fullPage: true });
});

test("after a reload the rows come from /v1/flows with their outcomes; only a pending held one is waiting", { skip }, async () => {
  const row = (id, extra) => ({ ...summary(id), at: T0 + id * 1000, ...extra });
  bridge.flows.splice(0, bridge.flows.length,
    row(14, { decision: "ask", outcome: "pending", written: null, decided_by: null, source: BUDGET, cells: "B1:B2" }),
    row(13, { decision: "ask", outcome: "expired", written: false, decided_by: "bridge" }),
    row(12, { decision: "ask", outcome: "denied", written: false, decided_by: "desktop" }),
    row(11, { decision: "ask", outcome: "approved", written: true, decided_by: "pane" }),
    row(10, { decision: "allow", outcome: "allowed", written: true, decided_by: null }),
  );
  await page.reload();
  await page.waitForSelector("#conn[data-state=live]", { timeout: 15000 });
  await page.waitForFunction(() => document.querySelectorAll("#feed > li[data-group=flows]").length === 5);
  const rows = await flowRows();
  assert.deepEqual(rows.map((r) => r.badge), ["Waiting for approval", "Expired", "Denied", "Approved, moved", "Moved"]);
  assert.deepEqual(rows.map((r) => r.title.split(":")[0]), ["Waiting to go to Board.pptx, slide 3", "Expired, kept out of Board.pptx, slide 3", "Kept out of Board.pptx, slide 3", "Moved into Board.pptx, slide 3", "Moved into Board.pptx, slide 3"]);
  assert.ok(rows.every((r) => /before this page opened$/.test(r.detail)), JSON.stringify(rows));
  const e = await edge("Q3.xlsx");
  assert.deepEqual([e.decision, e.values, e.count], ["allow", "24", "2"]);
  assert.deepEqual(await edge("Q3.xlsx", "kept").then((k) => [k.values, k.count]), ["24", "2"]);
  assert.equal((await edge("Budget.xlsx", "waiting")).decision, "ask");
  // The held one ends later: its row is rewritten, not added.
  bridge.emit("flow_outcome", { flow_id: 14, write_id: "wr_14", outcome: "expired", written: false, decided_by: "bridge", reason: "the bridge restarted", at: Date.now() });
  await page.waitForSelector("#graph svg g.edge[data-source='Budget.xlsx'][data-kind='kept'][data-decision='block']");
  const after = await flowRows();
  assert.equal(after.length, 5);
  assert.deepEqual([after[0].badge, /the bridge restarted/.test(after[0].detail)], ["Expired", true]);
});

test("a card whose approval no longer exists goes when the page reconnects; while down, cards cannot be answered and stop counting", { skip }, async () => {
  const flow = summary(21, { source: BUDGET, cells: "C1:C9" });
  bridge.emit("flow", { at: Date.now(), flow });
  const req = { approval_id: "apr_gone", write_id: "wr_21", flow_id: 21, target: BOARD, kind: "flow", flow, action: "add a table to slide 3", expires_at: Date.now() + 120000, line: flow.line };
  bridge.emit("approval_requested", req);
  const card = await page.waitForSelector("#approvals article.card[data-approval='apr_gone']");
  assert.match(await card.$eval("h3", (h) => h.textContent), /^The agent wants to add a table to slide 3 of Board\.pptx with 12 confidential values from Budget\.xlsx > Revenue!C1:C9$/);
  // The bridge's stream ends (it restarted, say); the approval is not in its list any more.
  const streamsBefore = bridge.streams;
  assert.ok(streamsBefore >= 1);
  // Slow the reconnect down enough to look at the page while it is not live.
  await page.route("**/v1/events", async (route) => {
    await new Promise((r) => setTimeout(r, 1500));
    await route.continue();
  });
  bridge.dropStreams();
  await page.waitForSelector("#conn:not([data-state=live])", { timeout: 5000 });
  assert.equal(await page.locator("#approvals article.card[data-approval='apr_gone'] button[data-decision=allow]").first().isDisabled(), true);
  assert.equal(await page.isVisible("#approvals article.card[data-approval='apr_gone'] .countdown"), false, "the countdown stops");
  assert.match(await page.textContent("#approvals article.card[data-approval='apr_gone'] .message"), /answers wait for the connection/);
  await page.unroute("**/v1/events");
  await page.waitForSelector("#conn[data-state=live]", { timeout: 15000 });
  await page.waitForSelector("#approvals article.card[data-approval='apr_gone']", { state: "detached", timeout: 5000 });
  assert.equal(await page.isVisible("#approvals-empty"), true);
});

test("the monitor raises no CSP complaints or page errors", { skip }, () => {
  // The stream dropped on purpose is logged by Chromium; anything else is a problem.
  assert.deepEqual(problems.filter((p) => !/ERR_INCOMPLETE_CHUNKED_ENCODING/.test(p)), []);
});
