/**
 * Pan, zoom out, make square and the three Vary controls on a single picture, through the real
 * client, the fake Discord, a real worker and the offline provider: what members see (buttons,
 * forms, private refusals, the pictures themselves, pixel by pixel) and what is recorded.
 */
import { ComponentType, InteractionResponseType, MessageFlags } from 'discord.js';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { twoServers, type FakeInteraction, type FakeMessage } from '../support/fake-discord.js';
import { useStack, type Stack } from '../support/stack.js';
import { BanList } from '../../src/features/moderation/store.js';

const start = useStack();

const ANA = '720000000000000001';
const BO = '720000000000000002';

type Row = { components?: Array<{ type: number; label?: string; custom_id?: string }> };

const rowsOf = (message: { components?: unknown[] }) => (message.components ?? []) as Row[];
const buttonIds = (message: { components?: unknown[] }) =>
  rowsOf(message).flatMap((row) => (row.components ?? []).filter((c) => c.type === ComponentType.Button).map((c) => c.custom_id ?? ''));

/** The finished result an interaction's message turned into (in the channel it was asked in). */
async function resultOf(s: Stack, interactionId: string, channelId = s.discord.defaultChannelId): Promise<FakeMessage> {
  return s.discord.waitFor(
    () => {
      const message = s.discord.messages(channelId).find((m) => m.interactionId === interactionId);
      return message && message.attachments.length > 0 && message.content.startsWith('✅') ? message : undefined;
    },
    60_000,
    `the result of ${interactionId}`,
  );
}

async function imagine(s: Stack, prompt: string, options: { count?: number; aspect?: string; channelId?: string; userId?: string } = {}) {
  const interaction = s.discord.slashCommand({
    name: 'imagine',
    channelId: options.channelId,
    userId: options.userId ?? ANA,
    options: { prompt, count: options.count ?? 1, ...(options.aspect ? { aspect: options.aspect } : {}) },
  });
  return { interaction, result: await resultOf(s, interaction.id, options.channelId) };
}

async function refusal(interaction: FakeInteraction): Promise<string> {
  const response = await interaction.response();
  expect(response.type, JSON.stringify(response)).toBe(InteractionResponseType.ChannelMessageWithSource);
  expect(response.data.flags, JSON.stringify(response)).toBe(MessageFlags.Ephemeral);
  expect(response.data.allowed_mentions).toEqual({ parse: [] });
  return response.data.content as string;
}

const raw = async (png: Buffer) => sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
const crop = (png: Buffer, left: number, top: number, width: number, height: number) =>
  sharp(png).extract({ left, top, width, height }).removeAlpha().raw().toBuffer();

/**
 * How many bytes of two raw pictures differ (their lengths must match). Counted by hand: a deep
 * equality of two multi-megabyte buffers is far slower, and says less when it fails.
 */
function differing(a: Buffer, b: Buffer): number {
  expect(a.length).toBe(b.length);
  let count = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) count++;
  return count;
}

async function requestCount(s: Stack): Promise<number> {
  const row = await s.ctx.db
    .selectFrom('requests')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('controls on a single picture', () => {
  it('shows pan, zoom, square and vary on one-picture results and upscales only, within Discord’s limits', async () => {
    const s = await start();
    const { interaction: single, result } = await imagine(s, 'a lighthouse');
    const rows = rowsOf(result);
    expect(rows.length).toBeLessThanOrEqual(5);
    for (const row of rows) expect(row.components!.length).toBeLessThanOrEqual(5);
    expect(rows[2]!.components!.map((c) => c.label)).toEqual(['⬅', '➡', '⬆', '⬇', '🔍 Zoom Out 1.5×']);
    expect(rows[3]!.components!.map((c) => c.label)).toEqual(['🔍 Zoom Out 2×', '⬛ Make Square', 'Vary (Subtle)', 'Vary (Strong)', 'Vary (Region)']);
    expect(buttonIds(result)).toContain(`edit:panl:${single.id}`);

    const { result: grid } = await imagine(s, 'four lighthouses', { count: 4 });
    expect(buttonIds(grid).filter((id) => id.startsWith('edit:'))).toEqual([]);

    const upscale = s.discord.button({ customId: `gen:upscale:${single.id}:1`, message: result });
    const upscaled = await resultOf(s, upscale.id);
    expect(rowsOf(upscaled).length).toBeLessThanOrEqual(5);
    expect(buttonIds(upscaled)).toContain(`edit:region:${upscale.id}`);
  });

  /** A 16:9 picture by ANA, then the given buttons clicked at once by BO; their results by action. */
  async function editsOf(s: Stack, actions: string[]) {
    const { interaction: first, result } = await imagine(s, 'green hills under a blue sky', { aspect: '16:9' });
    const original = result.attachments[0]!.data;
    const clicks = Object.fromEntries(
      actions.map((action) => [action, s.discord.button({ customId: `edit:${action}:${first.id}`, message: result, userId: BO })]),
    ) as Record<string, FakeInteraction>;
    for (const click of Object.values(clicks)) expect((await click.response()).data.content).toMatch(/Queued/);
    const results = Object.fromEntries(
      await Promise.all(Object.entries(clicks).map(async ([action, click]) => [action, await resultOf(s, click.id)] as const)),
    ) as Record<string, FakeMessage>;
    for (const [action, message] of Object.entries(results)) {
      // Asked for by the member who clicked, and a child of the picture in its family.
      expect(message.content, action).toContain(`<@${BO}>`);
      const image = await s.ctx.images.getRecord(`${clicks[action]!.id}-1`);
      expect(image?.parentId, action).toBe(`${first.id}-1`);
      expect(image?.userId).toBe(BO);
    }
    const picture = (action: string) => results[action]!.attachments[0]!.data;
    const size = async (action: string) => {
      const { info } = await raw(picture(action));
      return [info.width, info.height];
    };
    return { original, source: (await raw(original)).data, clicks, results, picture, size };
  }

  it('⬅ ➡ ⬆ ⬇ extend the canvas 1.5× that way, the original kept pixel for pixel where it was', async () => {
    const s = await start();
    const { source, clicks, results, picture, size } = await editsOf(s, ['panl', 'panr', 'panu', 'pand']);
    expect(await size('panl')).toEqual([2016, 768]);
    expect(differing(await crop(picture('panl'), 672, 0, 1344, 768), source)).toBe(0);
    expect(await size('panr')).toEqual([2016, 768]);
    expect(differing(await crop(picture('panr'), 0, 0, 1344, 768), source)).toBe(0);
    expect(await size('panu')).toEqual([1344, 1152]);
    expect(differing(await crop(picture('panu'), 0, 384, 1344, 768), source)).toBe(0);
    expect(await size('pand')).toEqual([1344, 1152]);
    expect(differing(await crop(picture('pand'), 0, 0, 1344, 768), source)).toBe(0);
    expect(results.panl!.content).toContain('Zoom / pan');
    // A result of one picture carries the controls again, so edits chain.
    expect(buttonIds(results.panl!)).toContain(`edit:panr:${clicks.panl!.id}`);
  }, 120_000);

  it('🔍 Zoom Out 1.5× and 2× keep the frame with the original shrunk in the centre; Make Square centres it unchanged', async () => {
    const s = await start();
    const { original, source, picture, size } = await editsOf(s, ['zoom15', 'zoom2', 'square']);
    for (const [action, w, h] of [
      ['zoom15', 896, 512],
      ['zoom2', 672, 384],
    ] as const) {
      expect(await size(action)).toEqual([1344, 768]);
      const shrunk = await sharp(original).resize(w, h, { fit: 'fill' }).removeAlpha().raw().toBuffer();
      expect(differing(await crop(picture(action), (1344 - w) / 2, (768 - h) / 2, w, h), shrunk)).toBe(0);
    }
    expect(await size('square')).toEqual([1344, 1344]);
    expect(differing(await crop(picture('square'), 0, 288, 1344, 768), source)).toBe(0);
  }, 120_000);

  it('Vary (Subtle) and Vary (Strong) redraw the same frame, a little and a lot', async () => {
    const s = await start();
    const { source, results, picture, size } = await editsOf(s, ['subtle', 'strong']);
    const distance = async (action: string) => {
      const other = (await raw(picture(action))).data;
      let sum = 0;
      for (let i = 0; i < source.length; i++) sum += Math.abs(source[i]! - other[i]!);
      return sum / source.length;
    };
    expect(await size('subtle')).toEqual([1344, 768]);
    expect(await size('strong')).toEqual([1344, 768]);
    expect(await distance('subtle')).toBeGreaterThan(0);
    expect(await distance('strong')).toBeGreaterThan(await distance('subtle'));
    expect(results.subtle!.content).toContain('Variation');
  }, 120_000);

  it('rerolls an edit as the same edit with a new seed', async () => {
    const s = await start();
    const { interaction: first, result } = await imagine(s, 'a red barn', { aspect: '3:2' });
    const pan = s.discord.button({ customId: `edit:pand:${first.id}`, message: result });
    const panned = await resultOf(s, pan.id);
    const reroll = s.discord.button({ customId: `gen:reroll:${pan.id}`, message: panned });
    const rerolled = await resultOf(s, reroll.id);
    const { info } = await raw(rerolled.attachments[0]!.data);
    expect([info.width, info.height]).toEqual([1216, 1248]);
    expect(differing(await crop(rerolled.attachments[0]!.data, 0, 0, 1216, 832), (await raw(result.attachments[0]!.data)).data)).toBe(0);
    expect(rerolled.attachments[0]!.data.equals(panned.attachments[0]!.data)).toBe(false);
  }, 120_000);
});

describe('Vary (Region)', () => {
  it('asks where and what in a form, and redraws only that region', async () => {
    const s = await start();
    const { interaction: first, result } = await imagine(s, 'a quiet lake at dawn', { aspect: '4:3' });
    const open = await s.discord.button({ customId: `edit:region:${first.id}`, message: result, userId: BO }).response();
    expect(open.type).toBe(InteractionResponseType.Modal);
    expect(open.data.custom_id).toBe(`edit:regionform:${first.id}`);
    const inputs = (open.data.components as Row[]).map((row) => row.components![0] as { custom_id: string; max_length?: number });
    expect(inputs.map((i) => i.custom_id)).toEqual(['region', 'prompt']);

    const submit = s.discord.modalSubmit({
      customId: open.data.custom_id,
      fields: { region: 'top-left', prompt: 'a white moon @everyone' },
      message: result,
      userId: BO,
    });
    const queued = await submit.response();
    expect(queued.data.content).toMatch(/Queued/);
    expect(queued.data.allowed_mentions).toEqual({ parse: [] });
    const redrawn = await resultOf(s, submit.id);
    expect(redrawn.content).toContain('a white moon');
    expect(redrawn.content).toContain('Vary (Region)');

    // 1152 × 896: the top-left cell is x < 384, y < 299 (a third, rounded); nothing else may change.
    const before = await raw(result.attachments[0]!.data);
    const after = await raw(redrawn.attachments[0]!.data);
    expect([after.info.width, after.info.height]).toEqual([1152, 896]);
    let changedOutside = 0;
    let changedInside = 0;
    for (let y = 0; y < 896; y++) {
      for (let x = 0; x < 1152; x++) {
        const p = (y * 1152 + x) * 3;
        const same = after.data[p] === before.data[p] && after.data[p + 1] === before.data[p + 1] && after.data[p + 2] === before.data[p + 2];
        if (x < 384 && y < 299) changedInside += same ? 0 : 1;
        else changedOutside += same ? 0 : 1;
      }
    }
    expect(changedOutside).toBe(0);
    expect(changedInside).toBeGreaterThan(384 * 299 * 0.5);
    expect((await s.ctx.images.getRecord(`${submit.id}-1`))?.parentId).toBe(`${first.id}-1`);

    // A rectangle in per cent works the same way.
    const rectangle = s.discord.modalSubmit({
      customId: open.data.custom_id,
      fields: { region: '50, 50, 25, 25', prompt: 'a boat' },
      message: result,
    });
    const boat = await resultOf(s, rectangle.id);
    const changed = await crop(boat.attachments[0]!.data, 0, 0, 576, 448);
    expect(differing(changed, await crop(result.attachments[0]!.data, 0, 0, 576, 448))).toBe(0);
  }, 120_000);

  it('refuses a region out of range, garbage, or a huge prompt, privately, queueing nothing', async () => {
    const s = await start();
    const { interaction: first, result } = await imagine(s, 'a forest');
    const before = await requestCount(s);
    const form = (fields: Record<string, string>) => s.discord.modalSubmit({ customId: `edit:regionform:${first.id}`, fields, message: result });

    expect(await refusal(form({ region: '60, 0, 50, 50', prompt: 'x' }))).toMatch(/inside the picture/);
    expect(await refusal(form({ region: '0, 0, 1, 1', prompt: 'x' }))).toMatch(/at least 5%/);
    expect(await refusal(form({ region: 'banana; DROP TABLE requests', prompt: 'x' }))).toMatch(/could not read that region/);
    expect(await refusal(form({ region: '-5, 0, 50, 50', prompt: 'x' }))).toMatch(/could not read that region/);
    expect(await refusal(form({ region: 'centre', prompt: '   ' }))).toMatch(/what to draw/i);
    expect(await refusal(form({ region: 'centre', prompt: 'moon '.repeat(2000) }))).toMatch(/at most 1000 characters/);
    expect(await refusal(form({ prompt: 'a moon' }))).toMatch(/could not read that region/);
    expect(await requestCount(s)).toBe(before);
  });

  it('checks what to draw like any prompt: invisible text and whole-picture flags are refused privately; --no and --seed apply', async () => {
    const s = await start();
    const { interaction: first, result } = await imagine(s, 'a forest');
    const before = await requestCount(s);
    const form = (prompt: string) =>
      s.discord.modalSubmit({ customId: `edit:regionform:${first.id}`, fields: { region: 'top', prompt }, message: result, userId: BO });

    expect(await refusal(form('\u200b\u200d\u2060'))).toMatch(/what to draw/i);
    expect(await refusal(form('\u200b --no trees'))).toMatch(/what to draw/i);
    expect(await refusal(form('a moon --ar 16:9'))).toMatch(/`--ar` cannot be used in Vary \(Region\)/);
    expect(await refusal(form('a moon --tile --draft'))).toMatch(/`--tile`, `--draft` cannot be used in Vary \(Region\)/);
    expect(await refusal(form('a moon --seed banana'))).toMatch(/`--seed` takes a whole number/);
    expect(await refusal(form('a moon --chaos 500'))).toMatch(/`--chaos` takes a whole number/);
    expect(await requestCount(s)).toBe(before);

    const submit = form('a white moon --no clouds, fog --seed 7');
    expect((await submit.response()).data.content).toMatch(/Queued/);
    expect(await s.ctx.jobs.get(submit.id)).toMatchObject({ kind: 'inpaint', prompt: 'a white moon', negative: 'clouds, fog', seed: 7 });
  });
});

describe('hostile clicks', () => {
  it('refuses forged custom_ids and grids, privately, and queues nothing', async () => {
    const s = await start();
    const { interaction: first, result } = await imagine(s, 'a castle');
    const { interaction: grid, result: gridMessage } = await imagine(s, 'four castles', { count: 4 });
    const before = await requestCount(s);

    expect(await refusal(s.discord.button({ customId: 'edit:panl:1000000000000000001', message: result }))).toMatch(/no longer know that picture/);
    expect(await refusal(s.discord.button({ customId: `edit:pan:${first.id}`, message: result }))).toMatch(/not one I recognise/);
    expect(await refusal(s.discord.button({ customId: `edit:panl:${first.id}:1`, message: result }))).toMatch(/not one I recognise/);
    expect(await refusal(s.discord.button({ customId: `edit:zoom2:${grid.id}`, message: gridMessage }))).toMatch(/single picture/);
    expect(
      await refusal(s.discord.modalSubmit({ customId: `edit:regionform:${grid.id}`, fields: { region: 'top', prompt: 'x' }, message: gridMessage })),
    ).toMatch(/single picture/);
    // A real id replayed under another message.
    expect(await refusal(s.discord.button({ customId: `edit:panl:${first.id}`, message: gridMessage }))).toMatch(/does not belong to this message/);
    // Make Square on a square picture.
    expect(await refusal(s.discord.button({ customId: `edit:square:${first.id}`, message: result }))).toMatch(/square already/);
    // A deleted picture: its buttons are gone, and a replayed click reaches nothing.
    expect((await s.discord.button({ customId: `img:delete:${first.id}`, message: result, userId: ANA }).response()).type).toBe(
      InteractionResponseType.UpdateMessage,
    );
    expect(await refusal(s.discord.button({ customId: `edit:zoom15:${first.id}`, message: result }))).toMatch(/deleted/);
    expect(await requestCount(s)).toBe(before);
  });

  it('applies the server’s rules: bans and the daily quota refuse, privately', async () => {
    const s = await start();
    const { interaction: first, result } = await imagine(s, 'a tower');
    const before = await requestCount(s);

    await s.ctx.settings.update(s.discord.defaultGuildId, { dailyImages: 1 });
    expect(await refusal(s.discord.button({ customId: `edit:panr:${first.id}`, message: result, userId: ANA }))).toMatch(/used all 1 of your images/);
    expect(
      await refusal(
        s.discord.modalSubmit({ customId: `edit:regionform:${first.id}`, fields: { region: 'top', prompt: 'a bird' }, message: result, userId: ANA }),
      ),
    ).toMatch(/used all 1 of your images/);
    await s.ctx.settings.update(s.discord.defaultGuildId, { dailyImages: 100 });

    await new BanList(s.ctx.db).ban(s.discord.defaultGuildId, BO, '720000000000000009', Date.now());
    expect(await refusal(s.discord.button({ customId: `edit:subtle:${first.id}`, message: result, userId: BO }))).toMatch(/stopped you/);
    expect(await requestCount(s)).toBe(before);
  });

  it('reaches no picture of another server, from a button or the form', async () => {
    const s = await start({ discord: { guilds: twoServers() } });
    const [home, other] = s.discord.guilds;
    const { interaction: first, result } = await imagine(s, 'a harbour', { channelId: home!.channels[0]!.id });
    const before = await requestCount(s);
    const elsewhere = { channelId: other!.channels[0]!.id };

    for (const action of ['panl', 'zoom15', 'strong', 'region']) {
      const click = s.discord.button({ customId: `edit:${action}:${first.id}`, message: result, forgedPlace: elsewhere, userId: BO });
      expect(await refusal(click)).toMatch(/no longer know that picture/);
    }
    const form = s.discord.modalSubmit({
      customId: `edit:regionform:${first.id}`,
      fields: { region: 'centre', prompt: 'a ship' },
      // Sent from the other server (a form carries no message there).
      ...elsewhere,
      userId: BO,
    });
    expect(await refusal(form)).toMatch(/no longer know that picture/);
    expect(await requestCount(s)).toBe(before);
    expect(s.discord.messages(other!.channels[0]!.id).filter((m) => !m.ephemeral)).toEqual([]);
  });
});
