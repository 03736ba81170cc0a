import { describe, it, expect } from 'vitest';
import sharp from 'sharp';
import { composeGrid } from '../../src/images/grid.js';
import { fitToSize, ImageTooLargeError, signatureFormat, upscaleImage } from '../../src/images/fit.js';
import { imageSize } from '../../src/images/meta.js';

const solid = (width: number, height: number, colour: { r: number; g: number; b: number }) =>
  sharp({ create: { width, height, channels: 3, background: colour } })
    .png()
    .toBuffer();

/** Gaussian noise barely compresses, so it stands in for a worst-case grainy render. */
const noisy = (size: number) =>
  sharp({
    create: { width: size, height: size, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } },
  })
    .png()
    .toBuffer();

async function pixelAt(png: Buffer, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  const i = (y * info.width + x) * info.channels;
  return [...data.subarray(i, i + 3)];
}

const RED = { r: 220, g: 20, b: 20 };
const GREEN = { r: 20, g: 200, b: 40 };
const BLUE = { r: 20, g: 40, b: 220 };
const WHITE = { r: 250, g: 250, b: 250 };

describe('composeGrid', () => {
  it('lays 4 images out 2×2 with the gap between them', async () => {
    const images = await Promise.all([RED, GREEN, BLUE, WHITE].map((c) => solid(512, 512, c)));
    const grid = await composeGrid(images, { gap: 8 });
    expect(await imageSize(grid)).toEqual({ width: 1032, height: 1032 });
    // Each quadrant holds its image, in reading order.
    expect(await pixelAt(grid, 100, 100)).toEqual([220, 20, 20]);
    expect(await pixelAt(grid, 900, 100)).toEqual([20, 200, 40]);
    expect(await pixelAt(grid, 100, 900)).toEqual([20, 40, 220]);
    expect(await pixelAt(grid, 900, 900)).toEqual([250, 250, 250]);
  });

  it('puts 2 images side by side, cells keeping the first image’s aspect', async () => {
    const images = await Promise.all([solid(640, 384, RED), solid(640, 384, BLUE)]);
    const grid = await composeGrid(images, { gap: 10 });
    expect(await imageSize(grid)).toEqual({ width: 1290, height: 384 });
    expect(await pixelAt(grid, 50, 200)).toEqual([220, 20, 20]);
    expect(await pixelAt(grid, 1200, 200)).toEqual([20, 40, 220]);
  });

  it('leaves the 4th cell empty for 3 images', async () => {
    const images = await Promise.all([RED, GREEN, BLUE].map((c) => solid(256, 256, c)));
    const grid = await composeGrid(images, { gap: 4, background: '#000000' });
    expect(await imageSize(grid)).toEqual({ width: 516, height: 516 });
    expect(await pixelAt(grid, 400, 400)).toEqual([0, 0, 0]);
  });

  it('shrinks the grid to maxSize on its long side', async () => {
    const images = await Promise.all([RED, GREEN, BLUE, WHITE].map((c) => solid(1024, 1024, c)));
    const size = await imageSize(await composeGrid(images));
    expect(Math.max(size.width, size.height)).toBeLessThanOrEqual(2048);
    expect(size.width).toBeGreaterThan(2000);

    const small = await imageSize(await composeGrid(images, { maxSize: 800 }));
    expect(Math.max(small.width, small.height)).toBeLessThanOrEqual(800);
  });

  it('returns a single image resized to fit', async () => {
    const one = await composeGrid([await solid(3000, 1500, GREEN)], { maxSize: 1000 });
    expect(await imageSize(one)).toEqual({ width: 1000, height: 500 });
  });

  it('draws number badges in the cell corners only when asked', async () => {
    const images = await Promise.all([WHITE, WHITE].map((c) => solid(400, 400, c)));
    const plain = await composeGrid(images);
    const labelled = await composeGrid(images, { labels: true });
    // The dark badge sits in each cell's top-left corner; the rest is untouched.
    const corner = await pixelAt(labelled, 12, 12);
    expect(corner[0]!).toBeLessThan(200);
    const secondCorner = await pixelAt(labelled, 408 + 12, 12);
    expect(secondCorner[0]!).toBeLessThan(200);
    expect(await pixelAt(labelled, 300, 300)).toEqual(await pixelAt(plain, 300, 300));
  });

  it('rejects an empty list', async () => {
    await expect(composeGrid([])).rejects.toThrow(RangeError);
  });
});

describe('fitToSize', () => {
  it('returns a PNG that already fits untouched', async () => {
    const png = await solid(256, 256, RED);
    const fitted = await fitToSize(png, 8 * 1024 * 1024, 'atelier-42');
    expect(fitted.data).toBe(png);
    expect(fitted).toMatchObject({ contentType: 'image/png', filename: 'atelier-42.png' });
  });

  it('names JPEG, WebP and GIF files that fit by what they are, and re-encodes bytes that are no picture it knows', async () => {
    const picture = sharp({ create: { width: 64, height: 48, channels: 3, background: '#3a6ea5' } });
    const jpeg = await picture.clone().jpeg().toBuffer();
    const webp = await picture.clone().webp().toBuffer();
    const gif = await picture.clone().gif().toBuffer();
    expect(await fitToSize(jpeg, 1_000_000, 'a')).toEqual({ data: jpeg, contentType: 'image/jpeg', filename: 'a.jpg' });
    expect(await fitToSize(webp, 1_000_000, 'b')).toEqual({ data: webp, contentType: 'image/webp', filename: 'b.webp' });
    expect(await fitToSize(gif, 1_000_000, 'c')).toEqual({ data: gif, contentType: 'image/gif', filename: 'c.gif' });
    expect([jpeg, webp, gif].map(signatureFormat)).toEqual(['jpeg', 'webp', 'gif']);
    // Bytes that only start like a WebP are none: the long way finds they are no picture at all.
    const fake = Buffer.concat([Buffer.from('RIFF0000WEBX'), Buffer.alloc(32)]);
    expect(signatureFormat(fake)).toBeUndefined();
    await expect(fitToSize(fake, 1_000_000, 'd')).rejects.toThrow();
    expect(signatureFormat(Buffer.from([0x89, 0x50]))).toBeUndefined();
  });

  it('re-encodes a PNG that is too big to under the limit', async () => {
    const png = await noisy(1024);
    const limit = Math.floor(png.length / 4);
    const fitted = await fitToSize(png, limit, 'big');
    expect(fitted.data.length).toBeLessThanOrEqual(limit);
    const meta = await sharp(fitted.data).metadata();
    expect(`image/${meta.format}`).toBe(fitted.contentType);
    expect(fitted.filename).toMatch(meta.format === 'jpeg' ? /^big\.jpg$/ : /^big\.webp$/);
    // Quality was enough: no need to shrink.
    expect([meta.width, meta.height]).toEqual([1024, 1024]);
  });

  it('shrinks the picture when no quality setting is enough', async () => {
    const png = await noisy(1024);
    const fitted = await fitToSize(png, 100_000, 'small');
    expect(fitted.data.length).toBeLessThanOrEqual(100_000);
    expect(fitted.contentType).toBe('image/jpeg');
    const size = await imageSize(fitted.data);
    expect(size.width).toBeLessThan(1024);
    expect(size.width).toBeGreaterThanOrEqual(256);
    expect(size.width).toBe(size.height);
  });

  it('throws ImageTooLargeError when even the smallest version cannot fit', async () => {
    const png = await noisy(512);
    const attempt = fitToSize(png, 100, 'nope');
    await expect(attempt).rejects.toBeInstanceOf(ImageTooLargeError);
    await expect(attempt).rejects.toThrow(/too large.*100 bytes/);
  });
});

describe('upscaleImage', () => {
  it('doubles both sides by default and keeps the aspect', async () => {
    const up = await upscaleImage(await solid(300, 200, BLUE));
    expect(await imageSize(up)).toEqual({ width: 600, height: 400 });
    expect((await sharp(up).metadata()).format).toBe('png');
  });
});
