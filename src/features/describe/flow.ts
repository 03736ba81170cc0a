import { type Attachment, type ChatInputCommandInteraction } from 'discord.js';
import { takeProviderAllowance } from '../../bot/admission.js';
import type { BotContext } from '../../bot/context.js';
import { linkTokens, sourceFromAttachment, sourceFromLink, type ImageSource } from '../../bot/image-sources.js';
import { InvalidRequestError } from '../../bot/prompt.js';
import { describeBlobId, describeJobOptions } from './jobs.js';
import { DescribeStore } from './store.js';

/**
 * /describe: the picture goes to a worker (whose provider reads it: a captioning model, a
 * ComfyUI workflow, or, offline, its colours and composition); the answer, four prompts with a
 * button each, replaces the "thinking…" reply once it is back (see processDescribed).
 */
export async function runDescribe(
  interaction: ChatInputCommandInteraction,
  ctx: BotContext,
  asked: { file: Attachment | null; link: string | null },
): Promise<void> {
  const links = linkTokens(asked.link);
  if ((asked.file ? 1 : 0) + links.length !== 1) {
    throw new InvalidRequestError('Give me one picture: attach it as `image`, or paste one message link as `link`.');
  }
  if (!ctx.describeQueue) throw new InvalidRequestError('Describing pictures is not available here.');
  // A provider reads the picture: the same tight allowance as asking for one, before anything is downloaded.
  await takeProviderAllowance(ctx, interaction.user.id);
  const source: ImageSource = asked.file
    ? await sourceFromAttachment(ctx, interaction, asked.file)
    : await sourceFromLink(ctx, interaction, links[0]!);

  const store = new DescribeStore(ctx.db, ctx.redis, ctx.prefix);
  // A twin of this interaction (Discord resending it) is one describe.
  if (await store.pending(interaction.id)) return;
  await interaction.deferReply();
  await store.begin(
    {
      id: interaction.id,
      applicationId: ctx.applicationId,
      guildId: interaction.guildId ?? undefined,
      channelId: interaction.channelId,
      userId: interaction.user.id,
      interactionAt: interaction.createdTimestamp,
    },
    interaction.token,
  );
  await ctx.images.putBlob(describeBlobId(interaction.id), source.bytes);
  try {
    await ctx.describeQueue.add('describe', { id: interaction.id }, { ...describeJobOptions, jobId: `describe-${interaction.id}` });
  } catch (error) {
    await store.finish(interaction.id).catch(() => undefined);
    throw error;
  }
}
