// The playground teaches (issue #18 part 5), against the real Rust bridge: set
// OFFICE_BRIDGE_BIN to the built binary; skipped otherwise. Starts `office-bridge serve
// --playground` with a policy that holds every transfer, opens /playground/ in Chromium at
// 1280 x 800 (Office.js's CDN URL routed to the stand-in), and checks that the two apps sit
// side by side, that "Run demo agent" reads the workbook and writes the figures into the
// deck through the real bridge and tracker, that a bar jumps to the approval it waits for
// (answered with the keyboard alone), and that the MCP URL and the token command are there
// to copy. Screenshots at 1280, 800 and 320 px go to tests/output/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CHROMIUM_ARGS, api, sleep, startBridge, stopBridge } from "./helpers/bridge-process.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = process.env.OFFICE_BRIDGE_BIN ? resolve(ROOT, process.env.OFFICE_BRIDGE_BIN) : null;
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const skip = !BIN ? "set OFFICE_BRIDGE_BIN to a built office-bridge to run" : !existsSync(BIN) ? `${BIN} does not exist` : !existsSync(CHROMIUM) ? `Chromium not found at ${CHROMIUM}` : false;
const STANDIN = join(ROOT, "addins/standin/office-standin.js");
const OUT = join(ROOT, "tests/output");

let bridge, browser, context, page;
const problems = [];
const frame = (app) => page.frames().find((f) => f.url().includes(`/${app}/taskpane.html`));

before(async () => {
  if (skip) return;
  mkdirSync(OUT, { recursive: true });
  bridge = await startBridge(BIN, "playground", { flows: { default: "ask" } }, { playground: true });
  const { chromium } = await import("playwright-core");
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
  await context.route("https://appsforoffice.microsoft.com/**", (route) => route.fulfill({ status: 200, contentType: "text/javascript", body: readFileSync(STANDIN) }));
  page = await context.newPage();
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" || /Content Security Policy/i.test(m.text())) problems.push(`console ${m.type()}: ${m.text()}`);
  });
});

after(async () => {
  await browser?.close();
  await stopBridge(bridge);
  if (bridge?.dir) rmSync(bridge.dir, { recursive: true, force: true });
});

/** No horizontal scrollbar, and no text cut by its box, on the page itself. */
async function assertFits(width) {
  const r = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
  assert.ok(r.scroll <= r.client, `no horizontal scrollbar at ${width} px: ${JSON.stringify(r)}`);
}

test("at 1280 px the two apps are side by side, each pane beside its document", { skip }, async () => {
  await page.goto(`${bridge.origin}/playground/`);
  await page.waitForFunction(() => document.querySelectorAll("iframe").length === 2);
  for (const app of ["excel", "powerpoint"]) {
    const t0 = Date.now();
    while (!frame(app)) {
      if (Date.now() - t0 > 10000) throw new Error(`no ${app} pane`);
      await sleep(50);
    }
    await frame(app).waitForSelector("#status[data-state=connected]", { timeout: 15000 });
  }
  const xl = await page.locator("section[aria-labelledby=xl-h]").boundingBox();
  const pp = await page.locator("section[aria-labelledby=pp-h]").boundingBox();
  assert.ok(Math.abs(xl.y - pp.y) < 1 && pp.x >= xl.x + xl.width, `side by side: ${JSON.stringify({ xl, pp })}`);
  const ppPane = await page.locator("#pp-pane").boundingBox();
  assert.ok(ppPane.y + 200 < 800, "the deck's pane starts well within the first screen");
  await assertFits(1280);
  // How to connect your own agent: this bridge's MCP URL and the command for its token.
  assert.equal(await page.textContent("#mcp-url"), `${bridge.origin}/mcp`);
  assert.equal(await page.textContent("#token-command"), "office-bridge token show");
  assert.equal(await page.getByRole("button", { name: "Copy the MCP URL" }).isVisible(), true);
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: bridge.origin });
  await page.getByRole("button", { name: "Copy the MCP URL" }).click();
  await page.waitForFunction((u) => document.getElementById("copy-status").textContent.includes(u), `${bridge.origin}/mcp`);
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), `${bridge.origin}/mcp`);
});

test("Run demo agent: it reads the workbook and writes into the deck through the bridge; the bar jumps to its approval", { skip }, async () => {
  const pp = frame("powerpoint");
  const xl = frame("excel");
  assert.equal(await page.isVisible("#waiting-bar"), false, "nothing waits yet");
  await page.getByRole("button", { name: "Run demo agent" }).click();
  assert.equal(await page.getByRole("button", { name: "Run demo agent" }).isDisabled(), true, "one run at a time");
  // The read went through the Excel pane, the write is held in the PowerPoint pane.
  await xl.waitForFunction(() => /The agent read: Revenue!A1:D4/.test(document.getElementById("feed").textContent), null, { timeout: 15000 });
  await pp.waitForSelector("article.card", { timeout: 15000 });
  assert.match(await pp.textContent("article.card h3"), /^The agent wants to add a table to slide 2 with \d+ (confidential )?values? from Q3\.xlsx > Revenue!/);
  // The bar says so, and jumps to it.
  await page.waitForSelector("#waiting-bar:not([hidden])");
  assert.match(await page.textContent("#waiting-text"), /^An approval is waiting in the PowerPoint pane: The agent wants to add a table to slide 2/);
  await page.screenshot({ path: join(OUT, "playground-demo-held-1280.png") });
  // The card is on the first screen at 1280 x 800.
  const card = await pp.$("article.card");
  const box = await card.boundingBox();
  assert.ok(box && box.y >= 0 && box.y < 800, `the card is visible: ${JSON.stringify(box)}`);
  // The card at 320 px, whole: Allow once and Block on one row, nothing cut or overlapping.
  const layout = await pp.evaluate(() => {
    const card = document.querySelector("article.card");
    const c = card.getBoundingClientRect();
    const r = (el) => el.getBoundingClientRect();
    const [allow, block] = [...card.querySelectorAll(".tip-actions button")];
    const outside = [...card.querySelectorAll("*")].filter((el) => el.getClientRects().length && r(el).right > c.right + 0.5 && getComputedStyle(el).position !== "absolute").map((el) => el.className || el.tagName);
    const cut = [...card.querySelectorAll("h3, p, button, summary, span, dd, dt")].filter((el) => el.getClientRects().length && el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflow !== "visible").map((el) => el.className || el.tagName);
    const boxes = [...card.children].filter((el) => el.getClientRects().length).map(r);
    const overlapping = boxes.some((a, i) => boxes.slice(i + 1).some((b) => a.bottom > b.top + 0.5 && b.bottom > a.top + 0.5));
    return { width: c.width, sameRow: Math.abs(r(allow).top - r(block).top) < 1, outside, cut, overlapping, paneWidth: document.documentElement.clientWidth };
  });
  assert.equal(layout.paneWidth, 318, "the pane is 320 px wide (its frame's border aside)");
  assert.deepEqual([layout.sameRow, layout.outside, layout.cut, layout.overlapping], [true, [], [], false], JSON.stringify(layout));
  await page.evaluate(() => {
    document.getElementById("pp-pane").style.height = "1500px";
    document.querySelector(".pg-bar").style.position = "static"; // not over the frame in the picture
  });
  await pp.evaluate(() => document.querySelector("article.card details").setAttribute("open", ""));
  await page.locator("#pp-pane").screenshot({ path: join(OUT, "powerpoint-pane-tip-320.png") });
  await pp.evaluate(() => document.querySelector("article.card details").removeAttribute("open"));
  await page.evaluate(() => {
    document.getElementById("pp-pane").style.height = "";
    document.querySelector(".pg-bar").style.position = "";
  });
  await page.getByRole("button", { name: "Go to it" }).click();
  await pp.waitForFunction(() => document.activeElement?.id === "approvals-h");
  // Answered with the keyboard alone, from the heading: Tab to Allow once, Enter.
  const allow = pp.getByRole("button", { name: /^Allow once/ });
  for (let i = 0; i < 8 && !(await allow.evaluate((b) => b === document.activeElement)); i++) await page.keyboard.press("Tab");
  assert.equal(await allow.evaluate((b) => b === document.activeElement), true, "Allow once is reached with Tab");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => /^Done: the demo agent read Revenue!A1:D4 from the workbook, then wrote it, in millions, as a table on slide 2 of the deck\./.test(document.getElementById("demo-status").textContent), null, { timeout: 20000 });
  await page.waitForSelector("#waiting-bar", { state: "hidden", timeout: 5000 });
  assert.equal(await page.getByRole("button", { name: "Run demo agent" }).isEnabled(), true);
  assert.equal(await pp.evaluate(() => document.activeElement?.id), "approvals-h", "the focus stays on the heading");
  // The table is in the simulated deck, in millions; the transfer is one line in each pane.
  const deck = await pp.evaluate(() => JSON.parse(JSON.stringify(globalThis.OfficeStandin.instance.env.deck)));
  const table = deck.slides[1].shapes.find((s) => s.type === "Table");
  assert.ok(table, JSON.stringify(deck.slides[1].shapes));
  assert.deepEqual(table.table[1].slice(0, 2), ["EMEA", "$1.23M"]);
  await pp.waitForFunction(() => /Moved into this deck, slide 2: \d+ values? from Q3\.xlsx > Revenue!\S+.*approved in this pane/s.test(document.getElementById("feed").innerText), null, { timeout: 10000 });
  await xl.waitForFunction(() => /Moved into Q3 review\.pptx, slide 2: \d+ values? from Revenue!\S+.*approved in the pane of Q3 review\.pptx/s.test(document.getElementById("feed").innerText), null, { timeout: 10000 });
  // The bridge agrees.
  const flows = await api(bridge, "GET", "/v1/flows?limit=5");
  assert.ok(flows.body.flows.some((f) => f.target.name === "Q3 review.pptx" && f.outcome === "approved" && f.written === true), JSON.stringify(flows.body));
  await page.screenshot({ path: join(OUT, "playground-demo-done-1280.png") });
});

test("the demo agent runs only from the bridge's own pages, and only with --playground", { skip }, async () => {
  // No Origin (a script on this machine, not the page): refused (the route is there).
  const noOrigin = await api(bridge, "POST", "/playground/demo-agent", {});
  assert.equal(noOrigin.status, 403, JSON.stringify(noOrigin));
  const plain = await startBridge(BIN, "no-playground", { flows: { default: "ask" } });
  try {
    const r = await api(plain, "POST", "/playground/demo-agent", {});
    assert.equal(r.status, 404, JSON.stringify(r));
  } finally {
    await stopBridge(plain);
    rmSync(plain.dir, { recursive: true, force: true });
  }
});

test("the playground at 800 and 320 px: one app under the other, nothing wider than the window", { skip }, async () => {
  for (const [width, height] of [[800, 1000], [320, 900]]) {
    await page.setViewportSize({ width, height });
    await page.waitForTimeout(200);
    await assertFits(width);
    const xl = await page.locator("section[aria-labelledby=xl-h]").boundingBox();
    const pp = await page.locator("section[aria-labelledby=pp-h]").boundingBox();
    assert.ok(pp.y >= xl.y + xl.height - 1, `stacked at ${width} px`);
    await page.screenshot({ path: join(OUT, `playground-${width}.png`) });
  }
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.screenshot({ path: join(OUT, "playground-1280.png") });
});

test("the playground raises no page errors or CSP complaints", { skip }, () => {
  assert.deepEqual([...new Set(problems)], []);
});
