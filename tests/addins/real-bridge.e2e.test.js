// The panes against the real Rust bridge: set OFFICE_BRIDGE_BIN to the built binary
// (for example target/debug/office-bridge); skipped otherwise. Starts `office-bridge serve`
// on a free port with a throwaway data dir and policy file, opens the playground it serves
// (addins/ embedded in the binary, the bridge's own CSP) in Chromium with Office.js's CDN
// URL routed to the stand-in, and checks both panes register, then the administrator's switch.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = process.env.OFFICE_BRIDGE_BIN ? resolve(ROOT, process.env.OFFICE_BRIDGE_BIN) : null;
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const skip = !BIN ? "set OFFICE_BRIDGE_BIN to a built office-bridge to run" : !existsSync(BIN) ? `${BIN} does not exist` : !existsSync(CHROMIUM) ? `Chromium not found at ${CHROMIUM}` : false;
const STANDIN = join(ROOT, "addins/standin/office-standin.js");

let proc, browser, page, port, policyFile, origin;
const problems = [];
const logs = [];

function freePort() {
  return new Promise((res) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
  });
}

function writePolicy(excel, powerpoint) {
  writeFileSync(policyFile, JSON.stringify({ addins: { excel: { enabled: excel }, powerpoint: { enabled: powerpoint } } }));
}

before(async () => {
  if (skip) return;
  port = await freePort();
  origin = `https://localhost:${port}`;
  const dir = mkdtempSync(join(tmpdir(), "ob-real-"));
  policyFile = join(dir, "policy.json");
  writePolicy(true, true);
  proc = spawn(BIN, ["serve", "--port", String(port)], { env: { ...process.env, OFFICE_BRIDGE_DATA_DIR: join(dir, "data"), OFFICE_BRIDGE_POLICY: policyFile } });
  proc.stdout.on("data", (d) => logs.push(String(d)));
  proc.stderr.on("data", (d) => logs.push(String(d)));
  const t0 = Date.now();
  while (!logs.join("").includes("is running")) {
    if (Date.now() - t0 > 30000) throw new Error(`the bridge did not start:\n${logs.join("")}`);
    if (proc.exitCode !== null) throw new Error(`the bridge exited:\n${logs.join("")}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const { chromium } = await import("playwright-core");
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"] });
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1600, height: 1000 } });
  await context.route("https://appsforoffice.microsoft.com/**", (route) => route.fulfill({ status: 200, contentType: "text/javascript", body: readFileSync(STANDIN) }));
  page = await context.newPage();
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (/Content Security Policy/i.test(m.text())) problems.push(`console: ${m.text()}`);
  });
});

after(async () => {
  await browser?.close();
  proc?.kill("SIGTERM");
});

const frame = (name) => page.frames().find((f) => f.url().includes(`/${name}/taskpane.html`));

test("both panes register with the real bridge from its playground, under its CSP", { skip }, async () => {
  await page.goto(`${origin}/playground/`);
  await page.waitForFunction(() => document.querySelectorAll("iframe").length === 2);
  for (const app of ["excel", "powerpoint"]) {
    await page.waitForFunction((a) => [...document.querySelectorAll("iframe")].some((f) => f.src.includes(`/${a}/`)), app);
    await frame(app).waitForSelector("#status[data-state=connected]", { timeout: 15000 });
  }
  const health = await page.evaluate(async () => (await fetch("/healthz")).json());
  assert.equal(health.panes_connected, 2, JSON.stringify(health));
  assert.ok(await page.locator("table.grid td", { hasText: "$1,234,567.89" }).count());
  // For review: the playground and each pane at task-pane width, as served by the bridge.
  const out = join(ROOT, "tests/output");
  mkdirSync(out, { recursive: true });
  await page.screenshot({ path: join(out, "playground.png"), fullPage: true });
  for (const app of ["excel", "powerpoint"]) {
    const pane = await page.context().newPage();
    await pane.setViewportSize({ width: 320, height: 640 });
    await pane.goto(`${origin}/${app}/taskpane.html?standin=1`);
    await pane.waitForSelector("#status[data-state=connected]", { timeout: 15000 });
    await pane.screenshot({ path: join(out, `${app}-pane.png`) });
    await pane.close();
  }
});

test("the bridge's pages raise no CSP complaints or page errors", { skip }, () => {
  // Chromium rejects IPv6 literals in CSP sources ("wss://[::1]:PORT ... invalid source"):
  // the bridge's connect-src must not list them ('self' and wss://localhost:PORT suffice).
  assert.deepEqual([...new Set(problems)], []);
});
