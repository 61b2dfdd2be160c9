// Browser end-to-end: the real panes in the playground, in Chromium (playwright-core), with
// Office.js's CDN URL routed to the stand-in, against a fake bridge (fake-bridge.mjs) that
// serves addins/ with the bridge's CSP. Skipped when Chromium is absent, except under CI=true.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startFakeBridge } from "./fake-bridge.mjs";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const CI = process.env.CI === "true";
const STANDIN = join(dirname(fileURLToPath(import.meta.url)), "../../addins/standin/office-standin.js");
const OUT = join(dirname(fileURLToPath(import.meta.url)), "../output");
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && CI) throw new Error(`Chromium not found at ${CHROMIUM}; under CI=true the browser tests may not be skipped`);
const skip = haveChromium ? false : `Chromium not found at ${CHROMIUM} (apt-get install chromium)`;

let bridge, browser, page;
const problems = [];

before(async () => {
  if (skip) return;
  const { chromium } = await import("playwright-core");
  bridge = await startFakeBridge();
  mkdirSync(OUT, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1600, height: 1000 } });
  // The real pages load Office.js from Microsoft's CDN; here that URL serves the stand-in.
  await context.route("https://appsforoffice.microsoft.com/**", (route) =>
    route.fulfill({ status: 200, contentType: "text/javascript", body: readFileSync(STANDIN) }),
  );
  page = await context.newPage();
  const watch = (p) => {
    p.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
    p.on("console", (m) => {
      if (m.type() === "error" || /Content Security Policy/i.test(m.text())) problems.push(`console: ${m.text()}`);
    });
  };
  watch(page);
  context.on("page", watch);
});

after(async () => {
  await browser?.close();
  await bridge?.close();
});

const frame = (name) => page.frames().find((f) => f.url().includes(`/${name}/taskpane.html`));

test("the playground runs both real panes on the stand-in; they register with the bridge", { skip }, async () => {
  await page.goto(`${bridge.origin}/playground/`);
  const xl = await bridge.waitForPane("excel");
  const pp = await bridge.waitForPane("powerpoint");
  assert.deepEqual(xl.registered.document, { name: "Q3.xlsx", url: "https://contoso.sharepoint.com/sites/finance/Shared%20Documents/Q3.xlsx" });
  assert.ok(xl.registered.capabilities.includes("ExcelApi 1.7"));
  assert.equal(pp.registered.document.name, "Q3 review.pptx");
  assert.ok(pp.registered.capabilities.includes("PowerPointApi 1.8"));
  await frame("excel").waitForSelector("#status[data-state=connected]");
  await frame("powerpoint").waitForSelector("#status[data-state=connected]");
  assert.equal(await frame("excel").textContent("#status-text"), "Connected to office-bridge");
  await frame("excel").waitForFunction(() => /Confidential/.test(document.getElementById("doc-sensitivity").textContent));
});

test("an agent read lands in the grid and in the Excel pane's activity", { skip }, async () => {
  const r = await bridge.call("excel", "excel.readRange", { sheet: "Revenue", address: "B2:D4" });
  assert.equal(r.result.address, "B2:D4");
  assert.equal(r.result.text[0][0], "$1,234,567.89");
  await frame("excel").waitForFunction(() => /The agent read: Revenue!B2:D4/.test(document.getElementById("feed").textContent));
  assert.ok((await page.locator("table.grid td.read").count()) >= 9, "read cells are highlighted in the grid");
});

test("an agent table write lands on the rendered slide; flow.notice shows its source", { skip }, async () => {
  const r = await bridge.call("powerpoint", "powerpoint.addTable", { slide: 2, rows: [["Region", "Q3"], ["EMEA", "$1.42M"]], top: 300 });
  assert.ok(r.result.shape_id, JSON.stringify(r));
  await page.waitForSelector(".slide .shape table td:text('EMEA')");
  bridge.notify("powerpoint", "flow.notice", { source: { name: "Q3.xlsx" }, sheet: "Revenue", cells: "B2:D5", location: "slide 2, table", matched: 12, decision: "allow", sensitivity: { level: "Confidential" } });
  await frame("powerpoint").waitForFunction(() => /from Q3\.xlsx > Revenue!B2:D5/.test(document.getElementById("feed").textContent));
  bridge.notify("excel", "flow.notice", { source: { name: "Q3.xlsx" }, sheet: "Revenue", cells: "B2:D5", target: { name: "Q3 review.pptx" }, location: "slide 2", decision: "allow" });
  await frame("excel").waitForFunction(() => /Left this workbook: Revenue!B2:D5 → Q3 review\.pptx, slide 2/.test(document.getElementById("feed").textContent));
});

test("approval cards: allow once sends approval.decide; an unanswered card expires", { skip }, async () => {
  const flow = { source: { name: "Q3.xlsx" }, sheet: "Revenue", cells: "B2:D5", matched: 12, sensitivity: { level: "Confidential" }, location: "slide 3, table", reason: "confidential data leaving its workbook" };
  bridge.notify("powerpoint", "approval.request", { approval_id: "ap_1", flow, expires_at: Date.now() + 90000 });
  const pp = frame("powerpoint");
  await pp.waitForSelector("article.card");
  assert.match(await pp.textContent("article.card"), /Content from Q3\.xlsx.*Revenue!B2:D5.*12 values matched.*Confidential.*slide 3, table.*Blocked automatically in 1:(29|30)/s);
  const decided = new Promise((r) => bridge.events.once("approval.decide", r));
  await pp.getByRole("button", { name: /^Allow once/ }).click();
  assert.deepEqual(await decided, { approval_id: "ap_1", decision: "allow", scope: "once" });
  await pp.waitForSelector("article.card", { state: "detached" });
  bridge.notify("powerpoint", "approval.request", { approval_id: "ap_2", flow, expires_at: Date.now() + 1500 });
  await pp.waitForSelector("article.card");
  await pp.waitForSelector("article.card", { state: "detached", timeout: 5000 });
  await pp.waitForFunction(() => /Not answered in time, blocked/.test(document.getElementById("feed").textContent));
  bridge.notify("powerpoint", "approval.request", { approval_id: "ap_3", flow, expires_at: Date.now() + 60000 });
  await pp.waitForSelector("article.card");
  const decided3 = new Promise((r) => bridge.events.once("approval.decide", r));
  await pp.getByRole("button", { name: /^Always allow/ }).click();
  assert.deepEqual(await decided3, { approval_id: "ap_3", decision: "allow", scope: "document" });
});

test("approval cards in the Excel pane: a held write into the workbook, Allow once, one settled elsewhere", { skip }, async () => {
  // The bridge sends approval.request to the pane of the TARGET document: here the workbook
  // the agent writes another document's data into.
  const xl = frame("excel");
  const target = { app: "excel", name: "Q3.xlsx", id: "doc_excel" };
  const flow = { source: { app: "excel", name: "Budget.xlsx", id: "doc_b" }, sheet: "Costs", cells: "A1:C3", target, location: "Summary!B2:D4", matched: 9, sensitivity: "confidential", explicit: false, decision: "ask", reason: "confidential data needs your approval" };
  const req = (approval_id, expiresIn) => ({ approval_id, target, held: { kind: "flow", flow }, flow, expires_at: Date.now() + expiresIn, line: "9 values from Budget.xlsx > Costs!A1:C3 moved into Q3.xlsx Summary!B2:D4" });
  assert.equal(await xl.isVisible("#approvals-empty"), true);
  bridge.notify("excel", "approval.request", req("xl_1", 90000));
  const card = await xl.waitForSelector("article.card");
  const cardText = (await card.innerText()).replace(/\s+/g, " ");
  assert.match(cardText, /Content from Budget\.xlsx From Costs!A1:C3 What 9 values matched \(found in what the agent wrote\) Sensitivity Confidential Going to Summary!B2:D4 Why held confidential data needs your approval/);
  assert.match(cardText, /Blocked automatically in 1:(29|30)/);
  assert.equal(await xl.isVisible("#approvals-empty"), false);
  for (const name of [/^Allow once/, /^Always allow content from Budget\.xlsx in this workbook$/, /^Block/]) assert.equal(await xl.getByRole("button", { name }).isEnabled(), true);
  assert.equal(await xl.getByRole("button", { name: /^Always allow/ }).textContent(), "Always for this workbook");
  // The countdown runs.
  const shown = await xl.textContent("article.card .countdown strong");
  await xl.waitForFunction((t) => document.querySelector("article.card .countdown strong").textContent !== t, shown, { timeout: 3000 });
  // The buttons are reachable from the keyboard: Tab from the region's heading reaches Allow once.
  await xl.focus("#approvals-h");
  await xl.press("#approvals-h", "Tab");
  assert.equal(await xl.evaluate(() => document.activeElement?.textContent), "Allow once");
  // A second card, to be settled elsewhere; the pane with both cards, for review.
  bridge.notify("excel", "approval.request", req("xl_2", 60000));
  await xl.waitForFunction(() => document.querySelectorAll("article.card").length === 2);
  await page.locator("#xl-pane").screenshot({ path: join(OUT, "excel-pane-held.png") });
  const decided = new Promise((r) => bridge.events.once("approval.decide", (params, conn) => r({ params, app: conn.app })));
  await xl.locator("article.card[data-approval-id='xl_1']").getByRole("button", { name: /^Allow once/ }).click();
  assert.deepEqual(await decided, { params: { approval_id: "xl_1", decision: "allow", scope: "once" }, app: "excel" });
  await xl.waitForSelector("article.card[data-approval-id='xl_1']", { state: "detached" });
  await xl.waitForFunction(() => /You allowed once: content from Budget\.xlsx > Costs!A1:C3/.test(document.getElementById("feed").textContent));
  // The other one is answered on the desktop: approval.resolved removes it, in words.
  bridge.notify("excel", "approval.resolved", { approval_id: "xl_2", state: "denied", decided_by: "events", scope: "once" });
  await xl.waitForSelector("article.card", { state: "detached" });
  const first = await xl.textContent("#feed li:first-child .feed-title");
  assert.equal(first, "Blocked on the desktop: content from Budget.xlsx > Costs!A1:C3");
  assert.equal(await xl.isVisible("#approvals-empty"), true);
  // An incoming flow is told as one: this workbook is its target.
  bridge.notify("excel", "flow.notice", { ...flow, target: { ...target, id: "doc_excel" }, decision: "allow" });
  await xl.waitForFunction(() => /Came into this workbook: from Budget\.xlsx > Costs!A1:C3 → Summary!B2:D4/.test(document.getElementById("feed").textContent));
  // A deletion of a sheet: Allow once / Block only; not answered in time, it goes as blocked.
  bridge.notify("excel", "approval.request", { approval_id: "xl_3", target, held: { kind: "deletion", what: "sheet Costs" }, flow: { what: "sheet Costs", target: { name: "Q3.xlsx" }, location: "sheet Costs", reason: "deletions need your permission" }, expires_at: Date.now() + 1500 });
  await xl.waitForSelector("article.card");
  assert.match(await xl.textContent("article.card h3"), /^Delete sheet Costs from Q3\.xlsx\?$/);
  assert.equal(await xl.getByRole("button", { name: /^Always allow/ }).count(), 0);
  await xl.waitForSelector("article.card", { state: "detached", timeout: 5000 });
  await xl.waitForFunction(() => /Not answered in time, blocked: delete sheet Costs from Q3\.xlsx/.test(document.getElementById("feed").textContent));
});

test("Mark selection as confidential sends label.set for the grid's selection", { skip }, async () => {
  await page.click("table.grid td[data-r='3'][data-c='2']");
  await page.click("table.grid td[data-r='4'][data-c='4']", { modifiers: ["Shift"] });
  const labelled = new Promise((r) => bridge.events.once("label.set", r));
  await frame("excel").click("#mark");
  assert.deepEqual(await labelled, { sheet: "Revenue", address: "B3:D4", sensitivity: "confidential" });
  await frame("excel").waitForFunction(() => /Marked Revenue!B3:D4 as confidential/.test(document.getElementById("mark-message").textContent));
});

test("an unsupported requirement set is -32004 naming it (stand-in without PowerPointApi 1.8)", { skip }, async () => {
  await page.check("#no-tables");
  await page.waitForFunction(() => [...document.querySelectorAll("iframe")].some((f) => f.src.includes("missing=")));
  const t0 = Date.now();
  let r;
  while (Date.now() - t0 < 10000) {
    await new Promise((res) => setTimeout(res, 200));
    if (!bridge.pane("powerpoint")?.registered?.capabilities || bridge.pane("powerpoint").registered.capabilities.includes("PowerPointApi 1.8")) continue;
    r = await bridge.call("powerpoint", "powerpoint.addTable", { slide: 1, rows: [["x"]] });
    break;
  }
  assert.equal(r?.error?.code, -32004);
  assert.equal(r.error.message, "needs PowerPointApi 1.8");
});

test("the administrator's switch: close 4003 shows 'Disabled by your administrator'", { skip }, async () => {
  bridge.policy.excel = false;
  bridge.notify("excel", "policy.changed", { policy: { addin_enabled: false, flows_enabled: true } });
  bridge.disconnect("excel", 4003, "disabled");
  const xl = frame("excel");
  await xl.waitForSelector("#disabled-banner:not([hidden])");
  assert.equal(await xl.textContent("#status-text"), "Disabled by your administrator");
  assert.equal(await xl.isDisabled("#mark"), true);
});

test("no page errors and no CSP violations", { skip }, () => {
  assert.deepEqual(problems, []);
});
