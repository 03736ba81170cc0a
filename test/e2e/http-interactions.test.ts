import { InteractionResponseType } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { fakeDiscordEnv, spawnAtelier } from '../support/processes.js';
import { useStack, type Stack } from '../support/stack.js';

const start = useStack();

function interactionsUrl(stack: Stack): string {
  const url = stack.discord.interactionsEndpointUrl;
  if (!url) throw new Error('the stack registered no interactions endpoint');
  return url;
}

const ping = (id = '1300000000000000000') => JSON.stringify({ id, application_id: '1', type: 1, token: 'x', version: 1 });

describe('INTERACTIONS=http: signed POSTs on /interactions instead of the gateway', () => {
  it('answers /imagine and delivers the result without ever opening a gateway connection', async () => {
    const s = await start({ interactions: 'http' });
    const interaction = s.discord.slashCommand({ name: 'imagine', options: { prompt: 'a lighthouse over http' } });
    const response = await interaction.response();
    expect(response.type).toBe(InteractionResponseType.ChannelMessageWithSource);
    expect(response.data.content).toMatch(/Queued/);
    const result = await s.discord.waitFor(
      () => s.discord.messages().find((m) => m.id === interaction.originalMessageId && m.attachments.length > 0),
      30_000,
      'the result',
    );
    expect(result.content).toContain('a lighthouse over http');
    // Discord got a 202 for the POST and the answer through the callback endpoint.
    expect(s.discord.httpInteractionAnswers.find((a) => a.interactionId === interaction.id)?.status).toBe(202);
    expect(s.discord.identifyCount).toBe(0);
    expect(s.discord.gatewayConnected).toBe(false);
  });

  it('answers PING with PONG, and refuses missing, forged, replayed or tampered signatures with 401', async () => {
    const s = await start({ interactions: 'http' });
    const url = interactionsUrl(s);
    const pong = await s.discord.signedPost(url, ping());
    expect(pong.status).toBe(200);
    expect(await pong.json()).toEqual({ type: InteractionResponseType.Pong });

    const unsigned = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: ping() });
    expect(unsigned.status).toBe(401);
    expect((await s.discord.signedPost(url, ping(), { signature: 'ab'.repeat(64) })).status).toBe(401);
    expect((await s.discord.signedPost(url, ping(), { signature: 'not hex' })).status).toBe(401);
    // A real signature over an old timestamp: a replay.
    expect((await s.discord.signedPost(url, ping(), { timestamp: String(Math.floor(Date.now() / 1000) - 3600) })).status).toBe(401);

    // A slash command signed for one body and sent with another never reaches the bot.
    const genuine = JSON.stringify({ id: '1300000000000000001', type: 2, token: 'x', version: 1, data: { name: 'help', type: 1 } });
    const timestamp = String(Math.floor(Date.now() / 1000));
    const signature = s.discord.sign(genuine, timestamp);
    const before = s.discord.requests.length;
    expect((await s.discord.signedPost(url, genuine.replace('help', 'imagine'), { timestamp, signature })).status).toBe(401);
    expect((await s.discord.signedPost(url, `${genuine} `, { timestamp, signature })).status).toBe(401);
    // Nothing was answered: a refused request does not reach the router.
    const pongAgain = await s.discord.signedPost(url, ping());
    expect(pongAgain.status).toBe(200);
    expect(s.discord.requests.slice(before).filter((r) => r.path.includes('1300000000000000001'))).toEqual([]);
  });

  it('handles an interaction sent again with a fresh signature only once: the copy gets a 409 and changes nothing', async () => {
    const s = await start({ interactions: 'http' });
    const url = interactionsUrl(s);
    const interaction = s.discord.slashCommand({ name: 'imagine', options: { prompt: 'a lighthouse voted for once' } });
    await interaction.response();
    const result = await s.discord.waitFor(
      () => s.discord.messages().find((m) => m.id === interaction.originalMessageId && m.attachments.length > 0),
      30_000,
      'the result',
    );
    const vote = s.discord.button({ customId: `img:vote:${interaction.id}`, message: result, userId: '740000000000000009' });
    await vote.response();
    const votes = async () => (await s.ctx.db.selectFrom('votes').select('user_id').where('request_id', '=', interaction.id).execute()).length;
    expect(await votes()).toBe(1);

    // Someone who saw the signed request sends it again, within the five minutes a signature is good for.
    const again = await s.discord.signedPost(url, JSON.stringify(vote.payload));
    expect(again.status).toBe(409);
    expect(await votes()).toBe(1);
    const callbacks = s.discord.requests.filter((r) => r.method === 'POST' && r.path.startsWith(`/interactions/${vote.id}/`));
    expect(callbacks).toHaveLength(1);
  });

  it(
    'npm run deploy-commands sets INTERACTIONS_URL as the endpoint once it answers PING, and refuses one that does not',
    { timeout: 90_000 },
    async () => {
      const s = await start({ interactions: 'http' });
      const url = interactionsUrl(s);
      s.discord.validationErrors.length = 0;
      const deploy = (interactionsUrlSetting: string) =>
        spawnAtelier('deploy', 'src/bot/deploy.ts', { ...fakeDiscordEnv(s.discord), INTERACTIONS_URL: interactionsUrlSetting, LOG_LEVEL: 'warn' });

      const refused = deploy('http://127.0.0.1:9/interactions');
      expect(await refused.exited).not.toBe(0);
      expect(s.discord.interactionsEndpointUrl).toBe(url);

      const registered = deploy(url);
      expect(await registered.exited).toBe(0);
      const patch = s.discord.requests.filter((r) => r.method === 'PATCH' && r.path === '/applications/@me' && r.status === 200);
      expect(patch).toHaveLength(1);
      expect(patch[0]!.json).toEqual({ interactions_endpoint_url: url });
    },
  );
});
