import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterEach } from 'vitest';

/** Debian's chromium package (`.ci/run` installs it). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-quic',
  '--disable-sync',
];

/**
 * For a test file that drives a real browser: returns `open()`, which starts headless Chromium
 * with a user-data directory of its own (no cookies from an earlier test); closed after each test.
 */
export function useBrowser(): () => Promise<BrowserContext> {
  const opened: Array<{ context: BrowserContext; dir: string }> = [];
  afterEach(async () => {
    for (const { context, dir } of opened.splice(0)) {
      await context.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'atelier-chromium-'));
    const context = await chromium.launchPersistentContext(dir, { executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
    opened.push({ context, dir });
    return context;
  };
}
