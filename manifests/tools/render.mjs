// Renders the manifest templates for a port: what `office-bridge manifests --port N --out DIR`
// does on the Rust side. Template format: the files in manifests/templates/ verbatim, with
// every "{{PORT}}" replaced by the port number; *.png files are copied as they are.
// Usage: node manifests/tools/render.mjs [--port 29443] [--out manifests]
import { readdirSync, readFileSync, writeFileSync, mkdirSync, copyFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const TEMPLATES = join(dirname(fileURLToPath(import.meta.url)), "../templates");

export function render(text, port) {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`bad port ${port}`);
  return text.replaceAll("{{PORT}}", String(port));
}

export function renderAll(port, outDir) {
  mkdirSync(outDir, { recursive: true });
  const written = [];
  for (const f of readdirSync(TEMPLATES)) {
    const src = join(TEMPLATES, f);
    const dst = join(outDir, f);
    if (f.endsWith(".png")) copyFileSync(src, dst);
    else writeFileSync(dst, render(readFileSync(src, "utf8"), port));
    written.push(dst);
  }
  return written;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const get = (k, d) => (args.includes(k) ? args[args.indexOf(k) + 1] : d);
  const port = Number(get("--port", "29443"));
  const out = resolve(get("--out", join(TEMPLATES, "..")));
  for (const f of renderAll(port, out)) console.log(f);
}
