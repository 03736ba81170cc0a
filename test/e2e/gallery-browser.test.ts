import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { useBrowser } from '../support/browser.js';
import { useGallerySite } from '../support/gallery-site.js';

const open = useGallerySite();
const openBrowser = useBrowser();
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const GUILD = '1000000000000000001';

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[] }>;
}

/** axe-core run in the page (evaluated, so the page's CSP does not apply): serious and critical violations. */
async function seriousViolations(page: Page): Promise<string[]> {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    // Runs in the page: its globals are reached through globalThis (this file has no DOM types).
    const page = globalThis as unknown as { axe: { run(context: unknown, options: unknown): Promise<{ violations: unknown[] }> }; document: unknown };
    return (await page.axe.run(page.document, { resultTypes: ['violations'] })).violations as AxeViolation[];
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/** The page fits the window: nothing but the family tree (which scrolls in its own box) is wider. */
async function fitsWidth(page: Page): Promise<boolean> {
  return page.evaluate(() => {
    const view = globalThis as unknown as { document: { documentElement: { scrollWidth: number } }; innerWidth: number };
    return view.document.documentElement.scrollWidth <= view.innerWidth;
  });
}

describe('the gallery in a browser', () => {
  it('logs in, browses the server, follows the family tree, votes, and every page passes axe at 390 and 1440 px', async () => {
    const site = await open();
    const ada = site.user('ada', [GUILD]);
    const grace = site.user('grace', [GUILD]);
    await site.seed.name(ada, 'Ada');
    await site.seed.name(grace, 'Grace');
    const root = await site.seed.picture({ guildId: GUILD, userId: grace, prompt: 'a lighthouse in a storm', color: '#224466' });
    const child = await site.seed.picture({ guildId: GUILD, userId: grace, prompt: 'the lighthouse at dawn', parentId: root.id, color: '#aa6633' });
    const grandchild = await site.seed.picture({ guildId: GUILD, userId: ada, prompt: 'the lighthouse in snow', parentId: child.id });
    await site.seed.picture({ guildId: GUILD, userId: null, prompt: 'a sailing boat', parentId: root.id });
    const series = await site.seed.series({
      guildId: GUILD,
      title: 'Coastline',
      panels: [
        { imageId: root.id, userId: grace },
        { imageId: child.id, userId: grace },
      ],
    });
    const challenge = await site.seed.challenge({
      guildId: GUILD,
      theme: 'Lighthouses',
      entries: [
        { imageId: child.id, userId: grace, votes: 4, place: 1 },
        { imageId: grandchild.id, userId: ada, votes: 2, place: 2 },
      ],
      points: { [grace]: 10, [ada]: 6 },
    });

    site.discord.oauth2.signIn(ada);
    const browser = await openBrowser();
    const page = await browser.newPage();
    await page.setViewportSize({ width: 1440, height: 900 });

    // Logged out, a server's gallery is a 404 that offers the login.
    const denied = await page.goto(`${site.base}/g/${GUILD}`);
    expect(denied?.status()).toBe(404);
    await page.goto(`${site.base}/auth/login?next=%2F`);
    await page.getByRole('button', { name: 'Authorize' }).click();
    await page.waitForURL(`${site.base}/`);
    await page.getByRole('link', { name: `Server ${GUILD}` }).click();
    await page.waitForURL(`${site.base}/g/${GUILD}`);
    expect(await page.getByRole('img', { name: 'a lighthouse in a storm' }).count()).toBe(1);
    // Thumbnails load (WebP, made on first sight).
    await page.waitForFunction(() => {
      const view = globalThis as unknown as { document: { images: ArrayLike<{ complete: boolean; naturalWidth: number }> } };
      return Array.from(view.document.images).every((img) => img.complete && img.naturalWidth > 0);
    });

    // Into the root picture, then down its family tree by the SVG's links.
    await page.getByRole('link', { name: 'a lighthouse in a storm' }).click();
    await page.waitForURL(`${site.base}/g/${GUILD}/p/${root.id}`);
    await page.getByText('Coastline').waitFor();
    await page.locator(`svg a[href$="/p/${child.id}"]`).click();
    await page.waitForURL(`${site.base}/g/${GUILD}/p/${child.id}`);
    await page.getByText('the lighthouse at dawn').first().waitFor();
    await page.getByRole('link', { name: 'Lighthouses' }).waitFor();

    // A vote, with the page's own form (CSRF token included).
    await page.getByRole('button', { name: '👍 Vote' }).click();
    await page.getByRole('status').filter({ hasText: 'Your vote counts.' }).waitFor();
    expect(await page.locator('#votes').textContent()).toBe('1 vote');
    const votes = await site.database.db.selectFrom('votes').select(['request_id', 'user_id']).execute();
    expect(votes).toEqual([{ request_id: child.requestId, user_id: ada }]);
    expect((await site.voteLabels.getJobs(['waiting'])).map((job) => job.data)).toContainEqual({ requestId: child.requestId });

    const pages = [
      `/`,
      `/g/${GUILD}`,
      `/g/${GUILD}?sort=top&period=all`,
      `/g/${GUILD}/p/${child.id}`,
      `/g/${GUILD}/series`,
      `/g/${GUILD}/series/${series}`,
      `/g/${GUILD}/challenges`,
      `/g/${GUILD}/challenges/${challenge}`,
      `/g/${GUILD}/leaderboard`,
      `/g/${GUILD}/u/${grace}`,
    ];
    for (const width of [390, 1440]) {
      await page.setViewportSize({ width, height: 900 });
      for (const path of pages) {
        const response = await page.goto(`${site.base}${path}`);
        expect([path, response?.status()]).toEqual([path, 200]);
        expect([width, path, await seriousViolations(page)]).toEqual([width, path, []]);
        expect([width, path, await fitsWidth(page)]).toEqual([width, path, true]);
      }
    }

    // The series downloads are real files.
    await page.goto(`${site.base}/g/${GUILD}/series/${series}`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'animation (GIF)' }).click()]);
    expect(download.suggestedFilename()).toMatch(/\.gif$/);
  });
});
