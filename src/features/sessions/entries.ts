import type { ChatInputCommandInteraction, ModalSubmitInteraction } from 'discord.js';
import { DEFAULT_STRENGTH } from '../../bot/components/community.js';
import { AttachmentRefusedError } from '../../bot/attachments.js';
import { imageBytes } from '../../bot/components/generation.js';
import type { BotContext } from '../../bot/context.js';
import { queuedMessage } from '../../bot/messages.js';
import { InvalidRequestError, resolvePromptOptions } from '../../bot/prompt.js';
import { replyQueued } from '../../bot/queued-reply.js';
import { requesterOf } from '../../bot/requester.js';
import { enqueueGeneration } from '../../bot/requests.js';
import { timestamp } from './model.js';
import type { ReserveResult, Session } from './store.js';

/**
 * Entering a live session: `/imagine` inside its thread, or the form of the 🎨 Enter button. An
 * entry is one picture; it passes every rule an ordinary request does (bans, channels, blocklist,
 * NSFW, quotas, budget), and is queued ahead of ordinary requests so the round is not kept waiting.
 */

export interface EntryInput {
  prompt: string;
  negative?: string | null;
  aspect?: string | null;
  seed?: number | null;
  model?: string | null;
}

/** The running session whose thread this is (an ended one no longer takes /imagine as entries). */
export async function sessionOfThread(ctx: BotContext, channelId: string | null): Promise<Session | undefined> {
  if (!channelId) return undefined;
  const session = await ctx.sessions.byThread(channelId);
  return session && session.phase !== 'ended' ? session : undefined;
}

export function refusalText(result: Extract<ReserveResult, { ok: false }>): string {
  const session = result.session;
  switch (result.reason) {
    case 'missing':
      return 'I do not know that session.';
    case 'paused':
      return 'The session is paused: entries open again when the host resumes it.';
    case 'limit':
      return `You have made ${session!.entriesPerRound} ${session!.entriesPerRound === 1 ? 'entry' : 'entries'} this round, as many as this session allows. Vote for your favourite when voting opens!`;
    case 'closed': {
      if (!session || session.phase === 'ended') return 'This session has ended and takes no more entries.';
      const when = session.phaseEndsAt ? ` (until ${timestamp(session.phaseEndsAt)})` : '';
      const now = session.phase === 'voting' ? `it is being voted on${when}` : `its last entries are being drawn${when}`;
      const next = session.round < session.rounds ? ` Round ${session.round + 1} opens after the vote.` : ' It was the last round.';
      return `Sorry, round ${session.round} is closed for entries: ${now}.${next}`;
    }
  }
}

/**
 * The picture an evolve entry remixes, with its bytes. One that went since its round opened (its
 * author or a moderator deleted it, /privacy erased it, its bytes are gone) is not there to remix:
 * the entry starts from text instead, like one in a round without a winner.
 */
async function remixBase(ctx: BotContext, session: Session, imageId: string | undefined): Promise<{ id: string; bytes: Buffer } | undefined> {
  if (!imageId) return undefined;
  try {
    return { id: imageId, bytes: await imageBytes(ctx, imageId) };
  } catch (error) {
    if (!(error instanceof InvalidRequestError || error instanceof AttachmentRefusedError)) throw error;
    ctx.logger.info({ sessionId: session.id, imageId, reason: error.message }, 'session base picture gone: entry drawn from text');
    return undefined;
  }
}

/** Takes the member's entry and answers with the usual "Queued" message, marked as the entry it is. */
export async function enterSession(
  interaction: ChatInputCommandInteraction | ModalSubmitInteraction,
  ctx: BotContext,
  session: Session,
  input: EntryInput,
): Promise<void> {
  if (session.guildId !== interaction.guildId) throw new InvalidRequestError('I do not know that session.');
  const options = resolvePromptOptions(
    { prompt: input.prompt, negative: input.negative, aspect: input.aspect, seed: input.seed, count: 1, model: input.model },
    ctx.models.map((model) => model.name),
  );
  const reserved = await ctx.sessions.reserveEntry(session.id, {
    id: interaction.id,
    userId: interaction.user.id,
    userName: interaction.user.displayName ?? interaction.user.username,
    prompt: options.prompt,
    createdAt: ctx.now(),
  });
  if (!reserved.ok) throw new InvalidRequestError(refusalText(reserved));
  let queued: Awaited<ReturnType<typeof enqueueGeneration>>;
  let base: { id: string; bytes: Buffer } | undefined;
  try {
    // Evolve mode: from round 2 on, the entry remixes the last winner (lineage records the link).
    base = await remixBase(ctx, session, reserved.baseImageId);
    const requester = requesterOf(interaction);
    // A thread's payload does not say whether it is age-restricted; the session noted its channel's
    // flag when it started, so a burst of entries does not ask Discord once each.
    if (requester.channelNsfw === undefined && session.ageRestricted !== undefined) requester.channelNsfw = session.ageRestricted;
    queued = await enqueueGeneration(ctx, requester, {
      kind: base ? 'img2img' : 'txt2img',
      options,
      urgent: true,
      partOf: 'session',
      ...(base ? { parentImageId: base.id, input: base.bytes, strength: DEFAULT_STRENGTH } : {}),
    });
  } catch (error) {
    // Refused (quota, blocklist, budget…): the entry never counted.
    await ctx.sessions.dropEntry(interaction.id);
    throw error;
  }
  if (queued.duplicate) return;
  const answer = queuedMessage(queued.record, queued.place);
  const round = (await ctx.sessions.get(session.id))?.round ?? session.round;
  const remix = base ? " (a remix of last round's winner)" : '';
  await replyQueued(interaction, ctx, queued.record, {
    ...answer,
    content: `🎨 **Entry #${reserved.number}** for round ${round}${remix}\n${answer.content}`,
  });
}
