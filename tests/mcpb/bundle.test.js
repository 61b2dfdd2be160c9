// The Claude Desktop extension built by `office-bridge package mcpb`, judged by the
// official MCP Bundle CLI (@anthropic-ai/mcpb from npm, pinned in package.json): `mcpb
// info` reads the bundle, `mcpb unpack` unpacks it, `mcpb validate` accepts its manifest,
// and the unpacked server binary still runs (its executable bit survived the zip).
// Needs OFFICE_BRIDGE_BIN (tests/run.sh sets it); under CI=true a missing binary fails.
// That the unpacked server answers MCP over stdio is bridge/tests/package.rs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = process.env.OFFICE_BRIDGE_BIN ? resolve(ROOT, process.env.OFFICE_BRIDGE_BIN) : null;
const MCPB = join(ROOT, "node_modules/@anthropic-ai/mcpb/dist/cli/cli.js");
const skip = !BIN ? "set OFFICE_BRIDGE_BIN to a built office-bridge to run" : !existsSync(BIN) ? `${BIN} does not exist` : false;
if (skip && process.env.CI === "true") throw new Error(`under CI nothing is skipped: ${skip}`);

// The CLI prints to both streams; its exit code and all it said are what count.
function mcpb(...args) {
  const r = spawnSync(process.execPath, [MCPB, ...args], { encoding: "utf8" });
  const said = `${r.stdout}${r.stderr}`;
  assert.equal(r.status, 0, `mcpb ${args.join(" ")} failed:\n${said}`);
  return said;
}

test("the official mcpb CLI reads, unpacks and validates the bundle, and its server runs", { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), "ob-mcpb-"));
  try {
    const bundle = join(dir, "office-bridge.mcpb");
    const built = execFileSync(BIN, ["package", "mcpb", "--out", bundle], { encoding: "utf8" });
    assert.match(built, /Wrote .*office-bridge\.mcpb/);

    const info = mcpb("info", bundle);
    assert.match(info, /office-bridge\.mcpb/);

    const out = join(dir, "unpacked");
    mcpb("unpack", bundle, out);
    const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
    assert.equal(manifest.server.type, "binary");
    assert.deepEqual(manifest.server.mcp_config.args, ["mcp", "--allow-dir", "${user_config.allowed_folders}"]);
    assert.equal(manifest.user_config.allowed_folders.type, "directory");
    assert.ok(manifest.tools.some((t) => t.name === "excel_read_range"), JSON.stringify(manifest.tools));

    const valid = mcpb("validate", join(out, "manifest.json"));
    assert.match(valid, /Manifest schema validation passes/);

    const server = join(out, manifest.server.entry_point);
    assert.ok(statSync(server).mode & 0o100, "the unpacked server is executable");
    const version = execFileSync(server, ["--version"], { encoding: "utf8" });
    assert.match(version, /^office-bridge \d+\.\d+\.\d+/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
