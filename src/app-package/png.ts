import { deflateSync, inflateSync } from 'node:zlib';

/** An image as 8-bit RGBA samples, row by row, top to bottom (4 bytes a pixel, no padding). */
export interface RgbaImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

export function createImage(width: number, height: number): RgbaImage {
  return { width, height, data: new Uint8Array(width * height * 4) };
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = (CRC_TABLE[(c ^ b) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, body: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])), 0);
  return Buffer.concat([head, body, crc]);
}

/** Encode an RGBA image as a non-interlaced 8-bit truecolour-with-alpha PNG (filter 0 on every row). */
export function encodePng(image: RgbaImage): Buffer {
  const { width, height, data } = image;
  if (data.length !== width * height * 4) throw new Error(`encodePng: expected ${width * height * 4} bytes, got ${data.length}`);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // colour type: RGBA
  ihdr[10] = 0; // compression
  ihdr[11] = 0; // filter method
  ihdr[12] = 0; // no interlace
  const stride = width * 4;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (stride + 1)] = 0;
    raw.set(data.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  }
  return Buffer.concat([
    PNG_SIGNATURE,
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

export interface PngHeader {
  readonly width: number;
  readonly height: number;
  readonly bitDepth: number;
  readonly colourType: number;
  readonly interlace: number;
}

interface PngChunk {
  readonly type: string;
  readonly body: Buffer;
}

function readChunks(png: Buffer): PngChunk[] {
  if (png.length < 8 || !png.subarray(0, 8).equals(PNG_SIGNATURE)) throw new Error('not a PNG file (bad signature)');
  const chunks: PngChunk[] = [];
  let pos = 8;
  while (pos + 12 <= png.length) {
    const length = png.readUInt32BE(pos);
    const type = png.toString('latin1', pos + 4, pos + 8);
    if (pos + 12 + length > png.length) throw new Error(`PNG chunk ${type} runs past the end of the file`);
    const body = png.subarray(pos + 8, pos + 8 + length);
    const crc = png.readUInt32BE(pos + 8 + length);
    if (crc32(png.subarray(pos + 4, pos + 8 + length)) !== crc) throw new Error(`PNG chunk ${type} has a bad CRC`);
    chunks.push({ type, body });
    pos += 12 + length;
    if (type === 'IEND') break;
  }
  if (chunks[0]?.type !== 'IHDR') throw new Error('PNG has no IHDR chunk first');
  return chunks;
}

function parseHeader(ihdr: Buffer): PngHeader {
  if (ihdr.length !== 13) throw new Error('PNG IHDR chunk has the wrong length');
  return {
    width: ihdr.readUInt32BE(0),
    height: ihdr.readUInt32BE(4),
    bitDepth: ihdr[8] ?? 0,
    colourType: ihdr[9] ?? 0,
    interlace: ihdr[12] ?? 0,
  };
}

/** Read only the header (dimensions, format) of a PNG file. */
export function readPngHeader(png: Buffer): PngHeader {
  const first = readChunks(png)[0];
  if (!first) throw new Error('PNG has no IHDR chunk');
  return parseHeader(first.body);
}

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

/**
 * Decode a PNG into RGBA. Supports what image editors export for icons: non-interlaced, bit depth 8
 * (greyscale, RGB, palette with optional tRNS, greyscale+alpha, RGBA) and bit depth 16 (reduced to 8).
 */
export function decodePng(png: Buffer): RgbaImage {
  const chunks = readChunks(png);
  const header = parseHeader(chunks[0]!.body);
  const { width, height, bitDepth, colourType, interlace } = header;
  const channels = CHANNELS[colourType];
  if (channels === undefined) throw new Error(`PNG colour type ${colourType} is not valid`);
  if (interlace !== 0) throw new Error('interlaced PNGs are not supported; export the icon without interlacing');
  if (!(bitDepth === 8 || (bitDepth === 16 && colourType !== 3))) {
    throw new Error(`PNG bit depth ${bitDepth} (colour type ${colourType}) is not supported; export the icon as 8-bit RGBA`);
  }
  const palette = chunks.find((c) => c.type === 'PLTE')?.body;
  const paletteAlpha = chunks.find((c) => c.type === 'tRNS')?.body;
  if (colourType === 3 && !palette) throw new Error('palette PNG without a PLTE chunk');

  const raw = inflateSync(Buffer.concat(chunks.filter((c) => c.type === 'IDAT').map((c) => c.body)));
  const bytesPerSample = bitDepth / 8;
  const bpp = channels * bytesPerSample;
  const stride = width * bpp;
  if (raw.length < (stride + 1) * height) throw new Error('PNG image data is shorter than its dimensions require');

  const rows = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = y * (stride + 1) + 1;
    const dst = y * stride;
    for (let x = 0; x < stride; x++) {
      const cur = raw[src + x] ?? 0;
      const left = x >= bpp ? (rows[dst + x - bpp] ?? 0) : 0;
      const up = y > 0 ? (rows[dst - stride + x] ?? 0) : 0;
      const upLeft = y > 0 && x >= bpp ? (rows[dst - stride + x - bpp] ?? 0) : 0;
      let value: number;
      switch (filter) {
        case 0: value = cur; break;
        case 1: value = cur + left; break;
        case 2: value = cur + up; break;
        case 3: value = cur + ((left + up) >> 1); break;
        case 4: value = cur + paeth(left, up, upLeft); break;
        default: throw new Error(`PNG row ${y} has unknown filter type ${filter}`);
      }
      rows[dst + x] = value & 0xff;
    }
  }

  const image = createImage(width, height);
  const out = image.data;
  const sample = (offset: number): number => rows[offset] ?? 0; // high byte of 16-bit samples
  for (let i = 0; i < width * height; i++) {
    const p = i * bpp;
    const o = i * 4;
    let r: number, g: number, b: number, a = 255;
    switch (colourType) {
      case 0: r = g = b = sample(p); break;
      case 4: r = g = b = sample(p); a = sample(p + bytesPerSample); break;
      case 2: r = sample(p); g = sample(p + bytesPerSample); b = sample(p + 2 * bytesPerSample); break;
      case 6:
        r = sample(p); g = sample(p + bytesPerSample); b = sample(p + 2 * bytesPerSample); a = sample(p + 3 * bytesPerSample);
        break;
      default: {
        const index = sample(p);
        r = palette?.[index * 3] ?? 0; g = palette?.[index * 3 + 1] ?? 0; b = palette?.[index * 3 + 2] ?? 0;
        a = paletteAlpha?.[index] ?? 255;
      }
    }
    out[o] = r; out[o + 1] = g; out[o + 2] = b; out[o + 3] = a;
  }
  // tRNS for greyscale / RGB (a single transparent colour) is rare in icons; honour it for 8-bit images.
  if (paletteAlpha && bitDepth === 8 && (colourType === 0 || colourType === 2)) {
    const key = colourType === 0 ? [paletteAlpha[1], paletteAlpha[1], paletteAlpha[1]] : [paletteAlpha[1], paletteAlpha[3], paletteAlpha[5]];
    for (let o = 0; o < out.length; o += 4) {
      if (out[o] === key[0] && out[o + 1] === key[1] && out[o + 2] === key[2]) out[o + 3] = 0;
    }
  }
  return image;
}
