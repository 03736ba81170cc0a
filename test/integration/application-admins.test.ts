import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DiscordOAuth } from '../../src/web/auth/discord.js';

const BOT_TOKEN = 'bot-token-for-the-test';
let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

/** `GET /v10/applications/@me` answering `application` to the bot token, 401 to anything else. */
async function discordWith(application: object): Promise<DiscordOAuth> {
  server = createServer((req, res) => {
    const ok = req.url === '/api/v10/applications/@me' && req.headers.authorization === `Bot ${BOT_TOKEN}`;
    res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
    res.end(JSON.stringify(ok ? application : { message: '401: Unauthorized', code: 0 }));
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
  return new DiscordOAuth({ apiUrl, clientId: '1', clientSecret: 'x', redirectUri: 'http://127.0.0.1/auth/callback', botToken: BOT_TOKEN });
}

const member = (id: string, role: string, state = 2) => ({ user: { id }, team_id: '900', membership_state: state, role, permissions: ['*'] });

describe('who counts as the application’s admins', () => {
  it('an application without a team: its owner', async () => {
    const discord = await discordWith({ id: '1', owner: { id: '800000000000000001' }, team: null });
    expect(await discord.applicationAdmins()).toEqual(['800000000000000001']);
  });

  it('a team: its owner and accepted admins and developers, not read-only members or pending invitations', async () => {
    const discord = await discordWith({
      id: '1',
      owner: { id: '800000000000000009' }, // the team's pseudo-user
      team: {
        id: '900',
        owner_user_id: '800000000000000001',
        members: [
          member('800000000000000002', 'admin'),
          member('800000000000000003', 'developer'),
          member('800000000000000004', 'read_only'),
          member('800000000000000005', 'admin', 1),
        ],
      },
    });
    expect(await discord.applicationAdmins()).toEqual(['800000000000000001', '800000000000000002', '800000000000000003']);
  });
});
