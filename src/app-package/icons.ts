/**
 * Generator for the Teams app icons in appPackage/: an envelope with an "approved" badge (color.png,
 * 192×192) and a white envelope silhouette on transparency (outline.png, 32×32).
 * The PNGs are committed; run `npx tsx src/app-package/icons.ts` after changing the drawing.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../paths';
import { createImage, encodePng, type RgbaImage } from './png';

type Rgb = readonly [number, number, number];
/** Signed distance: negative inside the shape, positive outside (in pixels). */
type Shape = (x: number, y: number) => number;
type Fill = Rgb | ((x: number, y: number) => Rgb);

const ACCENT_TOP: Rgb = [0x27, 0x6c, 0xbd];
const ACCENT_BOTTOM: Rgb = [0x17, 0x50, 0x97];
const FLAP: Rgb = [0x17, 0x50, 0x97];
const FOLD: Rgb = [0xc8, 0xd8, 0xee];
const WHITE: Rgb = [0xff, 0xff, 0xff];
const GREEN: Rgb = [0x23, 0x9b, 0x56];

const roundedRect =
  (cx: number, cy: number, halfW: number, halfH: number, r: number): Shape =>
  (x, y) => {
    const qx = Math.abs(x - cx) - (halfW - r);
    const qy = Math.abs(y - cy) - (halfH - r);
    return Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - r;
  };

const circle =
  (cx: number, cy: number, r: number): Shape =>
  (x, y) =>
    Math.hypot(x - cx, y - cy) - r;

/** A stroke of the given width along a polyline with round joins and caps. */
const stroke =
  (width: number, ...points: (readonly [number, number])[]): Shape =>
  (x, y) => {
    let best = Infinity;
    for (let i = 0; i + 1 < points.length; i++) {
      const [ax, ay] = points[i]!;
      const [bx, by] = points[i + 1]!;
      const dx = bx - ax;
      const dy = by - ay;
      const t = Math.max(0, Math.min(1, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)));
      best = Math.min(best, Math.hypot(x - ax - t * dx, y - ay - t * dy));
    }
    return best - width / 2;
  };

const intersect =
  (a: Shape, b: Shape): Shape =>
  (x, y) =>
    Math.max(a(x, y), b(x, y));

const SUPERSAMPLE = 4;

/** Fraction of the pixel (px, py) covered by the shape, by supersampling. */
function coverage(shape: Shape, px: number, py: number): number {
  let inside = 0;
  for (let sy = 0; sy < SUPERSAMPLE; sy++) {
    for (let sx = 0; sx < SUPERSAMPLE; sx++) {
      if (shape(px + (sx + 0.5) / SUPERSAMPLE, py + (sy + 0.5) / SUPERSAMPLE) <= 0) inside++;
    }
  }
  return inside / (SUPERSAMPLE * SUPERSAMPLE);
}

/** Composite the shape in the fill colour over the image (source-over). */
function paint(image: RgbaImage, shape: Shape, fill: Fill): void {
  const { width, height, data } = image;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const a = coverage(shape, x, y);
      if (a === 0) continue;
      const [r, g, b] = typeof fill === 'function' ? fill(x + 0.5, y + 0.5) : fill;
      const o = (y * width + x) * 4;
      const da = (data[o + 3] ?? 0) / 255;
      const outA = a + da * (1 - a);
      const mix = (src: number, dst: number): number => Math.round((src * a + dst * da * (1 - a)) / outA);
      data[o] = mix(r, data[o] ?? 0);
      data[o + 1] = mix(g, data[o + 1] ?? 0);
      data[o + 2] = mix(b, data[o + 2] ?? 0);
      data[o + 3] = Math.round(outA * 255);
    }
  }
}

/** Remove the shape from the image (make it transparent where it covers). */
function erase(image: RgbaImage, shape: Shape): void {
  const { width, height, data } = image;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const a = coverage(shape, x, y);
      const o = (y * width + x) * 4 + 3;
      if (a > 0) data[o] = Math.round((data[o] ?? 0) * (1 - a));
    }
  }
}

const verticalGradient =
  (top: Rgb, bottom: Rgb, height: number) =>
  (_x: number, y: number): Rgb => {
    const t = Math.max(0, Math.min(1, y / height));
    return [0, 1, 2].map((i) => Math.round(top[i]! + (bottom[i]! - top[i]!) * t)) as unknown as Rgb;
  };

/** 192×192 full-colour icon: a white envelope on Mailroom blue with a green "approved" badge. */
function renderColorIcon(): RgbaImage {
  const size = 192;
  const image = createImage(size, size);
  const background = verticalGradient(ACCENT_TOP, ACCENT_BOTTOM, size);
  paint(image, roundedRect(96, 96, 96, 96, 0.01), background);

  const body = roundedRect(92, 94, 58, 40, 9); // x 34..150, y 54..134
  paint(image, body, WHITE);
  paint(image, intersect(body, stroke(5, [40, 128], [78, 96])), FOLD);
  paint(image, intersect(body, stroke(5, [144, 128], [106, 96])), FOLD);
  paint(image, intersect(body, stroke(8, [39, 61], [92, 101], [145, 61])), FLAP);

  // Badge: a ring in the background colour separates it from the envelope.
  paint(image, circle(146, 138, 33), background);
  paint(image, circle(146, 138, 27), GREEN);
  paint(image, stroke(7, [133, 139], [142, 148], [159, 128]), WHITE);
  return image;
}

/**
 * 32×32 outline icon: a white envelope silhouette with the flap cut out, on full transparency.
 * Every pixel is either fully transparent or opaque white (#FFFFFF), as Teams requires.
 */
function renderOutlineIcon(): RgbaImage {
  const size = 32;
  const image = createImage(size, size);
  paint(image, roundedRect(16, 16.5, 14, 9.5, 2.5), WHITE); // x 2..30, y 7..26
  erase(image, stroke(2.2, [4, 9], [16, 18.5], [28, 9]));
  const { data } = image;
  for (let o = 0; o < data.length; o += 4) {
    const opaque = (data[o + 3] ?? 0) >= 128;
    data[o] = 255;
    data[o + 1] = 255;
    data[o + 2] = 255;
    data[o + 3] = opaque ? 255 : 0;
  }
  return image;
}

/** Write color.png and outline.png into the given folder (normally appPackage/). */
function writeIcons(dir: string): { color: string; outline: string } {
  const color = path.join(dir, 'color.png');
  const outline = path.join(dir, 'outline.png');
  writeFileSync(color, encodePng(renderColorIcon()));
  writeFileSync(outline, encodePng(renderOutlineIcon()));
  return { color, outline };
}

if (require.main === module) {
  const written = writeIcons(path.join(projectRoot(), 'appPackage'));
  console.log(`wrote ${written.color}\nwrote ${written.outline}`);
}
