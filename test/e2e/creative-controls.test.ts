import { ComponentType, InteractionResponseType, MessageFlags } from 'discord.js';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { FakeInteraction, FakeMessage } from '../support/fake-discord.js';
import { ScriptedProvider } from '../support/scripted-provider.js';
import { useStack, type Stack } from '../support/stack.js';

const start = useStack();

const BEA = '700000000000000002';
const CY = '700000000000000003';

type Component = { type: number; label?: string; custom_id?: string; options?: Array<{ value: string; default?: boolean }>; component?: Component };
type Row = { type: number; components?: Component[]; component?: Component };

const components = (message: { components?: unknown[] }) => ((message.components ?? []) as Row[]).flatMap((row) => row.components ?? []);
const labels = (message: { components?: unknown[] }) => components(message).map((c) => c.label ?? '');

async function resultOf(s: Stack, interactionId: string): Promise<FakeMessage> {
  return s.discord.waitFor(() => {
    const message = s.discord.messages(s.discord.defaultChannelId).find((m) => m.interactionId === interactionId);
    return message && message.attachments.length > 0 && message.content.startsWith('✅') ? message : undefined;
  }, 30_000);
}

async function expectPrivateError(interaction: FakeInteraction, pattern: RegExp) {
  const response = await interaction.response();
  expect(response.data.flags, JSON.stringify(response.data)).toBe(MessageFlags.Ephemeral);
  expect(response.data.content).toMatch(pattern);
}

async function size(png: Buffer) {
  const meta = await sharp(png).metadata();
  return [meta.width, meta.height];
}

/** Requests the archive holds: a refused request must leave none. */
async function requestCount(s: Stack): Promise<number> {
  const row = await s.database.db
    .selectFrom('requests')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('--chaos, --stylize, --tile and --draft end to end', () => {
  it('takes inline flags, lets a slash option win over the same flag, and shows what was used', async () => {
    const s = await start();
    const inline = s.discord.slashCommand({ name: 'imagine', options: { prompt: 'teal koi pond --chaos 20 --stylize 300 --tile', count: 2 } });
    const result = await resultOf(s, inline.id);
    expect(result.content).toContain('**teal koi pond**');
    expect(result.content).toContain('chaos 20 · stylize 300 · tile');

    // The tile flag reached the picture: its left edge continues its right edge.
    const { data, info } = await sharp(result.attachments[1]!.data).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const columnDiff = (a: number, b: number) => {
      let sum = 0;
      for (let y = 0; y < info.height; y++)
        for (let c = 0; c < 3; c++) sum += Math.abs(data[(y * info.width + a) * 3 + c]! - data[(y * info.width + b) * 3 + c]!);
      return sum / (info.height * 3);
    };
    expect(columnDiff(0, info.width - 1)).toBeLessThan(columnDiff(info.width / 2 - 1, info.width / 2) * 1.5 + 2);

    const slash = s.discord.slashCommand({
      name: 'imagine',
      options: { prompt: 'teal koi pond --chaos 20 --stylize 300 --tile', chaos: 90, stylize: 50, tile: false },
    });
    const overridden = await resultOf(s, slash.id);
    expect(overridden.content).toContain('chaos 90 · stylize 50');
    expect(overridden.content).not.toContain('tile');
  });

  it('--draft makes a smaller preview whose 🔍 Enhance renders it in full with the same seed', async () => {
    const s = await start();
    const draft = s.discord.slashCommand({ name: 'imagine', options: { prompt: 'a lighthouse at dusk --ar 16:9 --seed 77', draft: true } });
    const preview = await resultOf(s, draft.id);
    expect(preview.content).toContain('draft');
    expect(await size(preview.attachments[0]!.data)).toEqual([672, 384]);
    expect(labels(preview)).toContain('🔍 Enhance');

    const enhance = s.discord.button({ customId: `gen:enhance:${draft.id}`, message: preview, userId: BEA, strict: true });
    expect((await enhance.response()).data.content).toMatch(/Queued/);
    const full = await resultOf(s, enhance.id);
    expect(await size(full.attachments[0]!.data)).toEqual([1344, 768]);
    expect(full.content).toContain('seed `77`');
    expect(full.content).not.toContain('draft');
    expect(labels(full)).not.toContain('🔍 Enhance');

    // Only a draft can be enhanced: a forged Enhance on the full picture changes nothing.
    const before = await requestCount(s);
    await expectPrivateError(s.discord.button({ customId: `gen:enhance:${enhance.id}`, message: full }), /Only a draft/);
    expect(await requestCount(s)).toBe(before);
  });

  it('refuses out-of-range and crafted flags privately, queueing nothing', async () => {
    const s = await start();
    for (const prompt of ['x --chaos 101', 'x --stylize -3', 'x --chaos 1e9', 'x --stylize', 'x --c 10000000000000000000000']) {
      await expectPrivateError(s.discord.slashCommand({ name: 'imagine', options: { prompt } }), /--(chaos|stylize)` takes a whole number/);
    }
    // Discord enforces the option ranges; a forged payload past them is refused all the same.
    await expectPrivateError(
      s.discord.slashCommand({
        name: 'imagine',
        options: [
          { name: 'prompt', type: 3, value: 'x' },
          { name: 'chaos', type: 4, value: 500 },
        ],
      }),
      /--chaos/,
    );
    expect(await requestCount(s)).toBe(0);
  });
});

describe('/settings: personal defaults and remix mode', () => {
  async function openPanel(s: Stack, userId = BEA) {
    const command = s.discord.slashCommand({ name: 'settings', userId });
    const response = await command.response();
    expect(response.data.flags).toBe(MessageFlags.Ephemeral);
    const panel = await s.discord.waitFor(() => command.original());
    return { command, panel };
  }

  async function pick(s: Stack, panel: FakeMessage, field: string, value: string, userId = BEA) {
    const select = s.discord.stringSelect({ customId: `prefs:${field}:${userId}`, values: [value], message: panel, userId, strict: true });
    const response = await select.response();
    expect(response.type, JSON.stringify(response.data)).toBe(InteractionResponseType.UpdateMessage);
    return response;
  }

  it('sets defaults with select menus, and /imagine says which ones it applied', async () => {
    const s = await start();
    const { panel } = await openPanel(s);
    expect(panel.ephemeral).toBe(true);
    expect(
      components(panel)
        .filter((c) => c.type === ComponentType.StringSelect)
        .map((c) => c.custom_id),
    ).toEqual([`prefs:model:${BEA}`, `prefs:aspect:${BEA}`, `prefs:count:${BEA}`, `prefs:remix:${BEA}`]);
    await pick(s, panel, 'model', 'geometric');
    await pick(s, panel, 'aspect', '9:16');
    const last = await pick(s, panel, 'count', '2');
    expect(last.data.content).toContain('Model: `geometric`');
    expect(last.data.content).toContain('Aspect: 9:16');
    const count = (last.data.components as Row[])[2]!.components![0]!.options!.find((o) => o.default);
    expect(count?.value).toBe('2');

    const imagine = s.discord.slashCommand({ name: 'imagine', options: { prompt: 'quiet harbour' }, userId: BEA });
    const result = await resultOf(s, imagine.id);
    expect(result.content).toContain('geometric');
    expect(result.content).toContain('9:16');
    expect(result.attachments).toHaveLength(3);
    expect(await size(result.attachments[1]!.data)).toEqual([768, 1344]);
    const note = await s.discord.waitFor(() => imagine.followUps()[0]);
    expect(note.ephemeral).toBe(true);
    expect(note.content).toBe('⚙️ Used your defaults: model `geometric` · aspect 9:16 · 2 pictures. Change them with `/settings`.');

    // Given options (and an inline --ar) beat the defaults, and only the rest are reported.
    const given = s.discord.slashCommand({ name: 'imagine', options: { prompt: 'quiet harbour --ar 16:9', count: 1 }, userId: BEA });
    const own = await resultOf(s, given.id);
    expect(own.content).toContain('16:9');
    expect(await s.discord.waitFor(() => given.followUps()[0])).toMatchObject({ content: expect.stringMatching(/defaults: model `geometric`\. /) });

    // Someone without defaults gets no note.
    const other = s.discord.slashCommand({ name: 'imagine', options: { prompt: 'quiet harbour' }, userId: CY });
    const plain = await resultOf(s, other.id);
    expect(plain.content).toContain('painterly');
    expect(other.followUps()).toHaveLength(0);
  });

  it("refuses another member's panel, forged values and bad style codes, changing nothing", async () => {
    const s = await start();
    const { panel } = await openPanel(s);
    await pick(s, panel, 'aspect', '3:2');
    const stored = () => s.database.db.selectFrom('member_preferences').selectAll().orderBy('user_id').execute();
    const before = await stored();

    await expectPrivateError(
      s.discord.stringSelect({ customId: `prefs:aspect:${BEA}`, values: ['16:9'], message: panel, userId: CY }),
      /belongs to someone else/,
    );
    await expectPrivateError(
      s.discord.stringSelect({ customId: `prefs:aspect:${BEA}`, values: ['21:9'], message: panel, userId: BEA }),
      /not one of the choices/,
    );
    await expectPrivateError(
      s.discord.stringSelect({ customId: `prefs:model:${BEA}`, values: ['dalle'], message: panel, userId: BEA }),
      /not one of the choices/,
    );
    await expectPrivateError(
      s.discord.stringSelect({ customId: `prefs:count:${BEA}`, values: ['40'], message: panel, userId: BEA }),
      /not one of the choices/,
    );
    await expectPrivateError(
      s.discord.stringSelect({ customId: `prefs:remix:${BEA}`, values: ['maybe'], message: panel, userId: BEA }),
      /not one of the choices/,
    );
    await expectPrivateError(
      s.discord.stringSelect({ customId: `prefs:aspect:12`, values: ['16:9'], message: panel, userId: BEA }),
      /not one I recognise/,
    );
    await expectPrivateError(s.discord.modalSubmit({ customId: `prefs:stylecode:${BEA}`, fields: { code: 'x' }, userId: CY }), /someone else/);
    await expectPrivateError(
      s.discord.modalSubmit({ customId: `prefs:stylecode:${BEA}`, fields: { code: '<@&1> drop table' }, userId: BEA }),
      /style code is/,
    );
    expect(await stored()).toEqual(before);

    // A good style code is kept and shown.
    const open = await s.discord.button({ customId: `prefs:style:${BEA}`, message: panel, userId: BEA }).response();
    expect(open.type).toBe(InteractionResponseType.Modal);
    const saved = await s.discord
      .modalSubmit({ customId: `prefs:stylecode:${BEA}`, fields: { code: 'k7-moss' }, message: panel, userId: BEA })
      .response();
    expect(saved.data.content).toContain('Style code: `k7-moss`');
    expect((await stored())[0]).toMatchObject({ user_id: BEA, aspect: '3:2', style_code: 'k7-moss' });
  });

  it('remix mode: V1 and Reroll open a form to edit the prompt first', async () => {
    const provider = new ScriptedProvider();
    const s = await start({ provider });
    const { panel } = await openPanel(s);
    await pick(s, panel, 'remix', 'on');

    const first = s.discord.slashCommand({ name: 'imagine', options: { prompt: 'red fox in snow --chaos 40', count: 2, seed: 5 }, userId: CY });
    const original = await resultOf(s, first.id);

    // Bea has remix mode on: the buttons open a form with the prompt to edit.
    const vary = s.discord.button({ customId: `gen:vary:${first.id}:1`, message: original, userId: BEA });
    const form = await vary.response();
    expect(form.type).toBe(InteractionResponseType.Modal);
    expect(form.data.custom_id).toBe(`gen:edit:vary:${first.id}:1`);
    const field = (form.data.components as Row[])[0]!.component!;
    expect(field).toMatchObject({ custom_id: 'prompt', value: 'red fox in snow' });
    const submitted = s.discord.modalSubmit({
      customId: form.data.custom_id,
      fields: { prompt: 'blue fox in snow @everyone' },
      message: original,
      userId: BEA,
    });
    expect((await submitted.response()).data.content).toMatch(/Queued/);
    const variation = await resultOf(s, submitted.id);
    expect(variation.content).toContain('Variation');
    expect(variation.content).toContain('blue fox in snow @everyone');
    expect(variation.content).toContain('chaos 40');
    expect(variation.allowedMentions).toEqual({ parse: [] });
    expect(provider.requests.at(-1)).toMatchObject({ kind: 'variation', prompt: 'blue fox in snow @everyone', chaos: 40 });

    const reroll = await s.discord.button({ customId: `gen:reroll:${first.id}`, message: original, userId: BEA }).response();
    expect(reroll.type).toBe(InteractionResponseType.Modal);
    const rerolled = s.discord.modalSubmit({
      customId: reroll.data.custom_id,
      fields: { prompt: 'fox at night --tile' },
      message: original,
      userId: BEA,
    });
    const again = await resultOf(s, rerolled.id);
    expect(again.content).toContain('fox at night');
    expect(again.content).toContain('tile');
    expect(provider.requests.at(-1)).toMatchObject({ kind: 'txt2img', prompt: 'fox at night', chaos: 40, tile: true, count: 2 });

    // Cy has remix mode off: the same button queues straight away.
    expect((await s.discord.button({ customId: `gen:reroll:${first.id}`, message: original, userId: CY }).response()).data.content).toMatch(/Queued/);

    // A forged or emptied form is refused privately.
    const before = await requestCount(s);
    await expectPrivateError(
      s.discord.modalSubmit({ customId: `gen:edit:vary:${first.id}`, fields: { prompt: 'x' }, userId: BEA }),
      /not one I recognise/,
    );
    await expectPrivateError(
      s.discord.modalSubmit({ customId: `gen:edit:reroll:123456789012345678`, fields: { prompt: 'x' }, userId: BEA }),
      /no longer know/,
    );
    await expectPrivateError(
      s.discord.modalSubmit({ customId: form.data.custom_id, fields: { prompt: '   ' }, message: original, userId: BEA }),
      /empty/,
    );
    await expectPrivateError(
      s.discord.modalSubmit({ customId: form.data.custom_id, fields: { prompt: 'x --chaos 500' }, message: original, userId: BEA }),
      /--chaos/,
    );
    expect(await requestCount(s)).toBe(before);
  });
});

describe('/settings and /privacy', () => {
  it('/privacy delete-my-data deletes the personal defaults too', async () => {
    const s = await start();
    const settings = s.discord.slashCommand({ name: 'settings', userId: BEA });
    await settings.response();
    const panel = await s.discord.waitFor(() => settings.original());
    await s.discord.stringSelect({ customId: `prefs:remix:${BEA}`, values: ['on'], message: panel, userId: BEA }).response();
    const rows = () => s.database.db.selectFrom('member_preferences').select('user_id').execute();
    expect(await rows()).toEqual([{ user_id: BEA }]);

    const ask = s.discord.slashCommand({ name: 'privacy', userId: BEA, options: [{ name: 'delete-my-data', type: 1 }] });
    await ask.response();
    s.discord.button({ customId: 'privacy:delete-my-data', message: ask.original()!, userId: BEA });
    await s.discord.waitFor(() => ask.original()?.content.startsWith('🗑 Done') || undefined);
    expect(ask.original()!.content).toContain('personal defaults deleted: 1');
    expect(await rows()).toEqual([]);
  });
});

describe('🔀 Remix form with a reference image', () => {
  it('mixes an uploaded reference into the source, and refuses non-images and oversized files', async () => {
    const provider = new ScriptedProvider();
    const s = await start({ provider });
    const first = s.discord.slashCommand({ name: 'imagine', options: { prompt: 'grey stones', seed: 10 } });
    const parent = await resultOf(s, first.id);

    const open = await s.discord.button({ customId: `img:remix:${first.id}`, message: parent, userId: BEA }).response();
    expect(open.type).toBe(InteractionResponseType.Modal);
    const upload = (open.data.components as Row[]).find((row) => row.type === ComponentType.Label)!;
    expect(upload.component).toMatchObject({ type: ComponentType.FileUpload, custom_id: 'reference', required: false });

    const redPng = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#ff0000' } })
      .png()
      .toBuffer();
    const submit = s.discord.modalSubmit({
      customId: open.data.custom_id,
      fields: { prompt: 'grey stones, warmer', strength: '0.5' },
      uploads: { reference: [{ filename: 'red.png', data: redPng, contentType: 'image/png' }] },
      message: parent,
      userId: BEA,
    });
    expect((await submit.response()).data.content).toMatch(/Queued/);
    await resultOf(s, submit.id);
    const remix = provider.requests.find((r) => r.kind === 'img2img')!;
    const parentStats = await sharp(parent.attachments[0]!.data).stats();
    const initStats = await sharp(remix.init!).stats();
    // The provider worked from the source with the red reference laid over it at half strength.
    const red = [255, 0, 0];
    initStats.channels.slice(0, 3).forEach((channel, i) => {
      expect(Math.abs(channel.mean - (parentStats.channels[i]!.mean + red[i]!) / 2)).toBeLessThan(2);
    });
    expect(await size(remix.init!)).toEqual(await size(parent.attachments[0]!.data));

    const before = await requestCount(s);
    const refused = (file: { filename: string; data: Buffer; contentType?: string }, pattern: RegExp) =>
      expectPrivateError(
        s.discord.modalSubmit({
          customId: open.data.custom_id,
          fields: { prompt: 'grey stones', strength: '0.5' },
          uploads: { reference: [file] },
          message: parent,
          userId: BEA,
        }),
        pattern,
      );
    await refused({ filename: 'notes.txt', data: Buffer.from('not a picture'), contentType: 'text/plain' }, /PNG, JPEG or WebP/);
    await refused(
      { filename: 'fake.png', data: Buffer.from('not a picture either'), contentType: 'image/png' },
      /PNG, JPEG or WebP|could not be read/,
    );
    await refused({ filename: 'huge.png', data: Buffer.concat([redPng, Buffer.alloc(9 * 1024 * 1024)]), contentType: 'image/png' }, /too large/);
    expect(await requestCount(s)).toBe(before);
  });
});
