// The manifests: XML ones against Microsoft's schemas with xmllint, the unified JSON one with
// office-addin-manifest (offline: it validates against the schema bundled in
// @microsoft/app-manifest), and the port templates against the checked-in files.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, writeFileSync, mkdtempSync, copyFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { render, TEMPLATES } from "../../manifests/tools/render.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const MANIFESTS = join(ROOT, "manifests");
// OFFICE_BRIDGE_XSD_DIR overrides where the schemas are (to try the skip rule).
const XSD_DIR = process.env.OFFICE_BRIDGE_XSD_DIR ?? join(ROOT, "../shared/office-manifest-xsd");
const XSD = join(XSD_DIR, "OfficeAppManifestV1_1.xsd");
const CI = process.env.CI === "true";

const IDS = {
  "excel.xml": "7b0f2c4e-3a51-4d8e-9c2b-5e1f0a6d8b31",
  "powerpoint.xml": "2d9e6a13-8f47-4c05-b1d2-94a7c3e5f608",
  "manifest.json": "4c8a1f2e-6b3d-4e97-a5c1-0d2f7b9e3a64",
};

function hasXmllint() {
  return spawnSync("xmllint", ["--version"]).status === 0;
}

for (const file of ["excel.xml", "powerpoint.xml"]) {
  test(`${file} validates against OfficeAppManifestV1_1.xsd (xmllint)`, (t) => {
    if (!existsSync(XSD)) {
      const why = `the schemas are not at ${XSD_DIR} (../shared/office-manifest-xsd relative to the repo root)`;
      if (CI) assert.fail(`${why}; under CI=true this check may not be skipped`);
      t.skip(`${why}: XML schema check skipped`);
      return;
    }
    if (!hasXmllint()) {
      if (CI) assert.fail("xmllint is not installed (apt-get install -y libxml2-utils); under CI=true this check may not be skipped");
      t.skip("xmllint is not installed (apt-get install -y libxml2-utils): XML schema check skipped");
      return;
    }
    const r = spawnSync("xmllint", ["--noout", "--schema", XSD, join(MANIFESTS, file)], { encoding: "utf8" });
    assert.equal(r.status, 0, `xmllint failed:\n${r.stderr}`);
    assert.match(r.stderr, /validates/);
  });
}

function validateJson(path) {
  const cli = join(ROOT, "node_modules/office-addin-manifest/cli.js");
  return spawnSync(process.execPath, [cli, "validate", path], {
    encoding: "utf8",
    timeout: 120000,
  });
}

test("manifest.json validates with office-addin-manifest (offline), and a broken one does not", () => {
  const ok = validateJson(join(MANIFESTS, "manifest.json"));
  assert.equal(ok.status, 0, `office-addin-manifest validate failed:\n${ok.stdout}\n${ok.stderr}`);
  const dir = mkdtempSync(join(tmpdir(), "ob-manifest-"));
  const bad = JSON.parse(readFileSync(join(MANIFESTS, "manifest.json"), "utf8"));
  bad.extensions[0].runtimes[0].code.unknownField = 1;
  writeFileSync(join(dir, "manifest.json"), JSON.stringify(bad));
  for (const png of ["color.png", "outline.png"]) copyFileSync(join(MANIFESTS, png), join(dir, png));
  const r = validateJson(join(dir, "manifest.json"));
  assert.notEqual(r.status, 0, "the validator must reject an invalid manifest (else the check above proves nothing)");
});

test("the checked-in manifests are the templates rendered for port 29443", () => {
  for (const f of readdirSync(TEMPLATES)) {
    const checkedIn = readFileSync(join(MANIFESTS, f));
    const tpl = readFileSync(join(TEMPLATES, f));
    if (f.endsWith(".png")) assert.ok(checkedIn.equals(tpl), f);
    else {
      assert.equal(checkedIn.toString("utf8"), render(tpl.toString("utf8"), 29443), `${f}: run npm run manifests`);
      assert.ok(tpl.toString("utf8").includes("{{PORT}}"), `${f} template has the placeholder`);
      assert.ok(!checkedIn.toString("utf8").includes("{{"), `${f} has no placeholder left`);
    }
  }
  assert.match(render(readFileSync(join(TEMPLATES, "excel.xml"), "utf8"), 4443), /https:\/\/localhost:4443\/excel\/taskpane.html/);
});

test("stable ids; pages and icons the manifests name exist in addins/ and are real PNGs of the right size", () => {
  const files = { "excel.xml": "", "powerpoint.xml": "", "manifest.json": "" };
  for (const f of Object.keys(files)) {
    files[f] = readFileSync(join(MANIFESTS, f), "utf8");
    assert.ok(files[f].includes(IDS[f]), `${f} keeps its id ${IDS[f]}`);
  }
  const urls = new Set();
  for (const text of Object.values(files)) for (const m of text.matchAll(/https:\/\/localhost:29443\/([^"<\s]*)/g)) urls.add(m[1]);
  for (const u of urls) {
    const path = u === "" ? "index.html" : u;
    assert.ok(existsSync(join(ROOT, "addins", path)), `addins/${path} (named by a manifest) exists`);
    if (path.endsWith(".png")) {
      const png = readFileSync(join(ROOT, "addins", path));
      assert.equal(png.subarray(1, 4).toString(), "PNG");
      const size = Number(/icon-(\d+)\.png$/.exec(path)[1]);
      assert.equal(png.readUInt32BE(16), size, `${path} width`);
      assert.equal(png.readUInt32BE(20), size, `${path} height`);
    }
  }
  assert.ok(urls.has("excel/taskpane.html") && urls.has("powerpoint/taskpane.html"));
  for (const [f, w] of [["color.png", 192], ["outline.png", 32]]) assert.equal(readFileSync(join(MANIFESTS, f)).readUInt32BE(16), w, f);
});

test("ExcelApi is not a base requirement of the manifest shared with PowerPoint", () => {
  const m = JSON.parse(readFileSync(join(MANIFESTS, "manifest.json"), "utf8"));
  assert.equal(m.extensions.length, 1);
  const ext = m.extensions[0];
  assert.deepEqual(ext.requirements.scopes.sort(), ["presentation", "workbook"]);
  assert.equal(ext.requirements.capabilities, undefined);
  for (const part of [...ext.runtimes, ...ext.ribbons]) {
    const caps = part.requirements?.capabilities ?? [];
    if (caps.some((c) => c.name === "ExcelApi")) assert.deepEqual(part.requirements.scopes, ["workbook"]);
  }
  assert.ok(!readFileSync(join(MANIFESTS, "powerpoint.xml"), "utf8").includes("ExcelApi"));
});

