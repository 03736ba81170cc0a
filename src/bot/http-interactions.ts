import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { InteractionResponseType, InteractionType, type APIInteraction, type Client } from 'discord.js';
import type { Logger } from 'pino';
import type { PendingPayloads } from './interaction-payload.js';

/** How far a signed timestamp may be from now: an old, replayed request is refused. */
export const SIGNATURE_MAX_AGE_S = 5 * 60;

/** DISCORD_PUBLIC_KEY (64 hex digits, from the developer portal) as a key node:crypto verifies with. */
export function discordPublicKey(hex: string): KeyObject {
  if (!/^[0-9a-f]{64}$/i.test(hex)) throw new Error('must be the application public key: 64 hexadecimal digits');
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(hex, 'hex').toString('base64url') }, format: 'jwk' });
}

/**
 * Whether Discord signed this request: Ed25519 over the timestamp header followed by the raw body.
 * Anything missing or malformed is simply not signed.
 */
export function signedByDiscord(key: KeyObject, signature: unknown, timestamp: unknown, rawBody: string, nowMs = Date.now()): boolean {
  if (typeof signature !== 'string' || typeof timestamp !== 'string') return false;
  if (!/^[0-9a-f]{128}$/i.test(signature) || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > SIGNATURE_MAX_AGE_S) return false;
  try {
    return verify(null, Buffer.from(timestamp + rawBody, 'utf8'), key, Buffer.from(signature, 'hex'));
  } catch {
    return false;
  }
}

/** What the web server's /interactions route needs from the bot. */
export interface InteractionEndpoint {
  publicKey: KeyObject;
  /**
   * Handles a verified interaction. Returns the body of the HTTP answer when the answer is made
   * there (PONG); 'duplicate' for an interaction already received (a signed request sent again
   * within the signature's five minutes), which is not handled twice; undefined when the bot
   * answers through the callback endpoint, as discord.js does for every interaction (the route
   * then answers 202 Accepted).
   */
  receive(payload: APIInteraction): { type: InteractionResponseType } | 'duplicate' | undefined;
}

/** How long an interaction's id is remembered: longer than a signature stays valid. */
const SEEN_MS = 3 * SIGNATURE_MAX_AGE_S * 1000;
/** Ids remembered at most (a busy bot receives a few hundred a minute). */
const SEEN_MAX = 50_000;

/**
 * Feeds interactions that arrived over HTTP to the bot's discord.js client, which builds the same
 * interaction objects as from a gateway dispatch and emits InteractionCreate to the one router.
 * discord.js has no public entry for a raw payload; its InteractionCreate action is what its own
 * gateway handler calls.
 */
export function httpInteractions(client: Client, publicKey: KeyObject, pending: PendingPayloads, logger: Logger): InteractionEndpoint {
  const actions = (client as unknown as { actions: { InteractionCreate: { handle(data: unknown): void } } }).actions;
  // Ids received lately, oldest first (a Map keeps insertion order), with when they arrived.
  const seen = new Map<string, number>();
  /** Whether this is the first time the id arrives at this process. */
  const firstTime = (id: string, now = Date.now()) => {
    for (const [old, at] of seen) {
      if (now - at < SEEN_MS && seen.size < SEEN_MAX) break;
      seen.delete(old);
    }
    if (seen.has(id)) return false;
    seen.set(id, now);
    return true;
  };
  return {
    publicKey,
    receive(payload) {
      if (payload.type === InteractionType.Ping) return { type: InteractionResponseType.Pong };
      if (!firstTime(payload.id)) {
        logger.warn({ interactionId: payload.id }, 'an interaction arrived a second time; not handled again');
        return 'duplicate';
      }
      pending.add(payload);
      try {
        actions.InteractionCreate.handle(payload);
      } catch (error) {
        logger.error({ err: error, interactionId: payload.id }, 'could not read an interaction');
      }
      return undefined;
    },
  };
}
