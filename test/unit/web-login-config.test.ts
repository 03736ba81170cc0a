import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { RunningBot } from '../../src/bot/bot.js';
import { parseConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { webLoginFrom } from '../../src/runtime.js';
import { DiscordOAuth } from '../../src/web/auth/discord.js';
import { safeNextPath } from '../../src/web/auth/next-path.js';

const SECRET = 'x'.repeat(48);

describe('login settings', () => {
  it('reads WEB_PUBLIC_URL without a trailing slash, SESSION_SECRET and ADMIN_USER_IDS as a list', () => {
    const config = parseConfig({
      DISCORD_CLIENT_SECRET: 'client-secret',
      WEB_PUBLIC_URL: 'https://atelier.example/',
      SESSION_SECRET: SECRET,
      ADMIN_USER_IDS: ' 712345678901234567, 712345678901234568 ,',
    });
    expect(config.WEB_PUBLIC_URL).toBe('https://atelier.example');
    expect(config.ADMIN_USER_IDS).toEqual(['712345678901234567', '712345678901234568']);
    expect(parseConfig({}).ADMIN_USER_IDS).toEqual([]);
  });

  it('sends the member’s browser to Discord’s own approval page, even when the server’s calls go through a REST proxy', () => {
    const config = parseConfig({ DISCORD_API_URL: 'http://nirn:8080/api' });
    expect(config.DISCORD_AUTHORIZE_URL).toBe('https://discord.com/oauth2/authorize');
    const oauth = new DiscordOAuth({
      apiUrl: config.DISCORD_API_URL,
      authorizeUrl: config.DISCORD_AUTHORIZE_URL,
      clientId: '712345678901234567',
      clientSecret: 'client-secret',
      redirectUri: 'https://atelier.example/auth/callback',
      botToken: 'token',
    });
    const page = new URL(oauth.authorizeUrl('state', 'challenge'));
    expect(`${page.origin}${page.pathname}`).toBe('https://discord.com/oauth2/authorize');
    expect(page.searchParams.get('redirect_uri')).toBe('https://atelier.example/auth/callback');
  });

  it('names the login variable that is wrong', () => {
    expect(() => parseConfig({ SESSION_SECRET: 'short' })).toThrow(/SESSION_SECRET: must be at least 32 characters/);
    expect(() => parseConfig({ WEB_PUBLIC_URL: 'atelier.example' })).toThrow(/WEB_PUBLIC_URL/);
    expect(() => parseConfig({ WEB_PUBLIC_URL: 'ftp://atelier.example' })).toThrow(/WEB_PUBLIC_URL/);
    expect(() => parseConfig({ ADMIN_USER_IDS: '7123,@everyone' })).toThrow(/ADMIN_USER_IDS/);
  });

  it('leaves login and the dashboard off, saying which settings are missing', () => {
    const lines: string[] = [];
    const logger = createLogger('info', new Writable({ write: (chunk, _encoding, done) => void (lines.push(String(chunk)), done()) }));
    const config = parseConfig({ DISCORD_TOKEN: 'token', DISCORD_APPLICATION_ID: '712345678901234560', SESSION_SECRET: SECRET });
    // The bot is not looked at when login is off.
    expect(webLoginFrom(config, {} as RunningBot, logger)).toEqual({});
    const line = JSON.parse(lines.join('')) as { msg: string; missing: string[] };
    expect(line.missing).toEqual(['DISCORD_CLIENT_SECRET', 'WEB_PUBLIC_URL']);
    expect(line.msg).toMatch(/^login with Discord and the queue dashboard are off: DISCORD_CLIENT_SECRET, WEB_PUBLIC_URL not set/);
  });
});

describe('the return path after a login', () => {
  it('keeps local paths with their query', () => {
    expect(safeNextPath('/admin/queues')).toBe('/admin/queues');
    expect(safeNextPath('/admin/queues/queue/generate?status=failed')).toBe('/admin/queues/queue/generate?status=failed');
  });

  it.each([
    '//evil.example',
    '///evil.example',
    'https://evil.example',
    'HTTPS://evil.example/admin',
    '/\\evil.example',
    '\\/evil.example',
    '/%2Fevil.example',
    '%2F%2Fevil.example',
    '/%5Cevil.example',
    '/%252F%252Fevil.example',
    '/%09/evil.example',
    '/\t/evil.example',
    '/\n/evil.example',
    'javascript:alert(1)',
    'evil.example',
    '',
    '/%E0%A4%A',
    `/${'a'.repeat(600)}`,
  ])('refuses %j', (next) => {
    expect(safeNextPath(next)).toBeUndefined();
  });
});
