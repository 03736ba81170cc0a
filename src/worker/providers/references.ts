import { PROMPT_MAX } from '../../queues.js';
import { blendComposite, styleAmount } from '../../images/references.js';
import type { GenerationRequest } from './types.js';

/**
 * How a provider without a model of its own for blends or style references still honours them:
 * a blend becomes img2img from its pictures averaged (blendComposite); a --sref on a text prompt
 * becomes img2img from the style picture, kept more of the heavier the weight.
 */
export async function withReferences(request: GenerationRequest, multiImage: boolean): Promise<GenerationRequest> {
  let prepared = request;
  if (request.blend && !multiImage) {
    prepared = { ...prepared, init: await blendComposite(request.blend, request.width, request.height), blend: undefined };
  }
  if (request.style && prepared.kind === 'txt2img') {
    // Weight 0 draws from the prompt alone; 1000 keeps 60% of the style picture's look.
    const strength = Math.max(0.4, 1 - 0.6 * styleAmount(request.style.weight));
    prepared = { ...prepared, kind: 'img2img', init: request.style.image, strength, style: undefined };
    if (strength >= 1) prepared = { ...prepared, kind: 'txt2img', init: undefined, strength: undefined };
  }
  return prepared;
}

/** One caption, four prompts: the caption as it is, and the same subject in three looks. */
export function suggestionsFromCaption(caption: string): string[] {
  const subject = caption
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, PROMPT_MAX - 80);
  return [
    subject,
    `${subject}, oil painting, rich brush strokes`,
    `${subject}, cinematic photograph, dramatic light`,
    `${subject}, watercolour illustration, soft pastel palette`,
  ];
}
