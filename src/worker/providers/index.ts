import type { Config } from '../../config.js';
import { createComfyProvider } from './comfyui.js';
import { createLocalProvider } from './local.js';
import { createOpenAIProvider } from './openai.js';
import { createReplicateProvider } from './replicate.js';
import type { ImageProvider } from './types.js';

/** The provider IMAGE_PROVIDER names, configured from the environment. */
export function createProvider(config: Config): ImageProvider {
  switch (config.IMAGE_PROVIDER) {
    case 'replicate':
      return createReplicateProvider({
        apiToken: config.REPLICATE_API_TOKEN!,
        baseUrl: config.REPLICATE_BASE_URL,
        txt2imgModel: config.models[0]!.ref,
        models: config.models.map((model) => model.ref),
        img2imgModel: config.REPLICATE_IMG2IMG_MODEL,
        upscaleModel: config.REPLICATE_UPSCALE_MODEL,
        inpaintModel: config.REPLICATE_INPAINT_MODEL,
        draftModel: config.REPLICATE_DRAFT_MODEL,
        tileModel: config.REPLICATE_TILE_MODEL,
        blendModel: config.REPLICATE_BLEND_MODEL,
        captionModel: config.REPLICATE_CAPTION_MODEL,
        pollMs: config.REPLICATE_POLL_MS,
      });
    case 'comfyui':
      return createComfyProvider({
        url: config.COMFYUI_URL!,
        workflowDir: config.COMFYUI_WORKFLOW_DIR,
        pollMs: config.COMFYUI_POLL_MS,
      });
    case 'openai':
      return createOpenAIProvider({
        apiKey: config.OPENAI_API_KEY!,
        baseUrl: config.OPENAI_BASE_URL,
        model: config.models[0]!.ref,
      });
    case 'local':
      return createLocalProvider();
  }
}
