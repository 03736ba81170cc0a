import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config.js';

describe('MODEL_COSTS', () => {
  it('gives models their cost in budget units; unlisted models keep the default', () => {
    const config = parseConfig({ MODEL_COSTS: 'painterly=0, geometric=3' });
    expect(config.models).toEqual([
      { name: 'painterly', ref: 'painterly', cost: 0 },
      { name: 'geometric', ref: 'geometric', cost: 3 },
    ]);
    expect(parseConfig({ MODEL_COSTS: 'geometric=2' }).models[0]).toEqual({ name: 'painterly', ref: 'painterly' });
  });

  it.each([
    ['painterly', /not name=cost/],
    ['painterly=-1', /not name=cost/],
    ['painterly=1.5', /not name=cost/],
    ['flux=1', /"flux" is not one of the models \(painterly, geometric\)/],
  ])('refuses %s, naming the variable', (value, message) => {
    expect(() => parseConfig({ MODEL_COSTS: value })).toThrow(ConfigError);
    expect(() => parseConfig({ MODEL_COSTS: value })).toThrow(message);
    expect(() => parseConfig({ MODEL_COSTS: value })).toThrow(/MODEL_COSTS/);
  });
});

describe('COMMAND_RATE_LIMIT', () => {
  it('reads burst/seconds, defaulting to 5 per 10 s', () => {
    expect(parseConfig({}).rateLimit).toEqual({ burst: 5, refillMs: 10_000 });
    expect(parseConfig({ COMMAND_RATE_LIMIT: '20/60' }).rateLimit).toEqual({ burst: 20, refillMs: 60_000 });
    expect(() => parseConfig({ COMMAND_RATE_LIMIT: 'fast' })).toThrow(/COMMAND_RATE_LIMIT: must be burst\/seconds/);
    expect(() => parseConfig({ COMMAND_RATE_LIMIT: '0/10' })).toThrow(/COMMAND_RATE_LIMIT/);
  });

  it('has a separate, generous INTERACTION_RATE_LIMIT for everything that is not a request for pictures', () => {
    expect(parseConfig({}).interactionRateLimit).toEqual({ burst: 30, refillMs: 30_000 });
    expect(parseConfig({ INTERACTION_RATE_LIMIT: '60/30' }).interactionRateLimit).toEqual({ burst: 60, refillMs: 30_000 });
    expect(() => parseConfig({ INTERACTION_RATE_LIMIT: 'lots' })).toThrow(/INTERACTION_RATE_LIMIT: must be burst\/seconds/);
    expect(() => parseConfig({ INTERACTION_RATE_LIMIT: '5/0' })).toThrow(/INTERACTION_RATE_LIMIT/);
  });
});

describe('OPERATOR_DAILY_BUDGET', () => {
  it('reads a whole number of cost units, 0 (no cap) by default, and names itself when wrong', () => {
    expect(parseConfig({}).OPERATOR_DAILY_BUDGET).toBe(0);
    expect(parseConfig({ OPERATOR_DAILY_BUDGET: '5000' }).OPERATOR_DAILY_BUDGET).toBe(5000);
    expect(() => parseConfig({ OPERATOR_DAILY_BUDGET: 'lots' })).toThrow(/OPERATOR_DAILY_BUDGET/);
    expect(() => parseConfig({ OPERATOR_DAILY_BUDGET: '-1' })).toThrow(/OPERATOR_DAILY_BUDGET/);
  });
});
