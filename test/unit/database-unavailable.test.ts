import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '../../src/db/connection.js';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('isDatabaseUnavailable', () => {
  it('recognises a database that is away for now: shutting down, restarting, refusing connections, out of slots, unreachable', () => {
    for (const error of [
      withCode('terminating connection due to administrator command', '57P01'),
      withCode('the database system is starting up', '57P03'),
      withCode('database "atelier" is not currently accepting connections', '55000'),
      withCode('sorry, too many clients already', '53300'),
      new Error('connect ECONNREFUSED 127.0.0.1:5432'),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
    ]) {
      expect(isDatabaseUnavailable(error), error.message).toBe(true);
    }
  });

  it('does not take a wrong query, a conflict or a value for an outage', () => {
    for (const error of [
      withCode('syntax error at or near "selec"', '42601'),
      withCode('duplicate key value violates unique constraint "requests_pkey"', '23505'),
      withCode('invalid byte sequence for encoding "UTF8": 0x00', '22021'),
      new Error('ECONNREFUSED'.toLowerCase()),
    ]) {
      expect(isDatabaseUnavailable(error), error.message).toBe(false);
    }
    expect(isDatabaseUnavailable('ECONNREFUSED')).toBe(false);
    expect(isDatabaseUnavailable(undefined)).toBe(false);
  });
});
