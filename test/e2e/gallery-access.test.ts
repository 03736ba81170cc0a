import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { useGallerySite, type GallerySite } from '../support/gallery-site.js';
import { snowflake } from '../support/gallery-seed.js';
import { adminQuery } from '../support/postgres.js';
import { logIn, Visitor } from '../support/web-visitor.js';

const open = useGallerySite();

const GUILD = '1000000000000000001';
const OTHER = '1000000000000000002';

async function member(site: GallerySite, name: string, guilds: string[]): Promise<{ id: string; visitor: Visitor }> {
  const id = site.user(name, guilds);
  const visitor = new Visitor(site.base);
  const back = await logIn(site.discord, visitor, id, '/');
  expect(back.status).toBe(302);
  return { id, visitor };
}

const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1];

describe('who may see a server’s gallery', () => {
  it('shows members their server’s pages and images, and answers 404 to everyone else on every page and image', async () => {
    const site = await open();
    const ada = await member(site, 'ada', [GUILD]);
    const bob = await member(site, 'bob', [OTHER]);
    await site.seed.name(ada.id, 'Ada');
    const picture = await site.seed.picture({ guildId: GUILD, userId: ada.id, prompt: 'a red lighthouse' });
    const series = await site.seed.series({ guildId: GUILD, title: 'Lighthouses', panels: [{ imageId: picture.id, userId: ada.id }] });
    const challenge = await site.seed.challenge({
      guildId: GUILD,
      theme: 'Light',
      entries: [{ imageId: picture.id, userId: ada.id, votes: 3, place: 1 }],
      points: { [ada.id]: 5 },
    });
    const urls = [
      `/g/${GUILD}`,
      `/g/${GUILD}/p/${picture.id}`,
      `/g/${GUILD}/i/${picture.id}`,
      `/g/${GUILD}/t/${picture.id}.webp`,
      `/g/${GUILD}/series`,
      `/g/${GUILD}/series/${series}`,
      `/g/${GUILD}/series/${series}/panels.zip`,
      `/g/${GUILD}/challenges`,
      `/g/${GUILD}/challenges/${challenge}`,
      `/g/${GUILD}/leaderboard`,
      `/g/${GUILD}/u/${ada.id}`,
    ];
    for (const url of urls) expect([url, (await ada.visitor.request(url)).status]).toEqual([url, 200]);

    const stranger = new Visitor(site.base);
    for (const url of urls) {
      expect([url, (await bob.visitor.request(url)).status]).toEqual([url, 404]);
      expect([url, (await stranger.request(url)).status]).toEqual([url, 404]);
    }
    // The 404 says nothing about what is there.
    const denied = await (await bob.visitor.request(`/g/${GUILD}/p/${picture.id}`)).text();
    expect(denied).not.toContain('red lighthouse');
    expect(denied).not.toContain('Ada');

    // Home lists the member's servers that have Atelier, not others.
    const home = await (await ada.visitor.request('/')).text();
    expect(home).toContain(`/g/${GUILD}`);
    expect(home).not.toContain(`/g/${OTHER}`);
  });

  it('opens a public gallery read-only to everyone: pages and images, but no voting', async () => {
    const site = await open();
    const ada = site.user('ada', [GUILD]);
    const picture = await site.seed.picture({ guildId: GUILD, userId: ada, prompt: 'an open field' });
    const stranger = new Visitor(site.base);
    expect((await stranger.request(`/g/${GUILD}/p/${picture.id}`)).status).toBe(404);

    await site.settings.update(GUILD, { galleryPublic: true });
    const page = await stranger.request(`/g/${GUILD}/p/${picture.id}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('an open field');
    expect(html).not.toContain('_csrf');
    expect((await stranger.request(`/g/${GUILD}/i/${picture.id}`)).status).toBe(200);

    // A logged-in non-member sees it too, and still may not vote.
    const bob = await member(site, 'bob', [OTHER]);
    const seen = await (await bob.visitor.request(`/g/${GUILD}/p/${picture.id}`)).text();
    expect(seen).toContain('an open field');
    expect(csrfOf(seen)).toBeUndefined();
    const account = await (await bob.visitor.request('/auth/account')).text();
    const token = csrfOf(account)!;
    const vote = await bob.visitor.request(`/g/${GUILD}/p/${picture.id}/vote`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: token }),
    });
    expect(vote.status).toBe(403);
    const votes = await site.database.db.selectFrom('votes').selectAll().execute();
    expect(votes).toEqual([]);
  });
});

describe('what never appears', () => {
  it('hides pictures from age-restricted channels and deleted pictures everywhere, and names former members', async () => {
    const site = await open();
    const ada = await member(site, 'ada', [GUILD]);
    const shown = await site.seed.picture({ guildId: GUILD, userId: ada.id, prompt: 'a calm harbour' });
    const restricted = await site.seed.picture({
      guildId: GUILD,
      userId: ada.id,
      prompt: 'restricted-prompt',
      ageRestricted: true,
      parentId: shown.id,
    });
    const deleted = await site.seed.picture({ guildId: GUILD, userId: ada.id, deleted: true, parentId: shown.id });
    const orphan = await site.seed.picture({ guildId: GUILD, userId: null, prompt: 'made by someone who left', parentId: shown.id });
    await site.seed.series({
      guildId: GUILD,
      title: 'Mixed',
      panels: [
        { imageId: restricted.id, userId: ada.id },
        { imageId: orphan.id, userId: null, userName: 'Old Name' },
      ],
    });

    const gallery = await (await ada.visitor.request(`/g/${GUILD}`)).text();
    expect(gallery).toContain('a calm harbour');
    expect(gallery).not.toContain('restricted-prompt');
    expect(gallery).not.toContain(restricted.id);
    expect(gallery).not.toContain(deleted.id);
    expect(gallery).toContain('a former member');

    for (const id of [restricted.id, deleted.id]) {
      for (const url of [`/g/${GUILD}/p/${id}`, `/g/${GUILD}/i/${id}`, `/g/${GUILD}/t/${id}.webp`]) {
        expect([url, (await ada.visitor.request(url)).status]).toEqual([url, 404]);
      }
    }
    // The family tree keeps their places as boxes without a link or a picture.
    const page = await (await ada.visitor.request(`/g/${GUILD}/p/${shown.id}`)).text();
    expect(page).not.toContain(`/p/${restricted.id}`);
    expect(page).not.toContain(`/t/${restricted.id}`);
    expect(page).toContain(`/p/${orphan.id}`);
    expect(page).toContain('not shown');

    const orphanPage = await (await ada.visitor.request(`/g/${GUILD}/p/${orphan.id}`)).text();
    expect(orphanPage).toContain('a former member');
    const series = await (await ada.visitor.request(`/g/${GUILD}/series`)).text();
    const seriesId = /\/series\/(\d+)"/.exec(series)![1];
    const seriesPage = await (await ada.visitor.request(`/g/${GUILD}/series/${seriesId}`)).text();
    expect(seriesPage).toContain('a former member');
    expect(seriesPage).not.toContain('Old Name');
    expect(seriesPage).not.toContain(`/t/${restricted.id}`);
  });

  it('answers 404 for another server’s picture asked through this server, and for forged ids', async () => {
    const site = await open();
    const ada = await member(site, 'ada', [GUILD]);
    const elsewhere = await site.seed.picture({ guildId: OTHER, userId: ada.id, prompt: 'from the other server' });
    const series = await site.seed.series({ guildId: OTHER, title: 'Theirs', panels: [{ imageId: elsewhere.id, userId: ada.id }] });
    const forged = [
      `/g/${GUILD}/p/${elsewhere.id}`,
      `/g/${GUILD}/i/${elsewhere.id}`,
      `/g/${GUILD}/t/${elsewhere.id}.webp`,
      `/g/${GUILD}/series/${series}`,
      `/g/${GUILD}/p/${encodeURIComponent("1' or '1'='1")}`,
      `/g/${GUILD}/i/..%2F..%2Fetc%2Fpasswd`,
      `/g/${GUILD}/t/${elsewhere.id}.png`,
      `/g/not-a-server/p/${elsewhere.id}`,
      `/g/${GUILD}/u/${snowflake()}`,
      `/g/${GUILD}/u/abc`,
      `/g/${GUILD}/challenges/${snowflake()}`,
      `/g/${GUILD}/leaderboard?season=1999-Q1`,
    ];
    for (const url of forged) expect([url, (await ada.visitor.request(url)).status]).toEqual([url, 404]);
  });
});

describe('failures', () => {
  it('answers a plain 500 when the database fails, without the database’s words, and pages again once it is back', async () => {
    const site = await open();
    const ada = await member(site, 'ada', [GUILD]);
    await site.seed.picture({ guildId: GUILD, userId: ada.id, prompt: 'a harbour at noon' });
    const name = site.database.name;
    await adminQuery(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
    try {
      await adminQuery(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name}'`);
      const failed = await ada.visitor.request(`/g/${GUILD}`);
      expect(failed.status).toBe(500);
      const text = await failed.text();
      expect(text).toContain('Something went wrong on our side.');
      expect(text).not.toMatch(/accepting connections|terminat|postgres|database|127\.0\.0\.1|at .*\.ts/i);
    } finally {
      await adminQuery(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
    }
    expect(await (await ada.visitor.request(`/g/${GUILD}`)).text()).toContain('a harbour at noon');
  });
});

describe('series downloads', () => {
  it('are built a few at a time: one more while they are busy gets a 503 with Retry-After, and the next one works', async () => {
    const site = await open({ downloadsAtOnce: 1 });
    const ada = await member(site, 'ada', [GUILD]);
    const panel = await site.seed.picture({ guildId: GUILD, userId: ada.id });
    const seriesId = await site.seed.series({ guildId: GUILD, title: 'Strip', panels: [{ imageId: panel.id, userId: ada.id }] });
    const base = `/g/${GUILD}/series/${seriesId}`;

    const hold = site.storage.hold(panel.storageKey);
    const first = ada.visitor.request(`${base}/strip.png`);
    await hold.reached;
    const busy = await ada.visitor.request(`${base}/animation.gif`);
    expect(busy.status).toBe(503);
    expect(busy.headers.get('retry-after')).toBe('10');
    expect(await busy.text()).toContain('Try again in a few seconds');
    hold.release();
    const strip = await first;
    expect(strip.status).toBe(200);
    expect(strip.headers.get('content-type')).toBe('image/png');
    const gif = await ada.visitor.request(`${base}/animation.gif`);
    expect(gif.status).toBe(200);
    expect(gif.headers.get('content-type')).toBe('image/gif');
  });
});

describe('what is not shown yet', () => {
  it('keeps an exquisite corpse’s panels out of every page and download until it is complete', async () => {
    const site = await open();
    const ada = await member(site, 'ada', [GUILD]);
    const first = await site.seed.picture({ guildId: GUILD, userId: ada.id, prompt: 'secret-head-panel' });
    const second = await site.seed.picture({ guildId: GUILD, userId: ada.id, prompt: 'secret-tail-panel' });
    const seriesId = await site.seed.series({
      guildId: GUILD,
      title: 'Corpse',
      mode: 'corpse',
      panels: [
        { imageId: first.id, userId: ada.id, prompt: 'secret-head-panel' },
        { imageId: second.id, userId: ada.id, prompt: 'secret-tail-panel' },
      ],
    });
    const hidden = async () => {
      for (const url of [
        `/g/${GUILD}`,
        `/g/${GUILD}?sort=top&period=all`,
        `/g/${GUILD}?q=secret`,
        `/g/${GUILD}/u/${ada.id}`,
        `/g/${GUILD}/series/${seriesId}`,
      ]) {
        const html = await (await ada.visitor.request(url)).text();
        for (const leak of ['secret-head-panel', 'secret-tail-panel', first.id, second.id]) expect([url, html.includes(leak)]).toEqual([url, false]);
      }
      for (const id of [first.id, second.id]) {
        for (const url of [`/g/${GUILD}/p/${id}`, `/g/${GUILD}/i/${id}`, `/g/${GUILD}/t/${id}.webp`]) {
          expect([url, (await ada.visitor.request(url)).status]).toEqual([url, 404]);
        }
      }
      for (const file of ['strip.png', 'animation.gif', 'panels.zip']) {
        const url = `/g/${GUILD}/series/${seriesId}/${file}`;
        expect([url, (await ada.visitor.request(url)).status]).toEqual([url, 404]);
      }
    };
    await hidden();
    expect(await (await ada.visitor.request(`/g/${GUILD}/series/${seriesId}`)).text()).toContain('revealed when the last one is in');

    // The last panel is in: the whole corpse is shown.
    await site.database.db.updateTable('series').set({ status: 'complete' }).where('id', '=', seriesId).execute();
    const page = await (await ada.visitor.request(`/g/${GUILD}/series/${seriesId}`)).text();
    expect(page).toContain(`/t/${first.id}.webp`);
    expect(page).toContain(`/t/${second.id}.webp`);
    expect(await (await ada.visitor.request(`/g/${GUILD}`)).text()).toContain('secret-head-panel');
    expect((await ada.visitor.request(`/g/${GUILD}/series/${seriesId}/strip.png`)).status).toBe(200);
    expect((await ada.visitor.request(`/g/${GUILD}/p/${second.id}`)).status).toBe(200);
  });

  it('keeps challenge entries anonymous until the results, as on Discord', async () => {
    const site = await open();
    const ada = await member(site, 'ada', [GUILD]);
    const grace = site.user('grace', [GUILD]);
    await site.seed.name(grace, 'Grace Hopper');
    const entry = await site.seed.picture({ guildId: GUILD, userId: grace, prompt: 'the entry prompt' });
    const challengeId = await site.seed.challenge({
      guildId: GUILD,
      theme: 'Tides',
      phase: 'voting',
      entries: [{ imageId: entry.id, userId: grace }],
    });

    const page = await (await ada.visitor.request(`/g/${GUILD}/challenges/${challengeId}`)).text();
    expect(page).toContain('Entry 1');
    expect(page).toContain('anonymous until the results');
    for (const leak of ['Grace Hopper', grace, entry.id, 'the entry prompt']) expect([leak, page.includes(leak)]).toEqual([leak, false]);
    // The entry's picture comes by its number, with an ETag that is not the picture's own.
    const picture = await ada.visitor.request(`/g/${GUILD}/challenges/${challengeId}/e/1.webp`);
    expect(picture.status).toBe(200);
    expect(picture.headers.get('content-type')).toBe('image/webp');
    const thumb = await ada.visitor.request(`/g/${GUILD}/t/${entry.id}.webp`);
    expect(picture.headers.get('etag')).not.toBe(thumb.headers.get('etag'));
    // Its picture page does not point at the challenge either.
    expect(await (await ada.visitor.request(`/g/${GUILD}/p/${entry.id}`)).text()).not.toContain(`/challenges/${challengeId}`);
    for (const url of [
      `/g/${GUILD}/challenges/${challengeId}/e/2.webp`,
      `/g/${GUILD}/challenges/${challengeId}/e/0.webp`,
      `/g/${GUILD}/challenges/${challengeId}/e/1.png`,
      `/g/${OTHER}/challenges/${challengeId}/e/1.webp`,
    ]) {
      expect([url, (await ada.visitor.request(url)).status]).toEqual([url, 404]);
    }

    await site.database.db.updateTable('challenges').set({ phase: 'results', results_at: new Date() }).where('id', '=', challengeId).execute();
    const results = await (await ada.visitor.request(`/g/${GUILD}/challenges/${challengeId}`)).text();
    expect(results).toContain('Grace Hopper');
    expect(results).toContain(`/p/${entry.id}`);
    expect(await (await ada.visitor.request(`/g/${GUILD}/p/${entry.id}`)).text()).toContain(`/challenges/${challengeId}`);
  });
});

describe('images', () => {
  it('serves the full picture and a WebP thumbnail made once and kept in storage, with ETag and 304', async () => {
    const site = await open();
    const ada = await member(site, 'ada', [GUILD]);
    const picture = await site.seed.picture({ guildId: GUILD, userId: ada.id });
    const full = await ada.visitor.request(`/g/${GUILD}/i/${picture.id}`);
    expect(full.headers.get('content-type')).toBe('image/png');
    expect(full.headers.get('cache-control')).toContain('max-age');
    expect(Buffer.from(await full.arrayBuffer())).toEqual(await site.seed.storage.get(picture.storageKey).then((o) => o!.body));

    const thumb = await ada.visitor.request(`/g/${GUILD}/t/${picture.id}.webp`);
    expect(thumb.headers.get('content-type')).toBe('image/webp');
    expect((await sharp(Buffer.from(await thumb.arrayBuffer())).metadata()).format).toBe('webp');
    const kept: string[] = [];
    for await (const key of site.seed.storage.list('thumbnails/')) kept.push(key);
    expect(kept).toHaveLength(1);

    const etag = thumb.headers.get('etag')!;
    expect(etag).toMatch(/^".+"$/);
    const again = await ada.visitor.request(`/g/${GUILD}/t/${picture.id}.webp`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    // A 304 is still only for those who may see the picture.
    const stranger = new Visitor(site.base);
    expect((await stranger.request(`/g/${GUILD}/t/${picture.id}.webp`, { headers: { 'if-none-match': etag } })).status).toBe(404);
  });
});

describe('votes from the web', () => {
  it('counts a member’s vote once, takes it back on a second click, and asks the bot to redraw the label', async () => {
    const site = await open();
    const ada = await member(site, 'ada', [GUILD]);
    const grace = site.user('grace', [GUILD]);
    const picture = await site.seed.picture({ guildId: GUILD, userId: grace });
    const page = await (await ada.visitor.request(`/g/${GUILD}/p/${picture.id}`)).text();
    const token = csrfOf(page)!;
    expect(token).toBeTruthy();

    const post = (body: Record<string, string>) =>
      ada.visitor.request(`/g/${GUILD}/p/${picture.id}/vote`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(body),
      });
    // Without the token (or with a wrong one), nothing is counted.
    expect((await post({})).status).toBe(403);
    expect((await post({ _csrf: 'forged' })).status).toBe(403);
    expect(await site.database.db.selectFrom('votes').selectAll().execute()).toEqual([]);

    const voted = await post({ _csrf: token });
    expect(voted.status).toBe(303);
    const rows = await site.database.db.selectFrom('votes').select(['request_id', 'user_id']).execute();
    expect(rows).toEqual([{ request_id: picture.requestId, user_id: ada.id }]);
    expect((await site.voteLabels.getJobs(['waiting'])).map((job) => job.data)).toEqual([{ requestId: picture.requestId }]);
    expect(await (await ada.visitor.request(voted.headers.get('location')!)).text()).toContain('1 vote<');

    expect((await post({ _csrf: token })).status).toBe(303);
    expect(await site.database.db.selectFrom('votes').selectAll().execute()).toEqual([]);
  });

  it('refuses the vote of a member a moderator banned, counting nothing', async () => {
    const site = await open();
    const ada = await member(site, 'ada', [GUILD]);
    const grace = site.user('grace', [GUILD]);
    const picture = await site.seed.picture({ guildId: GUILD, userId: grace });
    const token = csrfOf(await (await ada.visitor.request(`/g/${GUILD}/p/${picture.id}`)).text())!;
    await site.database.db.insertInto('bans').values({ guild_id: GUILD, user_id: ada.id, banned_by: grace, banned_at: new Date() }).execute();

    const refused = await ada.visitor.request(`/g/${GUILD}/p/${picture.id}/vote`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: token }),
    });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('A moderator has stopped you');
    expect(await site.database.db.selectFrom('votes').selectAll().execute()).toEqual([]);
    expect(await site.voteLabels.getJobs(['waiting'])).toEqual([]);
  });

  it('refuses a vote for one’s own picture unless the server allows self-votes', async () => {
    const site = await open();
    const ada = await member(site, 'ada', [GUILD]);
    const own = await site.seed.picture({ guildId: GUILD, userId: ada.id });
    const account = await (await ada.visitor.request('/auth/account')).text();
    const token = csrfOf(account)!;
    const post = () =>
      ada.visitor.request(`/g/${GUILD}/p/${own.id}/vote`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ _csrf: token }),
      });
    expect((await post()).status).toBe(403);
    expect(await site.database.db.selectFrom('votes').selectAll().execute()).toEqual([]);
    await site.settings.update(GUILD, { allowSelfVote: true });
    expect((await post()).status).toBe(303);
    expect(await site.database.db.selectFrom('votes').select('user_id').execute()).toEqual([{ user_id: ada.id }]);
  });
});

describe('listing, search and paging', () => {
  it('pages with cursors, searches prompts, filters by member and model, and orders by votes', async () => {
    const site = await open();
    const ada = await member(site, 'ada', [GUILD]);
    const grace = site.user('grace', [GUILD]);
    const start = Date.now() - 3600_000;
    const made: string[] = [];
    for (let i = 0; i < 50; i += 1) {
      const picture = await site.seed.picture({
        guildId: GUILD,
        userId: i % 2 ? grace : ada.id,
        prompt: i === 7 ? 'two cats on a roof' : `picture number ${i}`,
        model: i % 5 === 0 ? 'geometric' : 'painterly',
        createdAt: new Date(start + i * 1000),
        voters: i === 3 ? ['1500000000000000001', '1500000000000000002'] : [],
      });
      made.push(picture.id);
    }
    const first = await (await ada.visitor.request(`/g/${GUILD}`)).text();
    const ids = (html: string) => [...html.matchAll(/href="\/g\/\d+\/p\/([^"]+)"/g)].map((m) => m[1]);
    expect(ids(first)).toEqual(made.slice().reverse().slice(0, 48));
    const next = /rel="next" href="([^"]+)"/.exec(first)![1]!.replaceAll('&#38;', '&');
    const second = await (await ada.visitor.request(next)).text();
    expect(ids(second)).toEqual([made[1], made[0]]);
    expect(second).not.toContain('rel="next"');

    // "cat" finds "cats" (English stemming).
    expect(ids(await (await ada.visitor.request(`/g/${GUILD}?q=cat`)).text())).toEqual([made[7]]);
    const byGrace = ids(await (await ada.visitor.request(`/g/${GUILD}?member=${grace}`)).text());
    expect(byGrace).toHaveLength(25);
    expect(ids(await (await ada.visitor.request(`/g/${GUILD}?model=geometric`)).text())).toHaveLength(10);
    expect(ids(await (await ada.visitor.request(`/g/${GUILD}?sort=top&period=day`)).text())[0]).toBe(made[3]);
  });

  it('refuses crafted query strings and tampered cursors with a 400, and escapes what members wrote', async () => {
    const site = await open();
    const ada = await member(site, 'ada', [GUILD]);
    await site.seed.name(ada.id, '<b>Ada</b>');
    const picture = await site.seed.picture({ guildId: GUILD, userId: ada.id, prompt: '<script>alert(1)</script> "quoted" & more' });
    const elsewhere = await site.seed.picture({ guildId: OTHER, userId: ada.id });
    const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const bad = [
      `?q=${'x'.repeat(201)}`,
      '?q=a&q=b',
      '?sort=random',
      '?period=year',
      '?member=12abc',
      '?unknown=1',
      '?cursor=%00%00',
      '?cursor=not-json',
      `?cursor=${cursor({ id: elsewhere.id })}`,
      `?cursor=${cursor({ id: picture.id, votes: -1 })}`,
      `?cursor=${cursor({ id: "x' or 1=1 --" })}`,
      `?cursor=${'A'.repeat(5000)}`,
      // Control characters no prompt holds (PostgreSQL refuses a NUL outright).
      '?q=%00',
      '?q=a%00b',
      '?model=%00',
      '?q=%1b%5b31m',
    ];
    for (const query of bad) expect([query, (await ada.visitor.request(`/g/${GUILD}${query}`)).status]).toEqual([query, 400]);
    // Search text is data, never syntax.
    for (const q of ['!!! & | :*', "'; drop table images; --", '"unclosed', '<>']) {
      expect((await ada.visitor.request(`/g/${GUILD}?q=${encodeURIComponent(q)}`)).status).toBe(200);
    }
    const html = await (await ada.visitor.request(`/g/${GUILD}/p/${picture.id}`)).text();
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
    expect(html).not.toContain('<b>Ada</b>');
    const images = await site.database.db.selectFrom('images').select('id').execute();
    expect(images).toHaveLength(2);
  });
});
