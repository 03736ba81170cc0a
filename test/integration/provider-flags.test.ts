import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createComfyProvider } from '../../src/worker/providers/comfyui.js';
import { guidanceFor } from '../../src/worker/providers/shared.js';
import type { GenerationRequest } from '../../src/worker/providers/types.js';
import { FakeComfyUI } from '../support/fake-comfyui.js';
import { FakeReplicate } from '../support/fake-replicate.js';
import { replicateProviderOn } from '../support/replicate-provider.js';

type Workflow = Record<string, { class_type: string; inputs: Record<string, unknown> }>;
const nodesOf = (workflow: Workflow, type: string) => Object.values(workflow).filter((node) => node.class_type === type);

function request(overrides: Partial<GenerationRequest> = {}): GenerationRequest {
  return {
    kind: 'txt2img',
    prompt: 'moss on stone',
    width: 512,
    height: 384,
    seed: 42,
    count: 2,
    model: 'sd_xl_base_1.0.safetensors',
    signal: new AbortController().signal,
    onProgress: () => {},
    ...overrides,
  };
}

describe('--chaos, --stylize, --tile and --draft on ComfyUI (the project templates, checked by the fake)', () => {
  let fake: FakeComfyUI;
  beforeEach(async () => {
    fake = new FakeComfyUI();
    fake.delayMs = 20;
    await fake.start();
  });
  afterEach(() => fake.close());

  const comfy = () => createComfyProvider({ url: fake.url, workflowDir: 'workflows', pollMs: 20 });
  const lastWorkflow = () => fake.accepted.at(-1)! as Workflow;

  it('keeps the usual steps, CFG and batch noise without flags', async () => {
    await comfy().generate(request());
    const sampler = nodesOf(lastWorkflow(), 'KSampler')[0]!.inputs;
    expect([sampler.steps, sampler.cfg]).toEqual([30, 7]);
    expect(nodesOf(lastWorkflow(), 'LatentBatchSeedBehavior')[0]!.inputs.seed_behavior).toBe('random');
    expect(nodesOf(lastWorkflow(), 'SeamlessTile')).toHaveLength(0);
  });

  it('--chaos 0 gives the batch one noise (identical starts), --chaos 100 its own per picture', async () => {
    const calm = await comfy().generate(request({ chaos: 0, count: 3 }));
    expect(nodesOf(lastWorkflow(), 'LatentBatchSeedBehavior')[0]!.inputs.seed_behavior).toBe('fixed');
    expect(calm[1]!.data.equals(calm[0]!.data)).toBe(true);
    const wild = await comfy().generate(request({ chaos: 100, count: 3 }));
    expect(nodesOf(lastWorkflow(), 'LatentBatchSeedBehavior')[0]!.inputs.seed_behavior).toBe('random');
    expect(wild[1]!.data.equals(wild[0]!.data)).toBe(false);
    expect(nodesOf(lastWorkflow(), 'KSampler')[0]!.inputs.cfg).toBe(guidanceFor(7, undefined, 100));
  });

  it('--stylize moves the CFG, --draft takes fewer steps', async () => {
    await comfy().generate(request({ stylize: 1000, draft: true, width: 256, height: 192 }));
    const sampler = nodesOf(lastWorkflow(), 'KSampler')[0]!.inputs;
    expect(sampler.cfg).toBe(2.8);
    expect(sampler.steps).toBe(12);
    expect(nodesOf(lastWorkflow(), 'EmptyLatentImage')[0]!.inputs).toMatchObject({ width: 256, height: 192 });
    await comfy().generate(request({ stylize: 0 }));
    expect(nodesOf(lastWorkflow(), 'KSampler')[0]!.inputs.cfg).toBe(9.1);
  });

  it('--tile runs the seamless-tiling template: a wrapping model and a wrapping VAE decode', async () => {
    const images = await comfy().generate(request({ tile: true }));
    expect(images).toHaveLength(2);
    const workflow = lastWorkflow();
    const tile = Object.entries(workflow).find(([, node]) => node.class_type === 'SeamlessTile')!;
    expect(tile[1].inputs).toMatchObject({ tiling: 'enable' });
    expect(nodesOf(workflow, 'KSampler')[0]!.inputs.model).toEqual([tile[0], 0]);
    expect(nodesOf(workflow, 'CircularVAEDecode')[0]!.inputs).toMatchObject({ tiling: 'enable' });
    expect(nodesOf(workflow, 'VAEDecode')).toHaveLength(0);
    // An img2img keeps its own template (tiling applies to new pictures).
    const source = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#557755' } })
      .png()
      .toBuffer();
    await comfy().generate(request({ kind: 'img2img', init: source, strength: 0.5, tile: true, count: 1 }));
    expect(nodesOf(lastWorkflow(), 'SeamlessTile')).toHaveLength(0);
    expect(nodesOf(lastWorkflow(), 'KSampler')[0]!.inputs.steps).toBe(30);
  });
});

describe('--chaos, --stylize, --tile and --draft on Replicate (request shapes checked by the fake)', () => {
  let fake: FakeReplicate;
  beforeEach(async () => {
    fake = new FakeReplicate();
    fake.delayMs = 20;
    await fake.start();
  });
  afterEach(() => fake.close());

  const replicate = () =>
    replicateProviderOn(fake, {
      txt2imgModel: 'black-forest-labs/flux-dev',
      draftModel: 'black-forest-labs/flux-schnell',
      tileModel: 'tstramer/material-diffusion',
    });
  const lastCreation = () => fake.requestsTo('POST', /predictions$/).at(-1)!;
  const base = { model: 'black-forest-labs/flux-dev', width: 576, height: 320 };

  it('sends no guidance or step overrides without flags', async () => {
    await replicate().generate(request(base));
    const { path, body } = lastCreation();
    expect(path).toBe('/v1/models/black-forest-labs/flux-dev/predictions');
    expect(body.input).not.toHaveProperty('guidance');
    expect(body.input).not.toHaveProperty('num_inference_steps');
  });

  it('--stylize and --chaos set the guidance, for Flux and SD-style models alike', async () => {
    await replicate().generate(request({ ...base, stylize: 1000, chaos: 50 }));
    const { input } = lastCreation().body;
    expect(input.guidance).toBe(guidanceFor(3.5, 1000, 50));
    expect(input.guidance_scale).toBe(guidanceFor(7.5, 1000, 50));
    expect(input.guidance).toBeLessThan(3.5);
  });

  it('--draft runs on the draft model with few steps; --tile on the seamless-texture model, by version', async () => {
    await replicate().generate(request({ ...base, draft: true, width: 672, height: 384 }));
    const draft = lastCreation();
    expect(draft.path).toBe('/v1/models/black-forest-labs/flux-schnell/predictions');
    expect(draft.body.input).toMatchObject({ num_inference_steps: 4, width: 672, height: 384 });

    const images = await replicate().generate(request({ ...base, tile: true, width: 1344, height: 768 }));
    expect(images).toHaveLength(2);
    const tile = lastCreation();
    expect(tile.path).toBe('/v1/predictions');
    expect(tile.body.version).toBe(fake.models.get('tstramer/material-diffusion')!.versions[0]);
    // The texture model draws up to 1024 a side: the 16:9 frame is scaled down, keeping its shape.
    expect([tile.body.input.width, tile.body.input.height]).toEqual([1024, 576]);
  });

  it('start-up checks the draft and tile models too', async () => {
    fake.models.delete('tstramer/material-diffusion');
    await expect(replicate().start!()).rejects.toThrow(/material-diffusion.*REPLICATE_TILE_MODEL/);
  });
});
