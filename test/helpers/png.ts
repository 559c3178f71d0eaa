import { inflateSync } from 'node:zlib';

/** A decoded PNG: 8 bits per channel, rows one after the other, `channels` bytes per pixel. */
export interface Png {
  width: number;
  height: number;
  channels: number;
  pixels: Uint8Array;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };

/**
 * Reads a PNG as pdftoppm writes it: 8-bit grey, grey + alpha, RGB or RGBA, not interlaced. Just
 * enough to look at a rendered page's pixels without a dependency; anything else throws.
 */
export function decodePng(buf: Buffer): Png {
  if (!buf.subarray(0, 8).equals(SIGNATURE)) throw new Error('not a PNG');
  let at = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const data: Buffer[] = [];
  while (at < buf.length) {
    const length = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    const body = buf.subarray(at + 8, at + 8 + length);
    at += 12 + length;
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      const depth = body[8]!;
      const colorType = body[9]!;
      const interlace = body[12]!;
      if (depth !== 8 || CHANNELS[colorType] === undefined || interlace !== 0) throw new Error(`PNG of depth ${depth}, color type ${colorType}, interlace ${interlace} is not read here`);
      channels = CHANNELS[colorType]!;
    } else if (type === 'IDAT') data.push(body);
    else if (type === 'IEND') break;
  }
  if (channels === 0) throw new Error('PNG without IHDR');
  const raw = inflateSync(Buffer.concat(data));
  const stride = width * channels;
  const pixels = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = y * stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? pixels[row + x - channels]! : 0;
      const b = y > 0 ? pixels[row - stride + x]! : 0;
      const c = x >= channels && y > 0 ? pixels[row - stride + x - channels]! : 0;
      let v = src[x]!;
      switch (filter) {
        case 0:
          break;
        case 1:
          v += a;
          break;
        case 2:
          v += b;
          break;
        case 3:
          v += (a + b) >> 1;
          break;
        case 4: {
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default:
          throw new Error(`PNG row filter ${filter}`);
      }
      pixels[row + x] = v & 0xff;
    }
  }
  return { width, height, channels, pixels };
}

/** How much of a picture is not its background (its most common colour): 0 for a blank page. */
export function inkShare(png: Png): { share: number; colours: number } {
  const counts = new Map<number, number>();
  const n = png.width * png.height;
  for (let i = 0; i < n; i++) {
    let key = 0;
    for (let c = 0; c < Math.min(3, png.channels); c++) key = key * 256 + png.pixels[i * png.channels + c]!;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const background = Math.max(...counts.values());
  return { share: (n - background) / n, colours: counts.size };
}
