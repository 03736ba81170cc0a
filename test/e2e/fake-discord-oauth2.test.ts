import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeDiscord } from '../support/fake-discord.js';

const REDIRECT = 'https://atelier.example/auth/callback';
const VERIFIER = 'v'.repeat(43);

let discord: FakeDiscord | undefined;
afterEach(async () => {
  await discord?.close();
  discord = undefined;
});

async function fakeWithCode(): Promise<{ d: FakeDiscord; code: string; user: string }> {
  const d = (discord = new FakeDiscord());
  await d.start();
  d.oauth2.redirectUris.add(REDIRECT);
  const user = d.user({ username: 'grace' }).id;
  d.oauth2.signIn(user);
  const form = new URLSearchParams({
    client_id: d.applicationId,
    response_type: 'code',
    scope: 'identify guilds',
    redirect_uri: REDIRECT,
    state: 'the-state',
    code_challenge: createHash('sha256').update(VERIFIER).digest('base64url'),
    code_challenge_method: 'S256',
    decision: 'authorize',
  });
  const consent = await fetch(`${d.apiUrl}/oauth2/authorize`, { method: 'POST', body: form, redirect: 'manual' });
  const back = new URL(consent.headers.get('location')!);
  expect(back.searchParams.get('state')).toBe('the-state');
  return { d, code: back.searchParams.get('code')!, user };
}

async function token(d: FakeDiscord, fields: Record<string, string>): Promise<{ status: number; body: any }> {
  const response = await fetch(`${d.apiUrl}/v10/oauth2/token`, { method: 'POST', body: new URLSearchParams(fields) });
  return { status: response.status, body: await response.json() };
}

describe('fake Discord OAuth2', () => {
  it('refuses an unregistered redirect_uri or a missing S256 challenge on the consent page', async () => {
    const d = (discord = new FakeDiscord());
    await d.start();
    d.oauth2.redirectUris.add(REDIRECT);
    d.oauth2.signIn(d.defaultUser.id);
    const base = {
      client_id: d.applicationId,
      response_type: 'code',
      scope: 'identify',
      code_challenge: 'c'.repeat(43),
      code_challenge_method: 'S256',
    };
    const page = (query: Record<string, string>) => fetch(`${d.apiUrl}/oauth2/authorize?${new URLSearchParams(query)}`, { redirect: 'manual' });
    expect((await page({ ...base, redirect_uri: REDIRECT })).status).toBe(200);
    expect((await page({ ...base, redirect_uri: 'https://evil.example/auth/callback' })).status).toBe(400);
    expect((await page({ ...base, redirect_uri: REDIRECT, code_challenge_method: 'plain' })).status).toBe(400);
  });

  it('checks the client secret, redirect_uri and code_verifier like Discord, and spends the code on the first try', async () => {
    const { d, code } = await fakeWithCode();
    const client = { client_id: d.applicationId, client_secret: d.oauth2.clientSecret };
    const grant = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: VERIFIER };
    expect(await token(d, { ...grant, ...client, client_secret: 'wrong' })).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect(await token(d, { ...grant, ...client, code_verifier: 'w'.repeat(43) })).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    // The failed try above used the code up.
    expect(await token(d, { ...grant, ...client })).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });

    await d.close();

    const { d: d2, code: second } = await fakeWithCode();
    const client2 = { client_id: d2.applicationId, client_secret: d2.oauth2.clientSecret };
    const wrongRedirect = await token(d2, { ...grant, code: second, ...client2, redirect_uri: 'https://atelier.example/other' });
    expect(wrongRedirect).toMatchObject({ status: 400, body: { error: 'invalid_grant', error_description: 'Invalid "redirect_uri" in request.' } });
  });

  it('issues Bearer tokens that read the user and their servers, and rotates refresh tokens', async () => {
    const { d, code, user } = await fakeWithCode();
    d.member(user);
    const client = { client_id: d.applicationId, client_secret: d.oauth2.clientSecret };
    const issued = await token(d, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: VERIFIER, ...client });
    expect(issued.status).toBe(200);
    expect(issued.body).toMatchObject({ token_type: 'Bearer', scope: 'identify guilds', expires_in: 604800 });
    const bearer = { authorization: `Bearer ${issued.body.access_token}` };
    expect(await (await fetch(`${d.apiUrl}/v10/users/@me`, { headers: bearer })).json()).toMatchObject({ id: user, username: 'grace' });
    expect(await (await fetch(`${d.apiUrl}/v10/users/@me/guilds`, { headers: bearer })).json()).toMatchObject([
      { id: d.defaultGuildId, owner: false },
    ]);
    expect((await fetch(`${d.apiUrl}/v10/users/@me`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);

    const refreshed = await token(d, { grant_type: 'refresh_token', refresh_token: issued.body.refresh_token, ...client });
    expect(refreshed.status).toBe(200);
    expect((await token(d, { grant_type: 'refresh_token', refresh_token: issued.body.refresh_token, ...client })).status).toBe(400);
    expect(d.validationErrors).toEqual([]);
  });
});
