import { describe, expect, it } from 'vitest';
import { NotReadyError, runReadinessChecks } from '../../src/web/readiness.js';

describe('readiness answers', () => {
  it('say why a check failed without naming the address a connection tried', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.20.30.40:5432'), { code: 'ECONNREFUSED' });
    const results = await runReadinessChecks(
      [
        { name: 'ok', check: () => undefined },
        { name: 'gateway', check: () => Promise.reject(new NotReadyError('gateway is Reconnecting')) },
        { name: 'postgres', check: () => Promise.reject(refused) },
        { name: 'server', check: () => Promise.reject(new Error('the database system is starting up')) },
        { name: 'slow', check: () => new Promise<void>(() => undefined) },
      ],
      50,
    );
    expect(results).toEqual([
      { name: 'ok', ok: true },
      { name: 'gateway', ok: false, error: 'gateway is Reconnecting' },
      { name: 'postgres', ok: false, error: 'unreachable (ECONNREFUSED)' },
      { name: 'server', ok: false, error: 'the database system is starting up' },
      { name: 'slow', ok: false, error: 'no answer within 50 ms' },
    ]);
  });
});
