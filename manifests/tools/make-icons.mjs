// Writes the add-in icons (addins/assets/*.png, *.svg): a brand-blue rounded square with two
// white arrows (data moving between documents). Plain Node: pixels drawn with 4x4
// supersampling, PNG written with zlib. Run: npm run icons
import { deflateSync } from "node:zlib";
import { writeFileSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const out = join(dirname(fileURLToPath(import.meta.url)), "../../addins/assets");
mkdirSync(out, { recursive: true });

const CRC = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (b) => {
  let c = 0xffffffff;
  for (const x of b) c = CRC[(c ^ x) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};
function chunk(type, data) {
  const b = Buffer.alloc(12 + data.length);
  b.writeUInt32BE(data.length, 0);
  b.write(type, 4, "ascii");
  data.copy(b, 8);
  b.writeUInt32BE(crc32(b.subarray(4, 8 + data.length)), 8 + data.length);
  return b;
}
function png(size, rgba) {
  const raw = Buffer.alloc((size * 4 + 1) * size);
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0;
    rgba.copy(raw, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; ihdr[9] = 6; // 8-bit RGBA
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw, { level: 9 })), chunk("IEND", Buffer.alloc(0))]);
}

// Shapes in unit coordinates (0..1).
const inRoundRect = (x, y, r) => {
  const cx = Math.min(Math.max(x, r), 1 - r), cy = Math.min(Math.max(y, r), 1 - r);
  return (x - cx) ** 2 + (y - cy) ** 2 <= r * r && x >= 0 && x <= 1 && y >= 0 && y <= 1;
};
function inArrow(x, y, yc, dir) {
  const t = 0.09, x0 = 0.22, x1 = 0.78, head = 0.17, hh = 0.15;
  const tip = dir > 0 ? x1 : x0, base = dir > 0 ? x1 - head : x0 + head;
  const inBar = Math.abs(y - yc) <= t / 2 && (dir > 0 ? x >= x0 && x <= base : x <= x1 && x >= base);
  const along = dir > 0 ? x - base : base - x;
  const inHead = along >= 0 && along <= head && Math.abs(y - yc) <= hh * (1 - along / head);
  return inBar || inHead || tip === null;
}
const arrows = (x, y) => inArrow(x, y, 0.37, 1) || inArrow(x, y, 0.63, -1);

function render(size, { outline = false } = {}) {
  const buf = Buffer.alloc(size * size * 4);
  const S = 4;
  for (let py = 0; py < size; py++)
    for (let px = 0; px < size; px++) {
      let bg = 0, fg = 0;
      for (let sy = 0; sy < S; sy++)
        for (let sx = 0; sx < S; sx++) {
          const x = (px + (sx + 0.5) / S) / size, y = (py + (sy + 0.5) / S) / size;
          if (outline) {
            // Teams outline icon: white on transparent. A rounded frame plus the arrows.
            const frame = inRoundRect(x, y, 0.2) && !inRoundRect((x - 0.07) / 0.86, (y - 0.07) / 0.86, 0.16);
            if (frame || arrows(x, y)) fg++;
          } else if (inRoundRect(x, y, 0.2)) {
            if (arrows(x, y)) fg++;
            else bg++;
          }
        }
      const n = S * S, i = (py * size + px) * 4;
      const a = (bg + fg) / n;
      if (a === 0) continue;
      const wf = fg / (bg + fg);
      buf[i] = Math.round(0x0f * (1 - wf) + 255 * wf);
      buf[i + 1] = Math.round(0x6c * (1 - wf) + 255 * wf);
      buf[i + 2] = Math.round(0xbd * (1 - wf) + 255 * wf);
      buf[i + 3] = Math.round(255 * a);
    }
  return png(size, buf);
}

for (const size of [16, 32, 64, 80, 128, 192]) writeFileSync(join(out, `icon-${size}.png`), render(size));
writeFileSync(join(out, "outline-32.png"), render(32, { outline: true }));
writeFileSync(
  join(out, "icon.svg"),
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100" role="img" aria-label="office-bridge">
  <rect width="100" height="100" rx="20" fill="#0f6cbd"/>
  <path fill="#fff" d="M22 32.5h39v-8.5l17 13-17 13v-8.5H22z M78 58.5H39v-8.5l-17 13 17 13v-8.5h39z"/>
</svg>
`,
);
console.log(`icons written to ${out}`);
