import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { panPlan, parseRegion, planRefusal, regionPlan, squarePlan, zoomPlan, type EditPlan } from '../../src/features/edits/geometry.js';
import { parseEditId } from '../../src/features/edits/ids.js';
import { keepOriginal, prepareEdit } from '../../src/features/edits/render.js';
import { checkedGenerateJobSchema } from '../../src/queues.js';
import { createLocalProvider } from '../../src/worker/providers/local.js';
import type { GenerationRequest } from '../../src/worker/providers/types.js';

const provider = createLocalProvider();

/** A picture from the offline provider, as a result would hold it. */
async function source(width: number, height: number, prompt = 'a red lighthouse on a green cliff'): Promise<Buffer> {
  const [image] = await provider.generate(request({ kind: 'txt2img', prompt, width, height }));
  return image!.data;
}

function request(overrides: Partial<GenerationRequest>): GenerationRequest {
  return {
    kind: 'txt2img',
    prompt: 'stormy sea, blue waves',
    width: 64,
    height: 64,
    seed: 7,
    count: 1,
    model: 'painterly',
    signal: new AbortController().signal,
    onProgress: () => {},
    ...overrides,
  };
}

/** What the worker does for an edit: canvas and mask, the provider, then the kept pixels put back. */
async function runEdit(kind: 'outpaint' | 'inpaint', picture: Buffer, plan: EditPlan, prompt = 'golden sunset sky') {
  const edit = await prepareEdit(kind, picture, plan.width, plan.height, plan.area);
  const [drawn] = await provider.generate(request({ kind, prompt, width: plan.width, height: plan.height, init: edit.canvas, mask: edit.mask }));
  return { provider: drawn!.data, result: (await keepOriginal(drawn!.data, edit)).data };
}

const raw = async (png: Buffer) => sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });

/** The rectangle (x, y, w, h) of an image, as raw RGB. */
async function crop(png: Buffer, x: number, y: number, w: number, h: number): Promise<Buffer> {
  return sharp(png).extract({ left: x, top: y, width: w, height: h }).removeAlpha().raw().toBuffer();
}

/** Mean absolute difference per channel (0–255) of two equally long raw buffers. */
function distance(a: Buffer, b: Buffer): number {
  expect(a.length).toBe(b.length);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

describe('pan, zoom out and make square with the offline provider', () => {
  it.each([
    ['left', 'x'],
    ['right', 'x'],
    ['up', 'y'],
    ['down', 'y'],
  ] as const)('pan %s: the canvas is 1.5× along %s, and the original sits pixel for pixel at the expected offset', async (direction, axis) => {
    const picture = await source(96, 64);
    const plan = panPlan(direction, 96, 64);
    const { result } = await runEdit('outpaint', picture, plan);
    const { info } = await raw(result);
    expect([info.width, info.height]).toEqual(axis === 'x' ? [144, 64] : [96, 96]);

    const offset = { left: [48, 0], right: [0, 0], up: [0, 32], down: [0, 0] }[direction];
    expect(await crop(result, offset[0]!, offset[1]!, 96, 64)).toEqual((await raw(picture)).data);
    // The new strip is painted, not left grey or copied.
    const strip = { left: [0, 0, 48, 64], right: [96, 0, 48, 64], up: [0, 0, 96, 32], down: [0, 64, 96, 32] }[direction] as [
      number,
      number,
      number,
      number,
    ];
    const painted = await crop(result, ...strip);
    expect(distance(painted, Buffer.alloc(painted.length, 128))).toBeGreaterThan(10);
  });

  it.each([1.5, 2] as const)('zoom out %s×: same frame, the original shrunk by that factor in the centre', async (factor) => {
    const picture = await source(120, 90);
    const plan = zoomPlan(factor, 120, 90);
    const { result } = await runEdit('outpaint', picture, plan);
    const { info } = await raw(result);
    expect([info.width, info.height]).toEqual([120, 90]);
    const w = Math.round(120 / factor);
    const h = Math.round(90 / factor);
    expect(plan.area).toEqual({ x: Math.floor((120 - w) / 2), y: Math.floor((90 - h) / 2), w, h });
    const centre = await crop(result, plan.area.x, plan.area.y, w, h);
    const shrunk = await sharp(picture).resize(w, h, { fit: 'fill' }).removeAlpha().raw().toBuffer();
    expect(centre).toEqual(shrunk);
    // And the rest of the frame is new: not what the original had there.
    const corner = await crop(result, 0, 0, plan.area.x, 90);
    expect(distance(corner, await crop(picture, 0, 0, plan.area.x, 90))).toBeGreaterThan(10);
  });

  it('make square: a square of the longer side, the original unchanged in its middle', async () => {
    const picture = await source(96, 48);
    const plan = squarePlan(96, 48);
    expect(plan).toEqual({ width: 96, height: 96, area: { x: 0, y: 24, w: 96, h: 48 } });
    const { result } = await runEdit('outpaint', picture, plan);
    expect(await crop(result, 0, 24, 96, 48)).toEqual((await raw(picture)).data);
    const tall = squarePlan(40, 100);
    expect(tall.area).toEqual({ x: 30, y: 0, w: 40, h: 100 });
  });

  it('the offline provider itself keeps the unmasked pixels and is deterministic', async () => {
    const picture = await source(64, 64);
    const plan = panPlan('right', 64, 64);
    const first = await runEdit('outpaint', picture, plan);
    const second = await runEdit('outpaint', picture, plan);
    expect(first.provider).toEqual(second.provider);
    expect(await crop(first.provider, 0, 0, 64, 64)).toEqual((await raw(picture)).data);
  });

  it('puts the kept pixels back even when a provider redraws everything at another size', async () => {
    const picture = await source(64, 64);
    const plan = panPlan('down', 64, 64);
    const edit = await prepareEdit('outpaint', picture, plan.width, plan.height, plan.area);
    const foreign = await sharp({ create: { width: 50, height: 70, channels: 4, background: { r: 0, g: 255, b: 0, alpha: 1 } } })
      .jpeg()
      .toBuffer();
    const kept = await keepOriginal(foreign, edit);
    expect([kept.width, kept.height]).toEqual([64, 96]);
    expect(await crop(kept.data, 0, 0, 64, 64)).toEqual((await raw(picture)).data);
    const below = await crop(kept.data, 0, 64, 64, 32);
    // The provider's (JPEG, so nearly pure) green fills the new part.
    expect(below[0]).toBeLessThan(8);
    expect(below[1]).toBeGreaterThan(247);
    expect(below[2]).toBeLessThan(8);
  });

  it('refuses a canvas larger than 4096 pixels a side', () => {
    expect(planRefusal(panPlan('right', 3072, 1024))).toMatch(/4608×1024.*at most 4096/);
    expect(planRefusal(panPlan('right', 2048, 2048))).toBeUndefined();
  });
});

describe('Vary (Region) with the offline provider', () => {
  it('changes the region and leaves every pixel outside it as it was', async () => {
    const picture = await source(90, 60);
    const region = parseRegion('top-right');
    expect(region).toBeDefined();
    const plan = regionPlan(region as Exclude<typeof region, { error: string } | undefined>, 90, 60);
    expect(plan).toEqual({ width: 90, height: 60, area: { x: 60, y: 0, w: 30, h: 20 } });
    const { result } = await runEdit('inpaint', picture, plan, 'a white moon');

    const before = (await raw(picture)).data;
    const after = (await raw(result)).data;
    expect(after.length).toBe(before.length);
    let changedOutside = 0;
    for (let y = 0; y < 60; y++) {
      for (let x = 0; x < 90; x++) {
        const inside = x >= 60 && y < 20;
        const p = (y * 90 + x) * 3;
        if (!inside && (after[p] !== before[p] || after[p + 1] !== before[p + 1] || after[p + 2] !== before[p + 2])) changedOutside++;
      }
    }
    expect(changedOutside).toBe(0);
    expect(distance(await crop(result, 60, 0, 30, 20), await crop(picture, 60, 0, 30, 20))).toBeGreaterThan(10);
  });

  it('reads grid cells by several names, and rectangles in per cent', () => {
    const cell = (name: string) => parseRegion(name) as { x: number; y: number };
    expect(cell('top-left')).toMatchObject({ x: 0, y: 0 });
    expect(cell('Left Top')).toMatchObject({ x: 0, y: 0 });
    expect(cell('centre')).toEqual(cell('center'));
    expect(cell('middle')).toEqual(cell('centre'));
    expect(cell('top')).toEqual(cell('top centre'));
    expect(cell('bottom_right')).toMatchObject({ x: 200 / 3, y: 200 / 3 });
    expect(parseRegion('10, 20, 50, 40')).toEqual({ x: 10, y: 20, w: 50, h: 40 });
    expect(parseRegion('10% 20% 50% 40%')).toEqual({ x: 10, y: 20, w: 50, h: 40 });
    expect(regionPlan({ x: 10, y: 20, w: 50, h: 40 }, 200, 100).area).toEqual({ x: 20, y: 20, w: 100, h: 40 });
  });

  it('refuses rectangles outside the picture, too small, negative, or garbage', () => {
    expect(parseRegion('60, 0, 50, 50')).toEqual({ error: expect.stringMatching(/inside the picture/) });
    expect(parseRegion('0, 0, 2, 50')).toEqual({ error: expect.stringMatching(/at least 5%/) });
    expect(parseRegion('0, 0, 100, 100')).toEqual({ error: expect.stringMatching(/whole picture/) });
    for (const garbage of [
      '',
      '-10, 0, 50, 50',
      '1e3, 0, 5, 5',
      '10, 20, 30',
      '10,20,30,40,50',
      'upper left',
      'NaN, 0, 5, 5',
      '🙂',
      'x'.repeat(5000),
    ]) {
      expect(parseRegion(garbage), garbage.slice(0, 20)).toBeUndefined();
    }
  });
});

describe('edit custom_ids and job payloads', () => {
  it('parses only the exact forms', () => {
    expect(parseEditId('edit:panl:1234567890123456789')).toEqual({ kind: 'button', action: 'panl', jobId: '1234567890123456789' });
    expect(parseEditId('edit:regionform:1234567890123456789')).toEqual({ kind: 'region-form', jobId: '1234567890123456789' });
    for (const forged of [
      'edit:panx:1234567890123456789',
      'edit:panl:12',
      'edit:panl:1234567890123456789:1',
      'edit:panl:abc',
      'edit:region',
      ' edit:panl:1234567890123456789',
    ]) {
      expect(parseEditId(forged)).toBeUndefined();
    }
  });

  it('an edit job must carry an area inside its canvas, and only edits carry one', () => {
    const base = {
      jobId: '1234567890123456789',
      prompt: 'p',
      aspect: '1:1',
      width: 100,
      height: 100,
      seed: 1,
      count: 1,
      model: 'painterly',
      modelRef: 'painterly',
      userId: '123',
    };
    expect(checkedGenerateJobSchema.safeParse({ ...base, kind: 'outpaint', area: { x: 0, y: 0, w: 50, h: 100 } }).success).toBe(true);
    expect(checkedGenerateJobSchema.safeParse({ ...base, kind: 'outpaint' }).success).toBe(false);
    expect(checkedGenerateJobSchema.safeParse({ ...base, kind: 'inpaint', area: { x: 60, y: 0, w: 50, h: 10 } }).success).toBe(false);
    expect(checkedGenerateJobSchema.safeParse({ ...base, kind: 'txt2img', area: { x: 0, y: 0, w: 5, h: 5 } }).success).toBe(false);
  });
});
