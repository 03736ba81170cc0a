/**
 * The throughput baseline: the simplest bot that does the same job, as a tutorial would write it.
 * discord.js defers the interaction, one BullMQ queue carries the prompt, a worker returns the
 * same PNG the benchmark provider draws, and the bot edits the reply with the file. No records,
 * no fairness, no recovery: what Atelier adds on top is what the ratio measures.
 *
 * Runs as `NAIVE_ROLE=bot|worker`, started like Atelier's processes (same environment variables);
 * imported without it, it only provides the queue's names.
 */
import { Queue, QueueEvents, Worker } from 'bullmq';
import { Client, Events, GatewayIntentBits, Routes, type ChatInputCommandInteraction } from 'discord.js';
import { Redis } from 'ioredis';
import { benchPng } from './provider.js';

export const NAIVE_QUEUE = 'naive';
export const NAIVE_PREFIX = 'naive';

const env = process.env;
const connect = () => new Redis(env.REDIS_URL!, { maxRetriesPerRequest: null });

if (env.NAIVE_ROLE === 'worker') {
  const png = (await benchPng(Number(env.BENCH_IMAGE_SIZE ?? 512))).toString('base64');
  new Worker(NAIVE_QUEUE, async () => png, { connection: connect(), prefix: NAIVE_PREFIX, concurrency: 1 });
} else if (env.NAIVE_ROLE === 'bot') {
  const client = new Client({
    intents: [GatewayIntentBits.Guilds],
    rest: { api: env.DISCORD_API_URL, cdn: env.DISCORD_CDN_URL, globalRequestsPerSecond: Number(env.DISCORD_GLOBAL_RATE_LIMIT ?? 50) },
  });
  const queue = new Queue(NAIVE_QUEUE, { connection: connect(), prefix: NAIVE_PREFIX });
  const events = new QueueEvents(NAIVE_QUEUE, { connection: connect(), prefix: NAIVE_PREFIX });
  const waiting = new Map<string, ChatInputCommandInteraction>();

  client.on(Events.InteractionCreate, async (interaction) => {
    if (!interaction.isChatInputCommand()) return;
    await interaction.deferReply();
    waiting.set(interaction.id, interaction);
    await queue.add('draw', { prompt: interaction.options.getString('prompt') }, { jobId: `n${interaction.id}`, removeOnComplete: true });
  });
  events.on('completed', ({ jobId, returnvalue }) => {
    const interaction = waiting.get(jobId.slice(1));
    if (!interaction) return;
    waiting.delete(interaction.id);
    const base64 = typeof returnvalue === 'string' && returnvalue.startsWith('"') ? (JSON.parse(returnvalue) as string) : String(returnvalue);
    // Named like Atelier's results, so the benchmark counts deliveries the same way.
    interaction.editReply({ files: [{ attachment: Buffer.from(base64, 'base64'), name: `atelier-${interaction.id}-1.png` }] }).catch(() => undefined);
  });

  await client.login(env.DISCORD_TOKEN);
  await client.rest.put(Routes.applicationCommands(env.DISCORD_APPLICATION_ID!), {
    body: [{ name: 'imagine', description: 'Draw a picture', options: [{ type: 3, name: 'prompt', description: 'What to draw', required: true }] }],
  });
}
