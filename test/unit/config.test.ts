import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';

describe('configuration', () => {
  it('defaults to the offline provider with its two styles', () => {
    const config = parseConfig({});
    expect(config.IMAGE_PROVIDER).toBe('local');
    expect(config.models.map((m) => m.name)).toEqual(['painterly', 'geometric']);
    expect(config.DISCORD_API_URL).toBe('https://discord.com/api');
    expect([config.WEB_PORT, config.METRICS_PORT]).toEqual([8080, 9464]);
    expect(parseConfig({ WEB_PORT: '0' }).WEB_PORT).toBe(0);
  });

  it('names the variable that is wrong', () => {
    expect(() => parseConfig({ WORKER_CONCURRENCY: 'lots' })).toThrow(/WORKER_CONCURRENCY/);
    expect(() => parseConfig({ IMAGE_PROVIDER: 'dalle' })).toThrow(/IMAGE_PROVIDER/);
    expect(() => parseConfig({ DISCORD_API_URL: 'not a url' })).toThrow(/DISCORD_API_URL/);
    expect(() => parseConfig({ IMAGE_PROVIDER: 'replicate' })).toThrow(/REPLICATE_API_TOKEN/);
    expect(() => parseConfig({ IMAGE_PROVIDER: 'comfyui' })).toThrow(/COMFYUI_URL/);
    expect(() => parseConfig({ IMAGE_MODELS: 'bad name=x' })).toThrow(/IMAGE_MODELS/);
    expect(() => parseConfig({ WEB_PORT: '70000' })).toThrow(/WEB_PORT/);
    expect(() => parseConfig({ METRICS_PORT: 'http' })).toThrow(/METRICS_PORT/);
  });

  it('runs OpenAI Images with a key, gpt-image-1 by default, and names OPENAI_API_KEY when it is missing', () => {
    expect(() => parseConfig({ IMAGE_PROVIDER: 'openai' })).toThrow(/OPENAI_API_KEY/);
    expect(() => parseConfig({ IMAGE_PROVIDER: 'openai', OPENAI_API_KEY: 'sk-x', OPENAI_BASE_URL: 'not a url' })).toThrow(/OPENAI_BASE_URL/);
    const config = parseConfig({ IMAGE_PROVIDER: 'openai', OPENAI_API_KEY: 'sk-x' });
    expect(config.models).toEqual([{ name: 'gpt-image-1', ref: 'gpt-image-1' }]);
    expect(config.OPENAI_BASE_URL).toBe('https://api.openai.com/v1');
  });

  it('reads the model list from IMAGE_MODELS, first one the default', () => {
    const config = parseConfig({
      IMAGE_PROVIDER: 'replicate',
      REPLICATE_API_TOKEN: 'r8_x',
      IMAGE_MODELS: 'schnell=black-forest-labs/flux-schnell, sdxl=stability-ai/sdxl:abc',
    });
    expect(config.models).toEqual([
      { name: 'schnell', ref: 'black-forest-labs/flux-schnell' },
      { name: 'sdxl', ref: 'stability-ai/sdxl:abc' },
    ]);
  });
});
