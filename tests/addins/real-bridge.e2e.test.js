// The panes against the real Rust bridge: set OFFICE_BRIDGE_BIN to the built binary
// (for example target/debug/office-bridge); skipped otherwise. Starts two
// `office-bridge serve --port 0` with throwaway data dirs and administrator policy files:
//  - bridge A holds every cross-document transfer for approval ({"flows": {"default": "ask"}});
//  - bridge B has the PowerPoint add-in switched off ({"addins": {"powerpoint": {"enabled": false}}}).
// Opens each bridge's playground (addins/ embedded in the binary, the bridge's own CSP) in
// Chromium with Office.js's CDN URL routed to the stand-in. On bridge A an MCP client
// (helpers/bridge-process.mjs: https + the bridge's CA + bearer token, Streamable HTTP) reads
// a range through the Excel pane and writes the figures, reformatted, into the deck: the PowerPoint pane shows the
// approval card, the test answers it there, and the table lands in the simulated deck; both
// panes show each transfer as one line that ends with its outcome. Bridge A is then restarted
// with a card open: the pane reconciles it with approval.list. The Excel pane lists and
// removes the person's confidential marks (label.list). On bridge B the PowerPoint pane
// shows "Disabled by your administrator".
// Screenshots for review go to tests/output/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CHROMIUM_ARGS, McpClient, api, sleep, startBridge, stopBridge } from "./helpers/bridge-process.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = process.env.OFFICE_BRIDGE_BIN ? resolve(ROOT, process.env.OFFICE_BRIDGE_BIN) : null;
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const skip = !BIN ? "set OFFICE_BRIDGE_BIN to a built office-bridge to run" : !existsSync(BIN) ? `${BIN} does not exist` : !existsSync(CHROMIUM) ? `Chromium not found at ${CHROMIUM}` : false;
const STANDIN = join(ROOT, "addins/standin/office-standin.js");
const OUT = join(ROOT, "tests/output");

const bridges = []; // every bridge started, for after()
let browser, ask, off; // ask: bridge A (flows held), off: bridge B (PowerPoint disabled)
const problems = [];

// ------------------------------------------------------------------ browser helpers

async function openPlayground(bridge) {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1600, height: 1000 } });
  // The real pages load Office.js from Microsoft's CDN; here that URL serves the stand-in.
  await context.route("https://appsforoffice.microsoft.com/**", (route) => route.fulfill({ status: 200, contentType: "text/javascript", body: readFileSync(STANDIN) }));
  const page = await context.newPage();
  page.on("pageerror", (e) => problems.push(`${bridge.name}: pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (/Content Security Policy/i.test(m.text())) problems.push(`${bridge.name}: console: ${m.text()}`);
  });
  await page.goto(`${bridge.origin}/playground/`);
  await page.waitForFunction(() => document.querySelectorAll("iframe").length === 2);
  const frame = (app) => page.frames().find((f) => f.url().includes(`/${app}/taskpane.html`));
  for (const app of ["excel", "powerpoint"]) {
    const t0 = Date.now();
    while (!frame(app)) {
      if (Date.now() - t0 > 10000) throw new Error(`no ${app} pane in the playground`);
      await sleep(50);
    }
  }
  return { context, page, frame };
}

/** A card's text as the person reads it (innerText: one line per row), on one line. */
const readCard = async (card) => (await card.evaluate((el) => el.innerText)).replace(/\s+/g, " ").trim();

/** The feed's lines in a pane, newest first. */
const feedLines = (frame) => frame.$$eval("#feed .feed-item", (items) => items.map((li) => li.textContent.replace(/\s+/g, " ").trim()));

/** The stand-in's in-memory deck, as the PowerPoint pane's Office.js sees it. */
const deckOf = (frame) => frame.evaluate(() => JSON.parse(JSON.stringify(globalThis.OfficeStandin.instance.env.deck)));

// ------------------------------------------------------------------ setup

before(async () => {
  if (skip) return;
  mkdirSync(OUT, { recursive: true });
  const started = await Promise.allSettled([
    startBridge(BIN, "real-ask", { flows: { default: "ask" } }, { playground: true }),
    startBridge(BIN, "real-off", { addins: { powerpoint: { enabled: false } } }, { playground: true }),
  ]);
  for (const r of started) if (r.status === "fulfilled") bridges.push(r.value);
  for (const r of started) if (r.status === "rejected") throw r.reason;
  [ask, off] = bridges;
  const { chromium } = await import("playwright-core");
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  ask.mcp = new McpClient(ask);
});

after(async () => {
  ask?.mcp?.close();
  await browser?.close();
  await Promise.all(bridges.map(stopBridge));
  for (const b of bridges) rmSync(b.dir, { recursive: true, force: true });
});

// ------------------------------------------------------------------ the tests

test("both panes register with the real bridge from its playground, under its CSP", { skip }, async () => {
  ask.pg = await openPlayground(ask);
  const { page, frame } = ask.pg;
  for (const app of ["excel", "powerpoint"]) await frame(app).waitForSelector("#status[data-state=connected]", { timeout: 15000 });
  assert.equal(await frame("excel").textContent("#status-text"), "Connected to office-bridge");
  assert.equal(await frame("powerpoint").textContent("#status-text"), "Connected to office-bridge");
  const health = await page.evaluate(async () => (await fetch("/healthz")).json());
  assert.equal(health.panes_connected, 2, JSON.stringify(health));
  assert.ok(await page.locator("table.grid td", { hasText: "$1,234,567.89" }).count());
});

test("an agent over MCP sees both documents and reads a range through the Excel pane", { skip }, async () => {
  const { page, frame } = ask.pg;
  const init = await ask.mcp.connect();
  assert.ok(init.serverInfo, JSON.stringify(init));
  const tools = (await ask.mcp.rpc("tools/list", {})).tools.map((t) => t.name);
  for (const name of ["excel_read_range", "ppt_add_table", "ppt_delete_slide", "office_status"]) assert.ok(tools.includes(name), `tools/list has ${name}: ${tools}`);

  const status = await ask.mcp.callTool("office_status", {});
  assert.equal(status.isError, false, JSON.stringify(status));
  const seen = JSON.stringify(status.structuredContent ?? status.content);
  for (const name of ["Q3.xlsx", "Q3 review.pptx"]) assert.ok(seen.includes(`"${name}"`), `office_status lists ${name}: ${seen.slice(0, 1000)}`);

  const read = await ask.mcp.callTool("excel_read_range", { sheet: "Revenue", range: "A1:D4" });
  assert.equal(read.isError, false, JSON.stringify(read));
  const r = read.structuredContent;
  assert.equal(r.sheet, "Revenue");
  assert.equal(r.address, "A1:D4");
  assert.equal(r.document.name, "Q3.xlsx");
  assert.deepEqual(r.values[0], ["Region", "Q1", "Q2", "Q3"]);
  assert.deepEqual(r.values[1], ["EMEA", 1234567.89, 1302450.5, 1421337.25]);
  assert.equal(r.text[1][1], "$1,234,567.89");
  assert.match(r.provenance_id, /\S/);
  // The person sees the read: in the Excel pane's activity, and highlighted in the grid.
  await frame("excel").waitForFunction(() => /The agent read: Revenue!A1:D4/.test(document.getElementById("feed").textContent));
  await page.waitForFunction(() => document.querySelectorAll("table.grid td.read").length >= 16, null, { timeout: 4000 }); // the 16 read cells, highlighted
  ask.read = r;
});

test("a write of those figures, reformatted, is held: the PowerPoint pane's card, Allow once, the table lands", { skip }, async () => {
  const { page, frame } = ask.pg;
  const pp = frame("powerpoint");
  const xl = frame("excel");
  const millions = (v) => `$${(v / 1e6).toFixed(2)}M`;
  const rows = ask.read.values.map((row, i) => (i === 0 ? row : [row[0], ...row.slice(1).map(millions)]));
  assert.deepEqual(rows[1], ["EMEA", "$1.23M", "$1.30M", "$1.42M"]);
  const slidesBefore = (await deckOf(pp)).slides[1].shapes.length;

  let settled = false;
  const call = ask.mcp.callTool("ppt_add_table", { slide: 2, rows }).finally(() => (settled = true));
  call.catch(() => {}); // awaited below; keep an early failure from being unhandled

  const card = await pp.waitForSelector("article.card", { timeout: 15000 });
  await card.$eval("details", (d) => (d.open = true));
  const cardText = await readCard(card);
  // A policy tip: what the agent wants to do, with what and from where, a preview of the
  // reformatted figures, one line of why.
  assert.match(cardText, /^The agent wants to add a table to slide 2 with \d+ (confidential )?values? from Q3\.xlsx > Revenue![A-D]\d+(:[A-D]\d+)?/);
  assert.match(cardText, /What it would write Region Q1 Q2 Q3 EMEA \$1\.23M \$1\.30M \$1\.42M/);
  assert.match(cardText, /\d+ values matched/);
  assert.match(cardText, /To Q3 review\.pptx, slide 2/);
  assert.match(cardText, /Why held .*approval/);
  assert.match(cardText, /Blocked automatically in [12]:\d\d/);
  for (const name of [/^Allow once/, /^Always for this deck/, /^Block/]) assert.equal(await pp.getByRole("button", { name }).isEnabled(), true);
  // While the card is up, nothing is written and the agent's call is still waiting.
  await sleep(300);
  assert.equal(settled, false, "the tool call waits for the person");
  assert.equal((await deckOf(pp)).slides[1].shapes.length, slidesBefore);
  // Both panes were told of the flow as it was held: one line each, waiting.
  await pp.waitForFunction(() => /Waiting to go to this deck, slide 2: \d+ values? from Q3\.xlsx > Revenue!.*waiting for your approval/s.test(document.getElementById("feed").textContent));
  await xl.waitForFunction(() => /Waiting to go to Q3 review\.pptx, slide 2: \d+ values? from Revenue!\S+/.test(document.getElementById("feed").textContent));
  assert.match((await feedLines(xl))[0], /waiting for approval/);

  // For review: both panes and the playground with the card held.
  await page.screenshot({ path: join(OUT, "playground-held.png"), fullPage: true });
  await page.locator("#pp-pane").screenshot({ path: join(OUT, "powerpoint-pane-held.png") });
  await page.locator("#xl-pane").screenshot({ path: join(OUT, "excel-pane.png") });

  await pp.getByRole("button", { name: /^Allow once/ }).click();
  const result = await call;
  assert.equal(result.isError, false, JSON.stringify(result));
  const s = result.structuredContent;
  assert.equal(s.written, true, JSON.stringify(s));
  assert.ok(s.result.shape_id, JSON.stringify(s));
  assert.equal(s.approvals.length, 1, JSON.stringify(s.approvals));
  assert.equal(s.approvals[0].allowed_by, "pane");
  assert.ok(s.flows.length >= 1, JSON.stringify(s.flows));
  const flow = s.flows.find((f) => f.decision === "ask");
  assert.ok(flow, JSON.stringify(s.flows));
  assert.equal(flow.source.name, "Q3.xlsx");
  assert.equal(flow.sheet, "Revenue");
  assert.equal(flow.target.name, "Q3 review.pptx");
  assert.equal(flow.location, "slide 2");
  assert.equal(flow.explicit, false, "found by detection in the reformatted figures, not copied by reference");
  assert.equal(flow.strength, "confirmed");
  // The card named exactly what the bridge held.
  assert.ok(cardText.includes(`from Q3.xlsx > Revenue!${flow.cells}`), `card ${JSON.stringify(cardText)} names Revenue!${flow.cells}`);
  assert.ok(cardText.includes(`${flow.matched} value`), `card names ${flow.matched} matched values`);

  // The table is in the simulated deck, on slide 2, as written; and on the rendered slide.
  await pp.waitForSelector("article.card", { state: "detached" });
  const deck = await deckOf(pp);
  const tables = deck.slides[1].shapes.filter((sh) => sh.type === "Table");
  assert.equal(tables.length, 1, JSON.stringify(deck.slides[1].shapes));
  assert.deepEqual(tables[0].table, rows);
  assert.equal(tables[0].id, s.result.shape_id);
  await page.waitForSelector(".slide .shape table td:text-is('$1.23M')");
  // The person's answer is told on the transfer's one line; the write is in the feed.
  const lines = await feedLines(pp);
  assert.ok(!lines.some((l) => /^You allowed once/.test(l)), `no second entry for the transfer: ${lines.join("\n")}`);
  assert.ok(lines.some((l) => /^The agent added a table to slide 2/.test(l)), lines.join("\n"));
  assert.equal(await pp.isVisible("#approvals-empty"), true);
  // The transfer's line in each pane ended with its outcome (flow.outcome): approved in the
  // deck's pane, written. The workbook's pane no longer says it is waiting.
  await pp.waitForFunction(() => /Moved into this deck, slide 2: \d+ values? from Q3\.xlsx > Revenue!\S+.*approved in this pane/s.test(document.getElementById("feed").innerText));
  await xl.waitForFunction(() => /Moved into Q3 review\.pptx, slide 2: \d+ values? from Revenue!\S+.*approved in the pane of Q3 review\.pptx/s.test(document.getElementById("feed").innerText));
  const xlLines = await feedLines(xl);
  assert.ok(!xlLines.some((l) => /^Waiting to go to/.test(l)), xlLines.join("\n"));
  assert.equal(xlLines.filter((l) => /Q3 review\.pptx, slide 2: \d+ values? from Revenue!/.test(l)).length, s.flows.length, "one line per transfer");
  await page.screenshot({ path: join(OUT, "playground.png"), fullPage: true });
  await page.locator("#pp-pane").screenshot({ path: join(OUT, "powerpoint-pane.png") });
});

test("from_range held and blocked in the pane: the tool call fails and the deck is unchanged", { skip }, async () => {
  const pp = ask.pg.frame("powerpoint");
  const before = await deckOf(pp);
  const call = ask.mcp.callTool("ppt_add_table", { slide: 1, from_range: { sheet: "Costs", range: "A1:C3" } });
  call.catch(() => {});
  const card = await pp.waitForSelector("article.card", { timeout: 15000 });
  const cardText = await readCard(card);
  assert.match(cardText, /^The agent wants to add a table to slide 1 with \d+ (confidential )?values? from Q3\.xlsx > Costs!A1:C3/);
  // Answered with the keyboard alone: Tab to Block, Enter.
  await pp.focus("#approvals-h");
  const block = pp.getByRole("button", { name: /^Block/ });
  for (let i = 0; i < 5 && !(await block.evaluate((b) => b === document.activeElement)); i++) await ask.pg.page.keyboard.press("Tab");
  assert.equal(await block.evaluate((b) => b === document.activeElement), true, "Block is reached with Tab");
  await ask.pg.page.keyboard.press("Enter");
  const result = await call;
  assert.equal(result.isError, true, JSON.stringify(result));
  assert.equal(result.structuredContent?.written, false, JSON.stringify(result));
  assert.match(result.content[0].text, /denied/);
  assert.match(result.content[0].text, /Q3\.xlsx > Costs!A1:C3/);
  assert.deepEqual(await deckOf(pp), before);
  await pp.waitForSelector("article.card", { state: "detached" });
  // The keyboard stays in the region, on its heading.
  assert.equal(await pp.evaluate(() => document.activeElement?.id), "approvals-h");
  // Nothing left the workbook, and each pane says so on the transfer's one line.
  const xl = ask.pg.frame("excel");
  await xl.waitForFunction(() => /Kept out of Q3 review\.pptx, slide 1: \d+ values? from Costs!A1:C3.*denied in the pane of Q3 review\.pptx/s.test(document.getElementById("feed").innerText));
  await pp.waitForFunction(() => /Kept out of this deck, slide 1: \d+ values? from Q3\.xlsx > Costs!A1:C3.*denied in this pane/s.test(document.getElementById("feed").innerText));
  assert.ok(!(await feedLines(xl)).some((l) => /^Waiting to go to Q3 review\.pptx, slide 1/.test(l)));
  assert.equal((await feedLines(pp)).filter((l) => /Costs!A1:C3/.test(l)).length, 1, "held then blocked: one entry");
});

test("a slide deletion is held as a deletion, not as content from another document", { skip }, async () => {
  const pp = ask.pg.frame("powerpoint");
  const slides = (await deckOf(pp)).slides.length;
  const call = ask.mcp.callTool("ppt_delete_slide", { slide: 1 });
  call.catch(() => {});
  const card = await pp.waitForSelector("article.card", { timeout: 15000 });
  const cardText = await readCard(card);
  assert.match(cardText, /^The agent wants to delete slide 1 from this deck/);
  assert.doesNotMatch(cardText, /another document/);
  assert.equal(await pp.getByRole("button", { name: /^Always for/ }).count(), 0, "no standing choice for a deletion");
  await pp.getByRole("button", { name: /^Block/ }).click();
  const result = await call;
  assert.equal(result.isError, true, JSON.stringify(result));
  assert.match(result.content[0].text, /Not deleted/);
  assert.equal((await deckOf(pp)).slides.length, slides);
  // The tool call can return before the pane has handled the bridge's answer to its decide.
  await pp.waitForSelector("article.card", { state: "detached" });
  assert.match((await feedLines(pp))[0], /^You blocked: delete slide 1 from Q3 review\.pptx/);
});

test("an approval answered on the desktop first: the tool call is refused and the pane's card goes", { skip }, async () => {
  const pp = ask.pg.frame("powerpoint");
  const before = await deckOf(pp);
  const millions = (v) => `$${(v / 1e6).toFixed(2)}M`;
  const rows = ask.read.values.map((row, i) => (i === 0 ? row : [row[0], ...row.slice(1).map(millions)]));
  const call = ask.mcp.callTool("ppt_add_table", { slide: 2, rows });
  call.catch(() => {});
  await pp.waitForSelector("article.card", { timeout: 15000 });
  const pending = await api(ask, "GET", "/v1/approvals");
  assert.equal(pending.status, 200, JSON.stringify(pending));
  assert.equal(pending.body.approvals.length, 1, JSON.stringify(pending.body));
  const id = pending.body.approvals[0].approval_id;
  // The agent's own token reads the approvals but cannot answer them.
  const byAgent = await api(ask, "POST", `/v1/approvals/${id}`, { decision: "allow", scope: "document" }, ask.token);
  assert.equal(byAgent.status, 403, JSON.stringify(byAgent));
  assert.match(byAgent.body.error, /cannot answer approvals/);
  assert.equal((await api(ask, "GET", "/v1/approvals", undefined, ask.token)).body.approvals.length, 1, "still held");
  const answered = await api(ask, "POST", `/v1/approvals/${id}`, { decision: "deny", scope: "once" });
  assert.deepEqual(answered, { status: 200, body: { accepted: true } });
  const result = await call;
  assert.equal(result.isError, true, JSON.stringify(result));
  assert.match(result.content[0].text, /denied it \(answered on the desktop\)/);
  assert.deepEqual(await deckOf(pp), before);
  // The bridge tells the pane the approval was settled elsewhere: its card goes, in words.
  await pp.waitForSelector("article.card", { state: "detached", timeout: 5000 });
  assert.deepEqual(await deckOf(pp), before);
  await pp.waitForFunction(() => /Kept out of this deck, slide 2: \d+ values? from Q3\.xlsx > Revenue!\S+.*denied on the desktop/s.test(document.getElementById("feed").innerText));
  await ask.pg.frame("excel").waitForFunction(() => /Kept out of Q3 review\.pptx, slide 2: \d+ values? from Revenue!\S+.*denied on the desktop/s.test(document.getElementById("feed").innerText));
});

test("a reloaded pane shows its document's transfers again, each once, with how it ended (flow.list recent)", { skip }, async () => {
  const { page, frame } = ask.pg;
  const pp = frame("powerpoint");
  const before = await feedLines(pp);
  const transfers = (lines) => lines.filter((l) => /^(Moved into|Kept out of|Expired, kept out of|Waiting to go to) this deck/.test(l));
  const shown = transfers(before).map((l) => l.replace(/\s\d\d:\d\d:\d\d\s?(AM|PM)?$/, ""));
  assert.ok(shown.length >= 3, before.join("\n"));
  await Promise.all([pp.waitForNavigation({ timeout: 15000 }), pp.evaluate(() => location.reload())]);
  await pp.waitForSelector("#status[data-state=connected]", { timeout: 15000 });
  await pp.waitForFunction((n) => document.querySelectorAll("#feed .feed-item").length >= n, shown.length, { timeout: 10000 });
  const after = transfers(await feedLines(pp)).map((l) => l.replace(/\s\d\d:\d\d:\d\d\s?(AM|PM)?$/, ""));
  // The same transfers, newest first, with their outcomes: none back to "waiting".
  assert.ok(after.some((l) => /^Moved into this deck, slide 2: \d+ (confidential )?values? from Q3\.xlsx > Revenue!\S+.*approved in this pane/.test(l)), after.join("\n"));
  assert.ok(after.some((l) => /^Kept out of this deck, slide 1: \d+ (confidential )?values? from Q3\.xlsx > Costs!A1:C3.*denied in this pane/.test(l)), after.join("\n"));
  assert.ok(after.some((l) => /^Kept out of this deck, slide 2: .*denied on the desktop/.test(l)), after.join("\n"));
  assert.ok(!after.some((l) => /^Waiting to go to/.test(l)), after.join("\n"));
  await page.locator("#pp-pane").screenshot({ path: join(OUT, "powerpoint-pane-reloaded.png") });
});

test("a bridge restart with a card open: the pane reconciles with approval.list and says nothing was written", { skip }, async () => {
  const { page, frame } = ask.pg;
  const pp = frame("powerpoint");
  const before = await deckOf(pp);
  const millions = (v) => `$${(v / 1e6).toFixed(2)}M`;
  const rows = ask.read.values.map((row, i) => (i === 0 ? row : [row[0], ...row.slice(1).map(millions)]));
  const call = ask.mcp.callTool("ppt_add_table", { slide: 2, rows });
  call.catch(() => {}); // the bridge goes away under it
  const card = await pp.waitForSelector("article.card", { timeout: 15000 });
  assert.match(await card.evaluate((el) => el.querySelector("h3").textContent), /^The agent wants to add a table to slide 2 with \d+ (confidential )?values? from Q3\.xlsx/);
  ask.mcp.close();
  // A crash: the bridge cannot close the approval itself (a clean stop does; restart.rs).
  await stopBridge(ask, { signal: "SIGKILL" });
  // While the bridge is away the card stays, its buttons off, saying why; its countdown
  // stops; the pane says office-bridge is not running and counts down to its next attempt.
  await pp.waitForFunction(() => /answers wait for the connection/.test(document.querySelector("article.card .message")?.textContent ?? ""), null, { timeout: 15000 });
  assert.equal(await pp.getByRole("button", { name: /^Allow once/ }).isDisabled(), true);
  assert.equal(await pp.isVisible("article.card .countdown"), false, "the countdown stops while the bridge is down");
  await pp.waitForFunction(() => document.getElementById("status-text").textContent === "office-bridge is not running: start it with `office-bridge serve`", null, { timeout: 15000 });
  await pp.waitForFunction(() => /^Retrying in \d+ s$/.test(document.getElementById("status-detail").textContent), null, { timeout: 15000 });
  const secs = () => pp.evaluate(() => Number(/Retrying in (\d+) s/.exec(document.getElementById("status-detail").textContent)?.[1] ?? 0));
  const first = await secs();
  if (first > 1) await pp.waitForFunction((n) => Number(/Retrying in (\d+) s/.exec(document.getElementById("status-detail").textContent)?.[1] ?? 99) < n, first, { timeout: 3000 });
  // A disabled Block button is grey, not red.
  const colors = await pp.$eval("article.card button.danger", (b) => ({ color: getComputedStyle(b).color, disabled: b.disabled }));
  assert.deepEqual(colors, { color: "rgb(189, 189, 189)", disabled: true });
  await page.locator("#pp-pane").screenshot({ path: join(OUT, "powerpoint-pane-bridge-down.png") });
  // The same port and data dir: the panes come back by themselves (backoff) to a new bridge.
  const again = await startBridge(BIN, "real-ask-again", { flows: { default: "ask" } }, { dataDir: ask.dataDir, port: ask.port, dir: ask.dir, playground: true });
  ask.proc = again.proc;
  await pp.waitForSelector("#status[data-state=connected]", { timeout: 40000 });
  await pp.waitForSelector("article.card", { state: "detached", timeout: 10000 });
  await pp.waitForFunction(() => /Expired, kept out of this deck, slide 2: \d+ values? from Q3\.xlsx > Revenue!\S+.*expired/s.test(document.getElementById("feed").innerText));
  assert.equal(await pp.isVisible("#approvals-empty"), true);
  assert.deepEqual(await deckOf(pp), before, "nothing was written");
  // The new bridge agrees: nothing is waiting, and the transfer ended as expired, not written.
  const pending = await api(ask, "GET", "/v1/approvals");
  assert.deepEqual(pending.body.approvals, []);
  const flows = await api(ask, "GET", "/v1/flows?limit=5");
  const last = flows.body.flows.find((f) => f.target?.name === "Q3 review.pptx" && f.decision === "ask");
  assert.deepEqual([last.outcome, last.written], ["expired", false], JSON.stringify(last));
  await page.locator("#pp-pane").screenshot({ path: join(OUT, "powerpoint-pane-after-restart.png") });
});

test("the Excel pane lists the person's marks from the bridge and removes one exactly", { skip }, async () => {
  const { page, frame } = ask.pg;
  const xl = frame("excel");
  await xl.waitForSelector("#status[data-state=connected]", { timeout: 40000 });
  // Earlier tests read other sheets; show Revenue in the playground's grid.
  await page.getByRole("tab", { name: "Revenue" }).click();
  await page.click("table.grid td[data-r='2'][data-c='2']");
  await page.click("table.grid td[data-r='4'][data-c='3']", { modifiers: ["Shift"] });
  await xl.click("#mark");
  await xl.waitForSelector("#marks li[data-sheet='Revenue'][data-address='B2:C4']", { timeout: 10000 });
  assert.equal((await xl.textContent("#marks li[data-sheet='Revenue'][data-address='B2:C4'] .mark-range")).trim(), "Revenue!B2:C4");
  assert.equal(await xl.isVisible("#marks-empty"), false);
  // The marks are the bridge's: they are still listed after the pane is reloaded.
  await Promise.all([xl.waitForNavigation({ timeout: 15000 }), xl.evaluate(() => location.reload())]);
  await xl.waitForSelector("#status[data-state=connected]", { timeout: 15000 });
  await xl.waitForSelector("#marks li[data-sheet='Revenue'][data-address='B2:C4']", { timeout: 10000 });
  await page.locator("#xl-pane").screenshot({ path: join(OUT, "excel-pane-marks-real.png") });
  await xl.getByRole("button", { name: "Remove the confidential mark on Revenue!B2:C4" }).click();
  await xl.waitForSelector("#marks li[data-address='B2:C4']", { state: "detached", timeout: 10000 });
  assert.match(await xl.textContent("#mark-message"), /Removed the confidential mark on Revenue!B2:C4\./);
  // The list is the bridge's: a reload of the pane shows the same (nothing).
  await Promise.all([xl.waitForNavigation({ timeout: 15000 }), xl.evaluate(() => location.reload())]);
  await xl.waitForSelector("#status[data-state=connected]", { timeout: 15000 });
  await xl.waitForFunction(() => !document.getElementById("marks-empty").hidden);
  assert.equal(await xl.$$eval("#marks li", (l) => l.length), 0);
});

test("the administrator's switch: with PowerPoint disabled the pane says so and the bridge refuses it", { skip }, async () => {
  off.pg = await openPlayground(off);
  const { page, frame } = off.pg;
  await frame("excel").waitForSelector("#status[data-state=connected]", { timeout: 15000 });
  const pp = frame("powerpoint");
  await pp.waitForSelector("#status[data-state=disabled]", { timeout: 15000 });
  assert.equal(await pp.textContent("#status-text"), "Disabled by your administrator");
  assert.equal(await pp.isVisible("#disabled-banner"), true);
  assert.match(await pp.textContent("#disabled-banner"), /Disabled by your administrator/);
  assert.equal(await pp.evaluate(() => document.querySelector("main").inert), true);
  const health = await page.evaluate(async () => (await fetch("/healthz")).json());
  assert.equal(health.panes_connected, 1, JSON.stringify(health));
  await page.locator("#pp-pane").screenshot({ path: join(OUT, "powerpoint-pane-disabled.png") });
  // The administrator turns it back on: the disabled pane, which polls, is back within about
  // 2 s (the bridge reads its policy file every second; the pane tries every second).
  const policyFile = join(off.dir, "policy.json");
  writeFileSync(policyFile, JSON.stringify({ addins: { powerpoint: { enabled: true } } }));
  const t0 = Date.now();
  await pp.waitForSelector("#status[data-state=connected]", { timeout: 10000 });
  const back = Date.now() - t0;
  assert.ok(back < 3000, `re-enabled pane connected after ${back} ms`);
  // And off again: the connected pane is told at once (policy.changed), not on a timer.
  writeFileSync(policyFile, JSON.stringify({ addins: { powerpoint: { enabled: false } } }));
  const t1 = Date.now();
  await pp.waitForSelector("#status[data-state=disabled]", { timeout: 10000 });
  const gone = Date.now() - t1;
  assert.ok(gone < 2500, `disabled pane told after ${gone} ms`);
  // The agent is told the same, in words.
  const mcp = new McpClient(off);
  try {
    await mcp.connect();
    const r = await mcp.callTool("ppt_list_slides", {});
    assert.equal(r.isError, true, JSON.stringify(r));
    assert.match(r.content[0].text, /disabled by your administrator/);
  } finally {
    mcp.close();
  }
});

test("without --playground a page cannot bring simulated documents to the agent", { skip }, async () => {
  const plain = await startBridge(BIN, "real-noplay", { flows: { default: "ask" } });
  bridges.push(plain);
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  try {
    const page = await context.newPage();
    // The playground page says it is off and how to turn it on; its script is not served.
    await page.goto(`${plain.origin}/playground/`);
    assert.equal(await page.textContent("h1"), "The playground is off");
    assert.match(await page.textContent("body"), /office-bridge serve --playground/);
    assert.equal((await page.request.get(`${plain.origin}/playground/playground.js`)).status(), 404);
    // A pane opened straight on the stand-in (what a foreign page could do) is refused, says
    // why, and does not retry.
    const registered = () => plain.logs.join("").match(/pane registered/g)?.length ?? 0;
    await page.goto(`${plain.origin}/excel/taskpane.html?standin=1`);
    await page.waitForSelector("#status[data-state=playground-off]", { timeout: 15000 });
    assert.match(await page.textContent("#status-text"), /The playground is off: start office-bridge with `office-bridge serve --playground`/);
    const health = await page.evaluate(async () => (await fetch("/healthz")).json());
    assert.equal(health.panes_connected, 0, JSON.stringify(health));
    assert.equal(registered(), 0, plain.logs.join(""));
    // The agent sees no document.
    const mcp = new McpClient(plain);
    try {
      await mcp.connect();
      const status = await mcp.callTool("office_status", {});
      assert.equal(status.isError, false, JSON.stringify(status));
      assert.ok(!JSON.stringify(status.structuredContent ?? status.content).includes("Q3.xlsx"), JSON.stringify(status));
    } finally {
      mcp.close();
    }
    await sleep(2500);
    assert.equal(await page.getAttribute("#status", "data-state"), "playground-off", "no reconnect loop");
  } finally {
    await context.close();
  }
});

test("the bridge's pages raise no CSP complaints or page errors", { skip }, () => {
  // Chromium rejects IPv6 literals in CSP sources ("wss://[::1]:PORT ... invalid source"):
  // the bridge's connect-src must not list them ('self' and wss://localhost:PORT suffice).
  assert.deepEqual([...new Set(problems)], []);
});
