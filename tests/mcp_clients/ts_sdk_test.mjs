// office-bridge driven by the official TypeScript MCP SDK (@modelcontextprotocol/sdk,
// pinned in package.json) at its default settings: reads a workbook of 100,000 cells
// (big_workbook.py wrote it into the bridge's allowed folder) with xlsx_read, following
// next_range page by page, over HTTPS and through the stdio relay `office-bridge mcp`,
// and checks every value once.
//
// Run with the bridge's CA trusted and its token sent as the other Node tools here are
// (run.sh does this):
//   OB_BRIDGE_ORIGIN=https://localhost:PORT OB_TOKEN_FILE=DATA/token OB_CA_FILE=DATA/tls/ca.pem \
//   node --import ./bearer-preload.mjs ts_sdk_test.mjs URL BRIDGE_BIN DATA_DIR PORT
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const [url, bin, dataDir, port] = process.argv.slice(2);
if (!url || !bin || !dataDir || !port) {
  console.error("usage: ts_sdk_test.mjs URL BRIDGE_BIN DATA_DIR PORT");
  process.exit(2);
}
const ROWS = 1000;
const COLS = 100;
const bigValue = (r, c) => r * 1000 + c + (c % 4) * 0.25; // as big_workbook.py

function cell(a1) {
  const m = /^([A-Z]+)(\d+)$/.exec(a1);
  if (!m) throw new Error(`not a cell: ${a1}`);
  let col = 0;
  for (const ch of m[1]) col = col * 26 + ch.charCodeAt(0) - 64;
  return [Number(m[2]) - 1, col - 1];
}

function check(ok, message) {
  if (!ok) throw new Error(message);
}

async function readAll(transport, how) {
  const client = new Client({ name: "office-bridge-ts-sdk-test", version: "0" });
  await client.connect(transport);
  try {
    const started = performance.now();
    const seen = new Set();
    let args = { path: "big.xlsx" };
    let pages = 0;
    for (;;) {
      const result = await client.callTool({ name: "xlsx_read", arguments: args });
      check(!result.isError, `${how}: xlsx_read failed: ${JSON.stringify(result.content)}`);
      const page = result.structuredContent;
      check(page && typeof page === "object", `${how}: no structured content`);
      pages++;
      const [first, last] = page.address.split(":");
      const [r0, c0] = cell(first);
      const [r1, c1] = cell(last ?? first);
      check(page.values.length === r1 - r0 + 1, `${how}: ${page.address} has ${page.values.length} rows`);
      page.values.forEach((row, r) => {
        check(row.length === c1 - c0 + 1, `${how}: ${page.address} row ${r} has ${row.length} cells`);
        row.forEach((v, c) => {
          const at = `${r0 + r},${c0 + c}`;
          check(!seen.has(at), `${how}: ${at} read twice`);
          seen.add(at);
          const want = bigValue(r0 + r, c0 + c);
          check(v === want, `${how}: row ${r0 + r} col ${c0 + c}: ${v} != ${want}`);
        });
      });
      if (page.next_range === undefined) {
        check(page.complete === undefined, `${how}: the last page says complete: ${page.complete}`);
        break;
      }
      check(page.complete === false, `${how}: complete is ${page.complete} with a next_range`);
      check(page.next_call?.tool === "xlsx_read", `${how}: next_call ${JSON.stringify(page.next_call)}`);
      args = { path: "big.xlsx", sheet: page.sheet, range: page.next_range };
    }
    const seconds = (performance.now() - started) / 1000;
    check(seen.size === ROWS * COLS, `${how}: ${seen.size} cells read`);
    check(pages > 1, `${how}: one page only`);
    console.log(`  ${how}: ${seen.size} cells in ${pages} pages, ${seconds.toFixed(2)} s (${Math.round(seen.size / seconds)} cells/s)`);
  } finally {
    await client.close();
  }
}

try {
  // The token and the CA come from bearer-preload.mjs (undici's global dispatcher, which
  // the SDK's fetch goes through): nothing else is configured.
  await readAll(new StreamableHTTPClientTransport(new URL(url)), "TypeScript SDK, Streamable HTTP");
  await readAll(
    new StdioClientTransport({ command: bin, args: ["--data-dir", dataDir, "mcp", "--port", String(port)], stderr: "inherit" }),
    "TypeScript SDK, stdio relay",
  );
  console.log("ok");
} catch (e) {
  console.error(`FAILED: ${e.stack ?? e}`);
  process.exit(1);
}
