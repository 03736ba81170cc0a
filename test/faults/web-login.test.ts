import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../src/redis-server.js';
import { eventually } from '../support/context.js';
import { logIn, Visitor } from '../support/web-visitor.js';
import { FAULT_TIMEOUT_MS, FaultHarness, WAIT_MS } from './harness.js';

let harness: FaultHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** The bot process's web server, once it listens. */
async function listening(h: FaultHarness, base: string): Promise<void> {
  await h.expectation(
    eventually(
      () =>
        fetch(`${base}/healthz`).then(
          (r) => r.ok,
          () => false,
        ),
      WAIT_MS,
      `${base} to listen`,
    ),
  );
}

describe('login and the queue dashboard in the production bot process', () => {
  it('with the login settings, the application owner logs in through Discord and reads the three queues', { timeout: FAULT_TIMEOUT_MS }, async () => {
    const h = (harness = await FaultHarness.start());
    const port = await freePort();
    const publicUrl = `http://127.0.0.1:${port}`;
    h.discord.oauth2.redirectUris.add(`${publicUrl}/auth/callback`);
    const bot = await h.startBot({
      WEB_PORT: String(port),
      WEB_PUBLIC_URL: publicUrl,
      DISCORD_CLIENT_SECRET: h.discord.oauth2.clientSecret,
      SESSION_SECRET: 'a-session-secret-for-the-process-test-0123456789',
      LOG_LEVEL: 'info',
    });
    await listening(h, publicUrl);

    const visitor = new Visitor(publicUrl);
    expect((await visitor.request('/admin/queues')).headers.get('location')).toBe('/auth/login?next=%2Fadmin%2Fqueues');
    const back = await logIn(h.discord, visitor, h.discord.guild(h.discord.defaultGuildId).ownerId, '/admin/queues');
    expect(back.headers.get('location')).toBe('/admin/queues');
    const queues = await visitor.request('/admin/queues/api/queues');
    expect(queues.status).toBe(200);
    expect(((await queues.json()) as { queues: Array<{ name: string }> }).queues.map((q) => q.name).sort()).toEqual([
      'challenge',
      'deliver',
      'generate',
    ]);
    expect(bot.output()).toContain('login with Discord is on');
    expect(bot.output()).not.toContain(h.discord.oauth2.clientSecret);
  });

  it('without them, says which settings are missing and serves no login or dashboard', { timeout: FAULT_TIMEOUT_MS }, async () => {
    const h = (harness = await FaultHarness.start());
    const port = await freePort();
    const bot = await h.startBot({ WEB_PORT: String(port), SESSION_SECRET: 'a-session-secret-for-the-process-test-0123456789', LOG_LEVEL: 'info' });
    await listening(h, `http://127.0.0.1:${port}`);
    for (const path of ['/auth/login', '/admin/queues', '/admin/queues/api/queues']) {
      expect((await fetch(`http://127.0.0.1:${port}${path}`, { redirect: 'manual' })).status, path).toBe(404);
    }
    expect(bot.output()).toContain('login with Discord and the queue dashboard are off: DISCORD_CLIENT_SECRET, WEB_PUBLIC_URL not set');
  });
});
