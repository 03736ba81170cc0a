import sharp from 'sharp';
import { GenerationCancelledError, type GeneratedImage, type GenerationRequest, type ImageProvider } from '../../src/worker/providers/types.js';

type Step = { fail: Error } | { hold: Promise<void> } | 'ok';

/**
 * A provider whose behaviour each test scripts: fail the next calls with given errors, hold a call
 * until the test releases it, and otherwise return small real PNGs. Records every request.
 */
export class ScriptedProvider implements ImageProvider {
  readonly name = 'scripted';
  readonly requests: GenerationRequest[] = [];
  private readonly steps: Step[] = [];
  private readonly startedWaiters: Array<(request: GenerationRequest) => void> = [];

  failNext(...errors: Error[]): this {
    for (const error of errors) this.steps.push({ fail: error });
    return this;
  }

  /** The next call waits until `release()` is called (or its signal aborts). */
  holdNext(): { release: () => void } {
    let release!: () => void;
    const hold = new Promise<void>((resolve) => (release = resolve));
    this.steps.push({ hold });
    return { release };
  }

  /** Resolves when the provider receives its next request. */
  nextRequest(): Promise<GenerationRequest> {
    return new Promise((resolve) => this.startedWaiters.push(resolve));
  }

  async generate(request: GenerationRequest): Promise<GeneratedImage[]> {
    this.requests.push(request);
    this.startedWaiters.splice(0).forEach((resolve) => resolve(request));
    const step = this.steps.shift() ?? 'ok';
    if (step !== 'ok' && 'fail' in step) throw step.fail;
    request.onProgress(0.5);
    if (step !== 'ok' && 'hold' in step) {
      await new Promise<void>((resolve, reject) => {
        if (request.signal.aborted) reject(new GenerationCancelledError('aborted'));
        request.signal.addEventListener('abort', () => reject(new GenerationCancelledError('aborted')), { once: true });
        step.hold.then(resolve);
      });
    }
    const width = request.kind === 'upscale' ? request.width * 2 : request.width;
    const height = request.kind === 'upscale' ? request.height * 2 : request.height;
    const count = request.kind === 'upscale' ? 1 : request.count;
    return Promise.all(
      Array.from({ length: count }, async (_, index) => {
        const shade = (request.seed + index * 40) % 256;
        const data = await sharp({ create: { width, height, channels: 3, background: { r: shade, g: 80, b: 255 - shade } } })
          .png()
          .toBuffer();
        return { data, contentType: 'image/png', width, height };
      }),
    );
  }
}
