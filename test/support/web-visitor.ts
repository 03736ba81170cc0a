import { expect } from 'vitest';
import type { FakeDiscord } from './fake-discord.js';

/** A browser without a browser: keeps cookies for the site, follows no redirect by itself. */
export class Visitor {
  readonly cookies = new Map<string, string>();
  readonly setCookieHeaders: string[] = [];

  constructor(private readonly base: string) {}

  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const headers = new Headers(init.headers);
    if (cookie) headers.set('cookie', cookie);
    const response = await fetch(new URL(path, this.base), { ...init, headers, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      this.setCookieHeaders.push(line);
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (value === '' || /max-age=0\b/i.test(line) || /expires=Thu, 01 Jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }

  /** The Set-Cookie line that gave `name` a value last. */
  setCookie(name: string): string | undefined {
    return this.setCookieHeaders.filter((line) => line.startsWith(`${name}=`) && !line.startsWith(`${name}=;`)).at(-1);
  }
}

/** Starts a login, approves it on the fake Discord as `userId`; returns where Discord sent the browser back. */
export async function approveOnDiscord(discord: FakeDiscord, visitor: Visitor, userId: string, next?: string): Promise<URL> {
  discord.oauth2.signIn(userId);
  const started = await visitor.request(`/auth/login${next === undefined ? '' : `?next=${encodeURIComponent(next)}`}`);
  expect(started.status).toBe(302);
  const authorize = new URL(started.headers.get('location')!);
  const form = new URLSearchParams(authorize.search);
  form.set('decision', 'authorize');
  const consent = await fetch(`${authorize.origin}${authorize.pathname}`, { method: 'POST', body: form, redirect: 'manual' });
  expect(consent.status).toBe(302);
  return new URL(consent.headers.get('location')!);
}

/** A complete login over HTTP; returns the callback's answer (a redirect to `next`). */
export async function logIn(discord: FakeDiscord, visitor: Visitor, userId: string, next?: string): Promise<Response> {
  const back = await approveOnDiscord(discord, visitor, userId, next);
  return visitor.request(`${back.pathname}${back.search}`);
}
