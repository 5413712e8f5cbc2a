import { decodePng, readPngHeader } from './png';

/** Teams' icon rules: sizes in pixels, and the outline icon is white on transparency. */
export const ICON_SIZES = { color: 192, outline: 32, color32x32: 32 } as const;
export type IconRole = keyof typeof ICON_SIZES;

export function isIconRole(role: string): role is IconRole {
  return Object.hasOwn(ICON_SIZES, role);
}

/**
 * Problems with one icon file, empty when it is fine. `label` names the file in messages.
 * The outline must have only fully transparent pixels or white (#FFFFFF) ones; a white pixel may be
 * partly transparent (anti-aliased edges), a coloured one may not.
 */
export function checkIcon(role: IconRole, png: Buffer, label: string): string[] {
  const size = ICON_SIZES[role];
  let header;
  try {
    header = readPngHeader(png);
  } catch (err) {
    return [`${label}: ${(err as Error).message}; icons must be PNG files`];
  }
  const problems: string[] = [];
  if (header.width !== size || header.height !== size) {
    problems.push(`${label}: is ${header.width}×${header.height} pixels; the ${role} icon must be ${size}×${size}`);
  }
  if (role !== 'outline') return problems;

  let image;
  try {
    image = decodePng(png);
  } catch (err) {
    return [...problems, `${label}: cannot read its pixels (${(err as Error).message})`];
  }
  let offending = 0;
  let first = '';
  for (let i = 0; i < image.width * image.height; i++) {
    const o = i * 4;
    const [r, g, b, a] = [image.data[o], image.data[o + 1], image.data[o + 2], image.data[o + 3]];
    if (a === 0 || (r === 255 && g === 255 && b === 255)) continue;
    offending++;
    if (!first) {
      const hex = [r, g, b].map((c) => (c ?? 0).toString(16).padStart(2, '0')).join('');
      first = ` (first at x=${i % image.width}, y=${Math.floor(i / image.width)}: #${hex} with alpha ${a})`;
    }
  }
  if (offending > 0) {
    problems.push(
      `${label}: ${offending} pixel(s) are neither fully transparent nor white${first}; ` +
        'the outline icon must be white (#FFFFFF) on a transparent background',
    );
  }
  return problems;
}
