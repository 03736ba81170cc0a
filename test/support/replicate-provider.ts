import { createReplicateProvider, type ReplicateProviderOptions } from '../../src/worker/providers/replicate.js';
import type { FakeReplicate } from './fake-replicate.js';

/**
 * The real Replicate provider pointed at a local fake, with the usual three models (Flux Schnell,
 * Flux Dev, Real-ESRGAN); a test adds or replaces the models its feature needs.
 */
export function replicateProviderOn(fake: FakeReplicate, overrides: Partial<ReplicateProviderOptions> = {}) {
  return createReplicateProvider({
    apiToken: fake.token,
    baseUrl: fake.baseUrl,
    txt2imgModel: 'black-forest-labs/flux-schnell',
    img2imgModel: 'black-forest-labs/flux-dev',
    upscaleModel: 'nightmareai/real-esrgan',
    pollMs: 20,
    ...overrides,
  });
}
