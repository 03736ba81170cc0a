import { ApplicationCommandType } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { helpText } from '../../commands/help.js';
import { commands } from '../../commands/index.js';
import { commandsDiffer } from '../../src/bot/commands-sync.js';

const settings = {
  models: [
    { name: 'painterly', ref: 'painterly' },
    { name: 'geometric', ref: 'geometric' },
  ],
};

describe('command definitions', () => {
  const bodies = commands.map((command) => command.data(settings));

  it('are valid for Discord: names, descriptions and choice limits', () => {
    for (const body of bodies) {
      // Slash command names are lower-case words; context-menu names are free text of 1–32 characters.
      const slash = body.type === undefined || body.type === ApplicationCommandType.ChatInput;
      expect(body.name).toMatch(slash ? /^[-_\p{L}\p{N}]{1,32}$/u : /^.{1,32}$/u);
      if ('description' in body && body.description) expect(body.description.length).toBeLessThanOrEqual(100);
      for (const option of ('options' in body ? body.options : undefined) ?? []) {
        expect(option.description.length).toBeLessThanOrEqual(100);
        if ('choices' in option && option.choices) expect(option.choices.length).toBeLessThanOrEqual(25);
      }
    }
  });

  it('offer the configured models as choices of /imagine model', () => {
    const imagine = bodies.find((body) => body.name === 'imagine')!;
    const model = ('options' in imagine ? imagine.options : [])!.find((option) => option.name === 'model')!;
    expect('choices' in model && model.choices?.map((choice) => choice.value)).toEqual(['painterly', 'geometric']);
  });

  it('are not re-registered when Discord already has them (with its own extra fields)', () => {
    const fromDiscord = bodies.map((body, index) => ({
      ...body,
      id: String(index),
      application_id: '1',
      version: '9',
      default_member_permissions: body.default_member_permissions ?? null,
      nsfw: false,
    }));
    expect(commandsDiffer(bodies, fromDiscord)).toBe(false);
    const changed = fromDiscord.map((body) => (body.name === 'help' ? { ...body, description: 'old text' } : body));
    expect(commandsDiffer(bodies, changed)).toBe(true);
    expect(commandsDiffer(bodies, fromDiscord.slice(1))).toBe(true);
  });
});

describe('/help', () => {
  it('fits in one Discord message, whatever the models are called', () => {
    expect(helpText(['painterly', 'geometric'])).toContain('painterly, geometric');
    const many = Array.from({ length: 25 }, (_, n) => `a-rather-long-model-name-${n}`);
    const text = helpText(many);
    expect(text.length).toBeLessThanOrEqual(2000);
    expect(text).toContain('a-rather-long-model-name-0');
  });
});
