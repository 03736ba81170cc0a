import { ApplicationCommandOptionType, InteractionResponseType, MessageFlags } from 'discord.js';
import type { Cluster } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { FakeMessage } from '../support/fake-discord.js';
import { useRedisCluster } from '../support/redis.js';
import { ScriptedProvider } from '../support/scripted-provider.js';
import { useStack, type Stack } from '../support/stack.js';

const start = useStack();

function imagine(s: Stack, prompt: string) {
  return s.discord.slashCommand({ name: 'imagine', options: [{ name: 'prompt', type: ApplicationCommandOptionType.String, value: prompt }] });
}

function resultOf(s: Stack, interactionId: string): Promise<FakeMessage> {
  return s.discord.waitFor(() => {
    const message = s.discord.messages(s.discord.defaultChannelId).find((m) => m.interactionId === interactionId);
    return message && message.attachments.length > 0 && message.content.startsWith('✅') ? message : undefined;
  }, 30_000);
}

/** Every key of the stack's namespace, with the master it lives on. */
async function keysByNode(s: Stack): Promise<Map<string, string[]>> {
  const found = new Map<string, string[]>();
  for (const node of (s.redis as unknown as Cluster).nodes('master')) {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, page] = await node.scan(cursor, 'MATCH', `${s.prefix.replace(/[{}]/g, '\\$&')}:*`, 'COUNT', 500);
      cursor = next;
      keys.push(...page);
    } while (cursor !== '0');
    if (keys.length > 0) found.set(`${node.options.host}:${node.options.port}`, keys);
  }
  return found;
}

describe('the bot and a worker on a 3-master Redis Cluster', () => {
  const cluster = useRedisCluster();

  it('answers /imagine, delivers the picture once, and keeps every key (BullMQ’s too) in the prefix’s one slot', async () => {
    const s = await start({ provider: new ScriptedProvider() });
    expect(s.redis.isCluster).toBe(true);
    expect(cluster().nodes).toHaveLength(3);
    expect(s.prefix).toMatch(/^\{t[0-9a-f]{8}\}$/);

    const interaction = imagine(s, 'a lighthouse on a cluster');
    expect((await interaction.response()).data.content).toMatch(/Queued/);
    const result = await resultOf(s, interaction.id);
    expect(result.content).toContain('a lighthouse on a cluster');
    expect(result.allowedMentions).toEqual({ parse: [] });
    const uploads = s.discord.requests.filter((r) => r.status < 300 && r.files.some((f) => f.filename.startsWith(`atelier-${interaction.id}-`)));
    expect(uploads).toHaveLength(1);

    // A reroll goes through the same scripts and queues again.
    const reroll = s.discord.button({ customId: `gen:reroll:${interaction.id}`, message: result });
    expect((await reroll.response()).data.content).toMatch(/Queued/);
    expect((await resultOf(s, reroll.id)).attachments).toHaveLength(1);

    const byNode = await keysByNode(s);
    expect(byNode.size).toBe(1);
    const keys = [...byNode.values()][0]!;
    expect(keys).toContain(`${s.prefix}:generate:meta`);
    expect(keys.some((key) => key.startsWith(`${s.prefix}:deliver:`))).toBe(true);
    const slots = new Set(await Promise.all(keys.map((key) => s.redis.cluster('KEYSLOT', key))));
    expect(slots.size).toBe(1);
  });

  it('cancels a running job through pub/sub across the cluster; another member cannot', async () => {
    const provider = new ScriptedProvider();
    provider.holdNext();
    const s = await start({ provider });
    const started = provider.nextRequest();
    const interaction = imagine(s, 'never finished');
    await interaction.response();
    await started;
    const message = s.discord.messages(s.discord.defaultChannelId).find((m) => m.interactionId === interaction.id)!;

    const stranger = s.discord.button({ customId: `gen:cancel:${interaction.id}`, message, userId: '999999999999999999' });
    const refusal = await stranger.response();
    expect(refusal.data.flags).toBe(MessageFlags.Ephemeral);
    expect((await s.ctx.jobs.get(interaction.id))?.status).toBe('running');

    const author = s.discord.button({ customId: `gen:cancel:${interaction.id}`, message, userId: interaction.payload.member.user.id });
    const update = await author.response();
    expect(update.type).toBe(InteractionResponseType.UpdateMessage);
    expect(update.data.content).toMatch(/Cancelled/);
    // The worker hears the cancel (published on one node, subscribed on another) and lets the job go.
    await s.discord.waitFor(async () => (await s.ctx.generateQueue.getJobCounts('active')).active === 0, 20_000);
    expect((await s.ctx.jobs.get(interaction.id))?.status).toBe('cancelled');
    expect(s.discord.message(message.id)?.attachments).toHaveLength(0);
  });
});
