import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { discordPublicKey, signedByDiscord } from '../../src/bot/http-interactions.js';
import { exemptFromGlobalLimit } from '../../src/bot/rest-limit.js';
import { ConfigError, parseConfig, parseShardIds } from '../../src/config.js';

const base = { DISCORD_TOKEN: 't', DISCORD_APPLICATION_ID: '123456789012345678' };

describe('SHARD_IDS and SHARD_COUNT', () => {
  it('reads lists, ranges and both mixed, in order and without repeats', () => {
    expect(parseShardIds('0,1')).toEqual([0, 1]);
    expect(parseShardIds('0-3')).toEqual([0, 1, 2, 3]);
    expect(parseShardIds(' 4, 0-2 ,1 ')).toEqual([0, 1, 2, 4]);
  });

  it('names the variable for nonsense, backwards ranges, and shards past SHARD_COUNT', () => {
    for (const bad of ['a', '1-', '-1', '3-1', ',', '0;1', '1e3']) {
      expect(() => parseConfig({ ...base, SHARD_IDS: bad }), bad).toThrow(/SHARD_IDS/);
    }
    expect(() => parseConfig({ ...base, SHARD_IDS: '0-3', SHARD_COUNT: '2' })).toThrow(/SHARD_IDS: shard 2, 3 is not below SHARD_COUNT \(2\)/);
    expect(() => parseConfig({ ...base, SHARD_COUNT: '0' })).toThrow(/SHARD_COUNT/);
    expect(parseConfig({ ...base, SHARD_IDS: '2-3', SHARD_COUNT: '4' })).toMatchObject({ SHARD_IDS: [2, 3], SHARD_COUNT: 4 });
  });
});

describe('INTERACTIONS=http settings', () => {
  const publicKey = 'a'.repeat(64);

  it('needs the public key and a web server to receive on', () => {
    expect(() => parseConfig({ ...base, INTERACTIONS: 'http' })).toThrow(ConfigError);
    expect(() => parseConfig({ ...base, INTERACTIONS: 'http' })).toThrow(/DISCORD_PUBLIC_KEY/);
    expect(() => parseConfig({ ...base, INTERACTIONS: 'http', DISCORD_PUBLIC_KEY: 'xyz' })).toThrow(/DISCORD_PUBLIC_KEY/);
    expect(() => parseConfig({ ...base, INTERACTIONS: 'http', DISCORD_PUBLIC_KEY: publicKey, WEB_PORT: '0' })).toThrow(/WEB_PORT/);
    expect(() => parseConfig({ ...base, INTERACTIONS: 'websocket' })).toThrow(/INTERACTIONS/);
    expect(parseConfig({ ...base, INTERACTIONS: 'http', DISCORD_PUBLIC_KEY: publicKey })).toMatchObject({ INTERACTIONS: 'http' });
    expect(parseConfig(base)).toMatchObject({ INTERACTIONS: 'gateway' });
    expect(() => parseConfig({ ...base, INTERACTIONS_URL: 'ftp://x/interactions' })).toThrow(/INTERACTIONS_URL/);
  });
});

describe('Ed25519 request signatures', () => {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const hex = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('hex');
  const key = discordPublicKey(hex);
  const now = Date.now();
  const timestamp = String(Math.floor(now / 1000));
  const body = '{"type":1}';
  const signature = sign(null, Buffer.from(timestamp + body), privateKey).toString('hex');

  it('accepts exactly what the key signed, recently', () => {
    expect(signedByDiscord(key, signature, timestamp, body, now)).toBe(true);
    expect(signedByDiscord(key, signature, timestamp, `${body} `, now)).toBe(false);
    expect(signedByDiscord(key, signature, String(Number(timestamp) + 1), body, now)).toBe(false);
    expect(signedByDiscord(key, signature, timestamp, body, now + 3_600_000)).toBe(false);
    expect(signedByDiscord(key, undefined, timestamp, body, now)).toBe(false);
    expect(signedByDiscord(key, signature, undefined, body, now)).toBe(false);
    expect(signedByDiscord(key, signature.toUpperCase().replace(/.$/, 'G'), timestamp, body, now)).toBe(false);
    const other = discordPublicKey('0'.repeat(63) + '1');
    expect(signedByDiscord(other, signature, timestamp, body, now)).toBe(false);
  });

  it('refuses a public key that is not 64 hex digits', () => {
    expect(() => discordPublicKey('abc')).toThrow(/64 hexadecimal/);
  });
});

describe('the shared Discord rate limit', () => {
  it('counts everything but interaction callbacks and interaction webhooks, as Discord does', () => {
    expect(exemptFromGlobalLimit('https://discord.com/api/v10/interactions/1234/tok-en/callback?with_response=true')).toBe(true);
    expect(exemptFromGlobalLimit('https://discord.com/api/v10/webhooks/1234/tok-en/messages/@original')).toBe(true);
    expect(exemptFromGlobalLimit('https://discord.com/api/v10/channels/1234/messages')).toBe(false);
    expect(exemptFromGlobalLimit('https://discord.com/api/v10/applications/1234/commands')).toBe(false);
  });
});
