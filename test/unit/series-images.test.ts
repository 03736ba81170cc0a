import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { captionHeight, composeSeries, composeSlideshow, gridColumns } from '../../src/features/series/render.js';

const colours = ['#d02020', '#20a040', '#2040d0', '#e0c020', '#a020c0', '#20c0c0', '#f08020', '#808080', '#ffffff', '#402010'];

function solid(colour: string, width = 200, height = 120): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: colour } })
    .png()
    .toBuffer();
}

async function panels(count: number, size?: { width: number; height: number }) {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => ({
      image: await solid(colours[i % colours.length]!, size?.width, size?.height),
      number: i + 1,
      caption: `artist ${i + 1} <&>`,
    })),
  );
}

async function pixel(image: Buffer, x: number, y: number): Promise<[number, number, number]> {
  const { data, info } = await sharp(image).raw().toBuffer({ resolveWithObject: true });
  const offset = (Math.round(y) * info.width + Math.round(x)) * info.channels;
  return [data[offset]!, data[offset + 1]!, data[offset + 2]!];
}

function hex(colour: string): [number, number, number] {
  return [1, 3, 5].map((i) => parseInt(colour.slice(i, i + 2), 16)) as [number, number, number];
}

describe('series composition', () => {
  it('lays 5 panels out in a near-square grid with a caption band under each, in reading order', async () => {
    const image = await composeSeries(await panels(5), { panelSize: 200, gap: 10 });
    const meta = await sharp(image).metadata();
    expect(gridColumns(5)).toBe(3);
    const band = captionHeight(200);
    expect(meta.format).toBe('png');
    expect([meta.width, meta.height]).toEqual([3 * 200 + 2 * 10, 2 * (120 + band) + 10]);
    // Each cell shows its own panel (sampled below the number badge), and the sixth cell is empty.
    for (let i = 0; i < 5; i++) {
      const x = (i % 3) * 210 + 150;
      const y = Math.floor(i / 3) * (120 + band + 10) + 90;
      expect(await pixel(image, x, y)).toEqual(hex(colours[i]!));
    }
    expect(await pixel(image, 2 * 210 + 150, 120 + band + 10 + 90)).toEqual(hex('#101014'));
  });

  it('makes a tall strip with one column and a wide strip with one row', async () => {
    const list = await panels(4);
    const band = captionHeight(200);
    const tall = await sharp(await composeSeries(list, { columns: 1, panelSize: 200, gap: 8 })).metadata();
    expect([tall.width, tall.height]).toEqual([200, 4 * (120 + band) + 3 * 8]);
    const wide = await sharp(await composeSeries(list, { columns: 4, panelSize: 200, gap: 8 })).metadata();
    expect([wide.width, wide.height]).toEqual([4 * 200 + 3 * 8, 120 + band]);
  });

  it("fits panels of other shapes into the first panel's cell and shrinks large panels", async () => {
    const list = await panels(2, { width: 1024, height: 1024 });
    list[1]!.image = await solid('#20a040', 1344, 768);
    const meta = await sharp(await composeSeries(list, { panelSize: 256, gap: 0 })).metadata();
    expect([meta.width, meta.height]).toEqual([512, 256 + captionHeight(256)]);
  });

  it('numbers panels past 9 and refuses an empty series', async () => {
    const image = await composeSeries(await panels(12), { panelSize: 64 });
    const meta = await sharp(image).metadata();
    expect(meta.width).toBe(4 * 64 + 3 * 12);
    await expect(composeSeries([])).rejects.toThrow(RangeError);
  });

  it('writes an animated GIF and WebP with one frame per panel', async () => {
    const list = await panels(3);
    for (const format of ['gif', 'webp'] as const) {
      const animation = await composeSlideshow(list, format, { panelSize: 200 });
      const meta = await sharp(animation, { animated: true }).metadata();
      expect(meta.format).toBe(format);
      expect(meta.pages).toBe(3);
      expect(meta.width).toBe(200);
      expect(meta.pageHeight).toBe(120 + captionHeight(200));
      expect(meta.loop).toBe(0);
    }
  });

  it('writes a series of one panel so far as a single frame in the same format', async () => {
    const list = await panels(1);
    for (const format of ['gif', 'webp'] as const) {
      const meta = await sharp(await composeSlideshow(list, format, { panelSize: 200 }), { animated: true }).metadata();
      expect(meta.format).toBe(format);
      expect(meta.pages ?? 1).toBe(1);
      expect(meta.width).toBe(200);
      expect(meta.height).toBe(120 + captionHeight(200));
    }
  });
});
