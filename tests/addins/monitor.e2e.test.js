// The monitor page (/monitor) against the real Rust bridge: set OFFICE_BRIDGE_BIN to the
// built binary (for example target/debug/office-bridge); skipped otherwise. Starts
// `office-bridge serve --port 0` on a throwaway data dir with an administrator policy that
// holds every cross-document transfer ({"flows": {"default": "ask"}}), gets the page's link
// from `office-bridge monitor`, and opens it in Chromium. Simulated panes (Q3.xlsx and
// Board.pptx) connect over wss from here; an MCP client written here reads the revenue range
// and writes the figures, reformatted, into the deck. The monitor shows the read, the held
// transfer and its approval card live; "Allow once" on the monitor releases the write, the
// deck's pane receives powerpoint.addTable, and the transfer is one row in the feed (held,
// then approved) and an arrow in the graph. A second transfer blocked on the monitor leaves
// the arrow green and its values uncounted; after a reload the rows keep their outcomes.
// Screenshots at 1280x800 and 800x900 go to tests/output/ for review.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CHROMIUM_ARGS, McpClient, SimPane, runCommand, sleep, startBridge, stopBridge } from "./helpers/bridge-process.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = process.env.OFFICE_BRIDGE_BIN ? resolve(ROOT, process.env.OFFICE_BRIDGE_BIN) : null;
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const skip = !BIN ? "set OFFICE_BRIDGE_BIN to a built office-bridge to run" : !existsSync(BIN) ? `${BIN} does not exist` : !existsSync(CHROMIUM) ? `Chromium not found at ${CHROMIUM}` : false;
const OUT = join(ROOT, "tests/output");

let bridge, browser, context, page, link, mcp;
const ask = {}; // what one test learns for the next (the approved transfer)
const panes = [];
const problems = [];

// ------------------------------------------------------------------ simulated documents

const REVENUE = {
  values: [
    ["Region", "Q1", "Q2", "Q3"],
    ["EMEA", 1234567.89, 1456789.12, 1611022.47],
    ["Americas", 2345678.91, 2567890.23, 2789012.35],
    ["APAC", 987654.32, 1098765.43, 1209876.54],
  ],
  text: [
    ["Region", "Q1", "Q2", "Q3"],
    ["EMEA", "$1,234,568", "$1,456,789", "$1,611,022"],
    ["Americas", "$2,345,679", "$2,567,890", "$2,789,012"],
    ["APAC", "$987,654", "$1,098,765", "$1,209,877"],
  ],
  numberFormat: [
    ["General", "General", "General", "General"],
    ["General", "$#,##0", "$#,##0", "$#,##0"],
    ["General", "$#,##0", "$#,##0", "$#,##0"],
    ["General", "$#,##0", "$#,##0", "$#,##0"],
  ],
};

function workbook(method, params) {
  switch (method) {
    case "excel.readRange":
    case "excel.getSelection":
      return { sheet: "Revenue", address: params.address ?? "A1:D4", ...REVENUE };
    case "excel.listSheets":
      return { sheets: [{ name: "Revenue", position: 0, visible: "Visible" }] };
    case "excel.listCharts":
      return { charts: [] };
    default:
      throw { code: -32601, message: `no ${method}` };
  }
}

function deck(method) {
  switch (method) {
    case "powerpoint.listSlides":
      return { slides: [1, 2, 3].map((i) => ({ id: String(255 + i), index: i, shapes: [{ id: "1", name: "Title", text: `Slide ${i}` }] })) };
    case "powerpoint.readSlide":
      return { id: "256", index: 1, shapes: [{ id: "1", name: "Title", text: "Board meeting" }] };
    case "powerpoint.addTable":
    case "powerpoint.addTextBox":
      return { shape_id: "9" };
    default:
      throw { code: -32601, message: `no ${method}` };
  }
}

// ------------------------------------------------------------------ page helpers

/** The feed's rows, newest first, as text. */
const feedRows = () => page.$$eval("#feed > li", (items) => items.map((li) => li.innerText.replace(/\s+/g, " ").trim()));

/** True when the page has no horizontal scrollbar. */
const fitsWidth = () => page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth);

async function shoot(name, width, height) {
  await page.setViewportSize({ width, height });
  await page.waitForTimeout(150); // the layout settles (one frame is enough; a little margin)
  assert.equal(await fitsWidth(), true, `no horizontal scrollbar at ${width} px`);
  await page.screenshot({ path: join(OUT, name) });
}

// ------------------------------------------------------------------ setup

before(async () => {
  if (skip) return;
  mkdirSync(OUT, { recursive: true });
  bridge = await startBridge(BIN, "monitor", { flows: { default: "ask" } });
  const { chromium } = await import("playwright-core");
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
  mcp = new McpClient(bridge);
});

after(async () => {
  for (const p of panes) p.close();
  mcp?.close();
  await browser?.close();
  await stopBridge(bridge);
  if (bridge?.dir) rmSync(bridge.dir, { recursive: true, force: true });
});

function watch(p, name) {
  p.on("pageerror", (e) => problems.push(`${name}: pageerror: ${e.message}`));
  p.on("console", (m) => {
    if (m.type() === "error" || /Content Security Policy/i.test(m.text())) problems.push(`${name}: console ${m.type()}: ${m.text()}`);
  });
}

// ------------------------------------------------------------------ the tests

test("`office-bridge monitor` prints the page's link with the desktop token in its fragment", { skip }, async () => {
  const r = await runCommand(BIN, ["--data-dir", bridge.dataDir, "monitor"], { env: bridge.env });
  assert.equal(r.code, 0, r.stderr);
  link = r.stdout.trim();
  assert.equal(link, `https://localhost:${bridge.port}/monitor/#token=${bridge.desktopToken}`);
  assert.ok(!link.includes(bridge.token), "never the agent's token");
  assert.equal(r.stderr, "", "a running bridge was found: no warning");
});

test("without its key the page says how to get the link, and calls nothing", { skip }, async () => {
  const p = await context.newPage();
  watch(p, "no-token");
  const requests = [];
  p.on("request", (req) => requests.push(new URL(req.url()).pathname));
  await p.goto(`${bridge.origin}/monitor`); // no slash: redirected to /monitor/
  assert.equal(new URL(p.url()).pathname, "/monitor/");
  await p.waitForSelector("#no-token", { state: "visible" });
  assert.match(await p.textContent("#no-token"), /office-bridge monitor --open/);
  // A pasted key must be the desktop one: the agent's token cannot answer approvals.
  assert.match(await p.textContent("label[for=token-input]"), /office-bridge token show --desktop/);
  assert.equal(await p.isVisible("#monitor"), false);
  assert.equal(await p.getAttribute("#conn", "data-state"), "stopped");
  await p.screenshot({ path: join(OUT, "monitor-no-token.png") });
  assert.deepEqual(
    requests.filter((r) => r.startsWith("/v1/")),
    [],
    "no API call without a token",
  );
  await p.close();
});

test("with the link: the token leaves the address bar, the stream is live, the policy is shown", { skip }, async () => {
  page = await context.newPage();
  watch(page, "monitor");
  const sent = [];
  page.on("request", (req) => sent.push(req.url()));
  // The link without the folder's slash still works: the fragment survives the redirect.
  await page.goto(link.replace("/monitor/#", "/monitor#"));
  await page.waitForSelector("#conn[data-state=live]", { timeout: 15000 });
  assert.equal(page.url(), `${bridge.origin}/monitor/`, "no #token left in the address bar");
  assert.ok(!sent.some((u) => u.includes(bridge.desktopToken)), "the token is never in a URL the browser requested");
  assert.equal(await page.evaluate(() => sessionStorage.getItem("office-bridge.monitor.token")), bridge.desktopToken);
  assert.equal(await page.textContent("#conn-text"), "Live");
  assert.match(await page.textContent("#version"), /^bridge \d+\.\d+\.\d+/);
  // The effective policy: where it came from, and which values the file set.
  await page.waitForSelector("#policy-rows tr[data-path='flows.default']");
  const row = (await page.textContent("#policy-rows tr[data-path='flows.default']")).replace(/\s+/g, " ");
  assert.match(row, /held for your approval/);
  assert.match(row, /policy file/);
  assert.match((await page.textContent("#policy-rows tr[data-path='deletions']")).replace(/\s+/g, " "), /default/);
  assert.match(await page.textContent("#policy-source"), /policy\.json/);
  assert.equal(await page.isVisible("#policy-error"), false);
  assert.equal(await page.isVisible("#docs-empty"), true);
  assert.equal(await page.isVisible("#graph-empty"), true);
  // A reload keeps the key for this tab (sessionStorage) without the fragment.
  await page.reload();
  await page.waitForSelector("#conn[data-state=live]", { timeout: 15000 });
});

test("documents appear as their panes connect", { skip }, async () => {
  panes.push(await SimPane.open(bridge, "excel", "Q3.xlsx", workbook));
  panes.push(await SimPane.open(bridge, "powerpoint", "Board.pptx", deck));
  await page.waitForSelector("#docs li[data-name='Q3.xlsx']");
  await page.waitForSelector("#docs li[data-name='Board.pptx']");
  const docs = (await page.textContent("#docs")).replace(/\s+/g, " ");
  assert.match(docs, /Excel: Q3\.xlsx/);
  assert.match(docs, /PowerPoint: Board\.pptx/);
  assert.match(docs, /Connected since/);
  assert.equal(await page.isVisible("#docs-empty"), false);
  const rows = await feedRows();
  assert.ok(rows.some((r) => /^Board\.pptx connected \(PowerPoint\)/.test(r)), rows.join("\n"));
});

test("a transfer happens live: held, answered with Allow once on the monitor, written", { skip }, async () => {
  const [excel, ppt] = panes;
  await mcp.connect();
  const read = await mcp.callTool("excel_read_range", { sheet: "Revenue", range: "A1:D4" });
  assert.equal(read.isError, false, JSON.stringify(read));
  await page.waitForFunction(() => /The agent read Q3\.xlsx > Revenue!A1:D4/.test(document.getElementById("feed").textContent));
  assert.ok(excel.received.some((r) => r.method === "excel.readRange"));

  const millions = (v) => `$${(v / 1e6).toFixed(2)}M`;
  const rows = read.structuredContent.values.map((row, i) => (i === 0 ? row : [row[0], ...row.slice(1).map(millions)]));
  assert.deepEqual(rows[1], ["EMEA", "$1.23M", "$1.46M", "$1.61M"]);
  let settled = false;
  const call = mcp.callTool("ppt_add_table", { slide: 3, rows }).finally(() => (settled = true));
  call.catch(() => {}); // awaited below

  // The approval card, as the monitor shows it.
  const card = await page.waitForSelector("#approvals article.card", { timeout: 15000 });
  const cardText = (await card.innerText()).replace(/\s+/g, " ");
  assert.match(cardText, /^The agent wants to add a table to slide 3 of Board\.pptx with \d+ (confidential )?values? from Q3\.xlsx > Revenue![A-D]\d+(:[A-D]\d+)?/);
  // The preview comes from /v1/approvals (the event stream carries no values).
  await page.waitForSelector("#approvals article.card .tip-preview td");
  assert.match((await card.innerText()).replace(/\s+/g, " "), /What it would write Region Q1 Q2 Q3 EMEA \$1\.23M \$1\.46M \$1\.61M/);
  await card.$eval("details", (d) => (d.open = true));
  const details = (await card.innerText()).replace(/\s+/g, " ");
  assert.match(details, /From Q3\.xlsx > Revenue![A-D]\d+(:[A-D]\d+)?/);
  assert.match(details, /To Board\.pptx, slide 3/);
  assert.match(details, /\d+ values matched/);
  assert.match(details, /Blocked automatically in [12]:\d\d/);
  await card.$eval("details", (d) => (d.open = false));
  for (const name of [/^Allow once/, /^Always for this deck/, /^Block: content/]) assert.equal(await page.getByRole("button", { name }).isEnabled(), true, String(name));
  assert.equal(await page.textContent("#approvals-count"), "1");
  assert.match(await page.title(), /^\(1\) /);
  // Held: nothing written yet, the agent still waits.
  await sleep(300);
  assert.equal(settled, false, "the tool call waits for the person");
  assert.ok(!ppt.received.some((r) => r.method === "powerpoint.addTable"), "nothing written while held");
  // The feed and the graph show the held transfer already.
  await page.waitForSelector("#feed li[data-group=flows] .badge.d-ask");
  const edge = await page.waitForSelector("#graph svg g.edge[data-source='Q3.xlsx'][data-target='Board.pptx'][data-kind='waiting']");
  assert.equal(await edge.getAttribute("data-decision"), "ask");
  assert.equal(await page.locator("#graph svg g.edge[data-kind='moved']").count(), 0, "nothing has moved while it is held");
  assert.ok(Number(await edge.getAttribute("data-count")) >= 1);

  // For review: the monitor with the card held, at both widths; one column at 800 px.
  await shoot("monitor-held-1280.png", 1280, 800);
  const colA = await page.locator(".area-approvals").boundingBox();
  const colB = await page.locator(".area-docs").boundingBox();
  assert.ok(colB.x > colA.x + colA.width - 1, "two columns at 1280 px");
  await shoot("monitor-held-800.png", 800, 900);
  const a800 = await page.locator(".area-approvals").boundingBox();
  const d800 = await page.locator(".area-docs").boundingBox();
  assert.ok(d800.y > a800.y && Math.abs(d800.x - a800.x) < 1, "one column at 800 px, documents below approvals");
  // At 320 px the card is a policy tip still: Allow once and Block on one row.
  await shoot("monitor-held-320.png", 320, 900);
  const [allowBox, blockBox] = await Promise.all([page.getByRole("button", { name: /^Allow once/ }).boundingBox(), page.getByRole("button", { name: /^Block: content/ }).boundingBox()]);
  assert.ok(Math.abs(allowBox.y - blockBox.y) < 1, `one row at 320 px: ${JSON.stringify([allowBox, blockBox])}`);
  await page.setViewportSize({ width: 1280, height: 800 });

  // A monitor opened later shows the same: the card from /v1/approvals, the transfer from
  // /v1/flows; an answer given elsewhere takes its card away.
  const second = await context.newPage();
  watch(second, "second monitor");
  await second.goto(link);
  await second.waitForSelector("#conn[data-state=live]", { timeout: 15000 });
  await second.waitForSelector("#approvals article.card");
  await second.waitForSelector("#graph svg g.edge[data-source='Q3.xlsx'][data-target='Board.pptx'][data-kind='waiting']");
  await second.waitForFunction((line) => document.getElementById("feed").textContent.includes(line), (await page.$eval("#feed li[data-group=flows] .row-title", (el) => el.textContent)));

  // Answer with the keyboard: focus the button, press Enter.
  await page.getByRole("button", { name: /^Allow once/ }).focus();
  await page.keyboard.press("Enter");
  const result = await call;
  assert.equal(result.isError, false, JSON.stringify(result));
  const s = result.structuredContent;
  assert.equal(s.written, true, JSON.stringify(s));
  assert.equal(s.approvals.length, 1, JSON.stringify(s.approvals));
  assert.equal(s.approvals[0].allowed_by, "desktop", "answered through the desktop API, by the monitor");
  const table = await ppt.next("powerpoint.addTable");
  assert.equal(table.rows[1][1], "$1.23M");
  const flow = s.flows.find((f) => f.decision === "ask");
  assert.ok(flow, JSON.stringify(s.flows));

  await page.waitForSelector("#approvals article.card", { state: "detached" });
  await second.waitForSelector("#approvals article.card", { state: "detached" });
  await second.close();
  assert.equal(await page.isVisible("#approvals-empty"), true);
  // The keyboard stays in the section (the card and its buttons are gone).
  assert.equal(await page.evaluate(() => document.activeElement?.id), "approvals-h");
  await page.evaluate(() => document.activeElement?.blur());
  assert.equal(await page.isVisible("#approvals-count"), false);
  // The transfer's one row ends with its outcome (approval_resolved, then flow_outcome):
  // approved on the desktop and written. No second row, none left "Held for approval".
  await page.waitForFunction(() => [...document.querySelectorAll("#feed li[data-group=flows] .row-badge")].some((b) => b.textContent === "Approved, moved"), null, { timeout: 10000 });
  const feed = await feedRows();
  const transfer = feed.filter((r) => /from Q3\.xlsx > Revenue!/.test(r));
  assert.equal(transfer.length, s.flows.length, `one row per transfer: ${feed.join("\n")}`);
  const approved = transfer.find((r) => /Approved/.test(r));
  assert.match(approved, /^Moved into Board\.pptx, slide 3: \d+ values? from Q3\.xlsx > Revenue!\S+/);
  assert.match(approved, /answered on the desktop/);
  assert.ok(!feed.some((r) => /Waiting for approval/.test(r)), feed.join("\n"));
  // The graph: one arrow Q3.xlsx -> Board.pptx, weighted by the values moved, labelled.
  // (The values count once the write's outcome, written, has arrived: flow_outcome comes
  // after approval_resolved.)
  await page.waitForFunction((n) => document.querySelector("#graph svg g.edge[data-kind='moved']")?.dataset.values === String(n), flow.matched, { timeout: 10000 });
  const edges = await page.$$eval("#graph svg g.edge", (gs) => gs.map((g) => ({ ...g.dataset, label: g.querySelector("title").textContent, width: Number(g.querySelector(".edge-line").getAttribute("stroke-width")) })));
  assert.equal(edges.length, 1, JSON.stringify(edges));
  assert.equal(edges[0].source, "Q3.xlsx");
  assert.equal(edges[0].target, "Board.pptx");
  assert.equal(Number(edges[0].values), flow.matched);
  assert.equal(edges[0].count, "1");
  assert.equal(edges[0].decision, "allow", "approved and written: green, not orange");
  assert.ok(edges[0].width >= 2, JSON.stringify(edges));
  assert.match(await page.textContent("#graph svg .labels"), new RegExp(`${flow.matched} values`));
  const nodes = await page.$$eval("#graph svg g.node", (gs) => gs.map((g) => ({ name: g.dataset.name, x: g.transform.baseVal[0]?.matrix.e })));
  const x = Object.fromEntries(nodes.map((n) => [n.name, n.x]));
  assert.ok(x["Q3.xlsx"] < x["Board.pptx"], `the source on the left: ${JSON.stringify(nodes)}`);
  const cells = await page.$$eval("#graph-rows tr", (trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent.trim())));
  // From, to, values moved, kept out, waiting, transfers.
  assert.deepEqual(cells, [["Q3.xlsx", "Board.pptx", String(flow.matched), "0", "0", "1"]]);
  ask.flow = flow;

  await shoot("monitor-1280.png", 1280, 800);
  await shoot("monitor-800.png", 800, 900);
  await page.setViewportSize({ width: 1280, height: 800 });
});

test("keyboard only, two cards: Enter on one answers it and the focus goes to the heading, never to the other card's button", { skip }, async () => {
  const [, ppt] = panes;
  const writes = ppt.received.filter((r) => r.method === "powerpoint.addTable").length;
  const call = mcp.callTool("ppt_add_table", { slide: 2, from_range: { sheet: "Revenue", range: "A1:D4" } });
  call.catch(() => {});
  await page.waitForSelector("#approvals article.card", { timeout: 15000 });
  // A slide deletion waits too (from a second agent session): the next card after the one
  // answered.
  const other = new McpClient(bridge);
  await other.connect();
  const deletion = other.callTool("ppt_delete_slide", { slide: 3 }).finally(() => other.close());
  deletion.catch(() => {});
  await page.waitForFunction(() => document.querySelectorAll("#approvals article.card").length === 2, null, { timeout: 15000 });
  assert.match(await page.textContent("#approvals article.card:first-child h3"), /^The agent wants to delete slide 3 from Board\.pptx$/);
  // Tab to the transfer's Block, press Enter.
  const block = page.getByRole("button", { name: /^Block: content from Q3\.xlsx/ });
  await page.focus("#approvals-h");
  for (let i = 0; i < 12 && !(await block.evaluate((b) => b === document.activeElement)); i++) await page.keyboard.press("Tab");
  assert.equal(await block.evaluate((b) => b === document.activeElement), true, "Block is reached with Tab");
  await page.keyboard.press("Enter");
  const result = await call;
  assert.equal(result.isError, true, JSON.stringify(result));
  assert.equal(ppt.received.filter((r) => r.method === "powerpoint.addTable").length, writes, "nothing written");
  await page.waitForFunction(() => document.querySelectorAll("#approvals article.card").length === 1);
  assert.equal(await page.evaluate(() => document.activeElement?.id), "approvals-h", "the focus is on the region's heading");
  // A second Enter answers nothing: the deletion still waits.
  await page.keyboard.press("Enter");
  await sleep(500);
  assert.equal(await page.locator("#approvals article.card").count(), 1);
  assert.equal(ppt.received.some((r) => r.method === "powerpoint.deleteSlide"), false, "the slide was not deleted");
  await page.screenshot({ path: join(OUT, "monitor-keyboard-1280.png") });
  // The deletion is answered on purpose, with the keyboard too.
  const blockDeletion = page.getByRole("button", { name: /^Block: delete slide 3/ });
  for (let i = 0; i < 6 && !(await blockDeletion.evaluate((b) => b === document.activeElement)); i++) await page.keyboard.press("Tab");
  await page.keyboard.press("Enter");
  assert.equal((await deletion).isError, true);
  // The graph: the blocked values are their own red arrow; the green one keeps its count.
  await page.waitForSelector("#graph svg g.edge[data-source='Q3.xlsx'][data-kind='kept']", { timeout: 10000 });
  const moved = await page.$eval("#graph svg g.edge[data-source='Q3.xlsx'][data-kind='moved']", (g) => ({ ...g.dataset }));
  const kept = await page.$eval("#graph svg g.edge[data-source='Q3.xlsx'][data-kind='kept']", (g) => ({ ...g.dataset }));
  assert.deepEqual([moved.decision, moved.values, moved.count], ["allow", String(ask.flow.matched), "1"]);
  assert.deepEqual([kept.decision, kept.values, kept.count], ["block", "16", "1"]);
  assert.match(await page.textContent("#graph svg .labels"), new RegExp(`${ask.flow.matched} values moved · 16 kept out`));
  const rows = await feedRows();
  assert.ok(rows.some((r) => /^Kept out of Board\.pptx, slide 2: 16 values from Q3\.xlsx > Revenue!A1:D4/.test(r) && /Denied/.test(r)), rows.join("\n"));
  // The deletion's one row says how it ended.
  assert.equal(rows.filter((r) => /delete slide 3 from Board\.pptx/.test(r)).length, 1, rows.join("\n"));
  assert.equal(rows.filter((r) => /slide 2: 16 values from Q3\.xlsx > Revenue!A1:D4/.test(r)).length, 1, "held then blocked: one row");
});

test("a transfer nobody answers expires: its row says so, live", { skip }, async () => {
  // The administrator shortens the time to answer (the bridge reads its policy file live).
  writeFileSync(join(bridge.dir, "policy.json"), JSON.stringify({ flows: { default: "ask" }, approval_timeout_seconds: 2 }));
  await page.waitForSelector("#policy-rows tr[data-path='approval_timeout_seconds']:has-text('2 s')", { timeout: 10000 });
  const call = mcp.callTool("ppt_add_table", { slide: 1, from_range: { sheet: "Revenue", range: "B2:C3" } });
  await page.waitForSelector("#approvals article.card", { timeout: 15000 });
  const result = await call;
  assert.equal(result.isError, true, JSON.stringify(result));
  await page.waitForSelector("#approvals article.card", { state: "detached", timeout: 10000 });
  await page.waitForFunction(() => [...document.querySelectorAll("#feed li[data-group=flows]")].some((li) => /^Expired, kept out of Board\.pptx, slide 1: 4 values from Q3\.xlsx > Revenue!B2:C3/.test(li.innerText)), null, { timeout: 10000 });
  writeFileSync(join(bridge.dir, "policy.json"), JSON.stringify({ flows: { default: "ask" } }));
  await page.waitForSelector("#policy-rows tr[data-path='approval_timeout_seconds']:has-text('120 s')", { timeout: 10000 });
});

test("after a reload the rows come from /v1/flows with their outcomes (approved, denied, expired), never 'waiting'", { skip }, async () => {
  await page.reload();
  await page.waitForSelector("#conn[data-state=live]", { timeout: 15000 });
  await page.waitForSelector("#feed li[data-group=flows]");
  const rows = await feedRows();
  const transfers = rows.filter((r) => /from Q3\.xlsx > Revenue!/.test(r));
  assert.ok(transfers.some((r) => /^Moved into Board\.pptx, slide 3: /.test(r) && /Approved, moved/.test(r)), transfers.join("\n"));
  assert.ok(transfers.some((r) => /^Kept out of Board\.pptx, slide 2: /.test(r) && /Denied/.test(r)), transfers.join("\n"));
  assert.ok(transfers.some((r) => /^Expired, kept out of Board\.pptx, slide 1: /.test(r) && /Expired/.test(r)), transfers.join("\n"));
  assert.ok(!transfers.some((r) => /Waiting/.test(r)), transfers.join("\n"));
  const edge = await page.waitForSelector("#graph svg g.edge[data-source='Q3.xlsx'][data-target='Board.pptx'][data-kind='moved']");
  assert.equal(await edge.getAttribute("data-decision"), "allow");
  assert.equal(await edge.getAttribute("data-values"), String(ask.flow.matched));
  const kept = await page.$eval("#graph svg g.edge[data-source='Q3.xlsx'][data-kind='kept']", (g) => ({ ...g.dataset }));
  assert.deepEqual([kept.values, kept.count], ["20", "2"], "16 denied and 4 expired values, kept out");
  // For review, at the three widths.
  await shoot("monitor-reloaded-1280.png", 1280, 800);
  await shoot("monitor-reloaded-800.png", 800, 900);
  await shoot("monitor-reloaded-320.png", 320, 900);
  await page.setViewportSize({ width: 1280, height: 800 });
});

test("the page shows when the bridge goes away, and catches up when it is back", { skip }, async () => {
  for (const p of panes.splice(0)) p.close();
  await stopBridge(bridge);
  await page.waitForSelector("#conn[data-state=reconnecting]", { timeout: 15000 });
  await page.waitForFunction(() => /^office-bridge is not running: start it with `office-bridge serve`\. Retrying in \d+ s$/.test(document.getElementById("conn-text").textContent), null, { timeout: 15000 });
  assert.equal(await page.isVisible("#conn-retry"), true);
  // The countdown counts down.
  const secs = async () => Number(/Retrying in (\d+) s/.exec(await page.textContent("#conn-text"))?.[1]);
  const first = await secs();
  if (first > 1) await page.waitForFunction((n) => Number(/Retrying in (\d+) s/.exec(document.getElementById("conn-text").textContent)?.[1]) < n, first, { timeout: 3000 });
  // What the page shows is greyed and dated; documents are not shown as connected.
  await page.waitForSelector("#stale", { state: "visible" });
  assert.match(await page.textContent("#stale"), /^Not live: what this page shows is as of \d\d:\d\d/);
  assert.equal(await page.evaluate(() => document.body.classList.contains("is-stale")), true);
  assert.match(await page.textContent("#graph-h"), /as of \d\d:\d\d/);
  assert.equal(await page.locator("#docs li[data-state=connected]").count(), 0);
  await shoot("monitor-stale-1280.png", 1280, 800);
  await page.setViewportSize({ width: 1280, height: 800 });
  // The same port and data dir (token, CA): the page reconnects by itself or on "Retry now".
  const again = await startBridge(BIN, "monitor-again", { flows: { default: "ask" } }, { dataDir: bridge.dataDir, port: bridge.port, dir: bridge.dir });
  bridge.proc = again.proc;
  await page.click("#conn-retry");
  await page.waitForSelector("#conn[data-state=live]", { timeout: 20000 });
  // The documents list is the new bridge's (none connected); the history of flows is kept.
  await page.waitForSelector("#docs-empty", { state: "visible" });
  assert.equal(await page.locator("#graph svg g.edge").count(), 2, "the moved and the kept-out arrows");
  assert.equal(await page.isVisible("#stale"), false);
  assert.equal(await page.evaluate(() => document.body.classList.contains("is-stale")), false);
});

test("a policy file that cannot be used is shown with its error; the defaults are in force", { skip }, async () => {
  const broken = await startBridge(BIN, "monitor-broken-policy", { flows: { default: "sometimes" } });
  const p = await context.newPage();
  watch(p, "broken policy");
  try {
    await p.goto(`${broken.origin}/monitor/#token=${broken.desktopToken}`);
    await p.waitForSelector("#conn[data-state=live]", { timeout: 15000 });
    await p.waitForSelector("#policy-error", { state: "visible" });
    assert.match(await p.textContent("#policy-error-text"), /\S/);
    const row = (await p.textContent("#policy-rows tr[data-path='flows.default']")).replace(/\s+/g, " ");
    assert.match(row, /allowed, and you are told/);
    assert.match(row, /default/);
  } finally {
    await p.close();
    await stopBridge(broken);
    rmSync(broken.dir, { recursive: true, force: true });
  }
});

test("the monitor raises no CSP complaints or page errors", { skip }, () => {
  // A refused fetch while the bridge was down is logged by Chromium as a console error;
  // those are expected, anything else is not.
  const real = problems.filter((p) => !/net::ERR_CONNECTION_REFUSED|Failed to load resource/.test(p));
  assert.deepEqual([...new Set(real)], []);
});
