import type { APIInteraction } from 'discord.js';
import type { FastifyPluginAsync } from 'fastify';
import { signedByDiscord, type InteractionEndpoint } from '../../bot/http-interactions.js';

/** Discord's interaction payloads are small; a resolved message with many embeds stays well under this. */
const BODY_LIMIT = 1024 * 1024;

/**
 * `POST /interactions` (INTERACTIONS=http): Discord's outgoing webhook for interactions. The
 * signature is checked over the exact bytes received, so this route reads its body as text
 * (only here: the rest of the server keeps Fastify's JSON parser).
 */
export const interactionRoutes =
  (endpoint: InteractionEndpoint): FastifyPluginAsync =>
  async (app) => {
    app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: BODY_LIMIT }, (_request, body, done) => done(null, body));

    app.post('/interactions', { bodyLimit: BODY_LIMIT }, async (request, reply) => {
      const raw = typeof request.body === 'string' ? request.body : '';
      const signed = signedByDiscord(endpoint.publicKey, request.headers['x-signature-ed25519'], request.headers['x-signature-timestamp'], raw);
      if (!signed) return reply.code(401).send({ error: 'invalid request signature' });
      let payload: APIInteraction;
      try {
        payload = JSON.parse(raw) as APIInteraction;
      } catch {
        return reply.code(400).send({ error: 'the body is not JSON' });
      }
      if (typeof payload !== 'object' || payload === null || typeof payload.type !== 'number' || typeof payload.id !== 'string') {
        return reply.code(400).send({ error: 'not an interaction' });
      }
      const answer = endpoint.receive(payload);
      // Sent again with a fresh signature (Discord sends each interaction once): handled once only.
      if (answer === 'duplicate') return reply.code(409).send({ error: 'this interaction was already received' });
      if (answer) return reply.code(200).send(answer);
      // The bot answers through the interaction callback endpoint (as discord.js always does).
      return reply.code(202).send();
    });
  };
