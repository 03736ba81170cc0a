import type { MemberDataDeleter } from '../../bot/privacy.js';
import type { BotContext } from '../../bot/context.js';
import { channelGuildId } from '../../bot/channels.js';
import { fetchChannelMessage } from '../../bot/discord-messages.js';
import { messageRef } from '../../bot/image-sources.js';
import { InvalidRequestError } from '../../bot/prompt.js';
import { picturesOfApiMessage } from '../../bot/result-files.js';
import { inThisServer } from '../../bot/server-scope.js';
import { ageRestriction } from '../../bot/age-restriction.js';
import type { Challenge, Entry } from './model.js';
import { archivedPicture } from './pictures.js';
import { takeDownGalleryPictures, themeText, timestamp } from './transitions.js';

/**
 * What members do in a challenge (enter, withdraw, vote), shared by /challenge and the buttons.
 * Every refusal is an InvalidRequestError: the member is told why, privately, and nothing changes.
 */
export interface Member {
  userId: string;
  guildId: string | null;
}

function guildOf(member: Member): string {
  if (!member.guildId) throw new InvalidRequestError('Challenges happen in servers, not in direct messages.');
  return member.guildId;
}

/** The server's challenge that takes entries now. */
export async function challengeTakingEntries(ctx: BotContext, member: Member): Promise<Challenge> {
  const challenge = await ctx.challenges.active(guildOf(member));
  if (!challenge || challenge.phase === 'announce') throw new InvalidRequestError('There is no challenge taking entries here right now.');
  if (challenge.phase === 'voting') throw new InvalidRequestError('Entries are closed: voting is under way.');
  if (challenge.phase !== 'submissions') throw new InvalidRequestError('There is no challenge taking entries here right now.');
  return challenge;
}

export interface Submitted {
  challenge: Challenge;
  entryId: number;
  count: number;
  max: number;
}

/** Enters one of the member's own pictures, made in this server after the announcement. */
export async function submitEntry(ctx: BotContext, member: Member, imageId: string): Promise<Submitted> {
  const challenge = await challengeTakingEntries(ctx, member);
  // Entries are pictures of the archive (every picture that reached Discord has its row there).
  // Another server's picture is as unknown as a missing one: its existence is not revealed.
  const image = await archivedPicture(ctx, imageId);
  if (!image || image.deleted || !inThisServer(image, challenge)) throw new InvalidRequestError(UNKNOWN_PICTURE);
  if (image.userId !== member.userId) throw new InvalidRequestError('You can only enter pictures you made yourself.');
  if (image.ageRestricted && !(await ageRestriction(ctx).destination(challenge.channelId))) {
    throw new InvalidRequestError('That picture was made in an age-restricted channel, and this challenge is not: it cannot be entered here.');
  }
  if (image.createdAt < challenge.announcedAt!) {
    throw new InvalidRequestError(
      `Only pictures made after the challenge was announced (${timestamp(challenge.announcedAt!, 'f')}) can be entered. Make a new one with \`/imagine\`.`,
    );
  }
  const { challengeMaxEntries: max } = await ctx.settings.get(challenge.guildId);
  const result = await ctx.challenges.submit(challenge.id, { userId: member.userId, imageId, jobId: image.requestId ?? '' }, ctx.now(), max);
  if (result.ok) return { challenge, entryId: result.entryId, count: result.count, max };
  switch (result.reason) {
    case 'duplicate':
      throw new InvalidRequestError('That picture is already entered.');
    case 'limit':
      throw new InvalidRequestError(
        `You already have ${max} ${max === 1 ? 'entry' : 'entries'}, the most this server allows. Take one back with \`/challenge withdraw\` first.`,
      );
    case 'late':
      throw new InvalidRequestError(`Entries closed ${timestamp(challenge.submissionsEndAt!)}.`);
    default:
      throw new InvalidRequestError('Entries are closed.');
  }
}

export function submittedText(submitted: Submitted): string {
  const { challenge, entryId, count, max } = submitted;
  return (
    `🏆 Entered as **#${entryId}** in **${themeText(challenge.theme)}** (${count} of ${max}). ` +
    `Voting opens ${timestamp(challenge.submissionsEndAt!)}; \`/challenge withdraw entry:${entryId}\` takes it back.`
  );
}

/** Takes back one of the member's entries: the one named, or the only one. */
export async function withdrawEntry(ctx: BotContext, member: Member, entryId: number | null): Promise<{ challenge: Challenge; entry: Entry }> {
  const challenge = await challengeTakingEntries(ctx, member);
  let id = entryId;
  if (id === null) {
    const mine = await ctx.challenges.entriesOf(challenge.id, member.userId);
    if (mine.length === 0) throw new InvalidRequestError('You have no entries in this challenge.');
    if (mine.length > 1) {
      throw new InvalidRequestError(`You have entries ${mine.map((entry) => `#${entry.id}`).join(' and ')}: say which with \`entry:\`.`);
    }
    id = mine[0]!.id;
  }
  const result = await ctx.challenges.withdraw(challenge.id, member.userId, id);
  if (!result.ok) {
    throw new InvalidRequestError(result.reason === 'closed' ? 'Entries are closed.' : `You have no entry #${id} in this challenge.`);
  }
  return { challenge, entry: result.entry };
}

/** One vote per member per entry, not for oneself, while the voting window is open. */
export async function castVote(ctx: BotContext, member: Member, challengeId: string, entryId: number): Promise<Challenge> {
  const challenge = await ctx.challenges.get(challengeId);
  if (!challenge || challenge.guildId !== member.guildId) throw new InvalidRequestError('I do not know that challenge.');
  const result = await ctx.challenges.vote(challengeId, member.userId, entryId, ctx.now());
  if (result.ok) return challenge;
  switch (result.reason) {
    case 'self':
      throw new InvalidRequestError('You cannot vote for your own entry.');
    case 'already':
      throw new InvalidRequestError(`You already voted for entry #${entryId}.`);
    case 'unknown':
      throw new InvalidRequestError(`Entry #${entryId} is not in this challenge.`);
    default:
      throw new InvalidRequestError('Voting on this challenge is closed.');
  }
}

const UNKNOWN_PICTURE = 'I do not know that picture.';

const imageIdPattern = /^(?:atelier-)?(\d{15,20})-([1-4])(?:\.(?:png|jpe?g|webp))?$/i;

/**
 * The picture a member points at: `atelier-<job>-<n>.png` (a result's file name), `<job>-<n>`,
 * or a link to the message that shows it (when it shows exactly one picture).
 */
export async function resolveImageReference(ctx: BotContext, reference: string, member: Member): Promise<string> {
  const text = reference.trim();
  const direct = imageIdPattern.exec(text);
  if (direct) return `${direct[1]}-${direct[2]}`;
  const link = messageRef(text);
  if (!link?.channelId) {
    throw new InvalidRequestError('Give the picture as its file name (like `atelier-1234…-2.png`) or as a link to its message.');
  }
  // Only messages of this server are looked at: a link into another server reads like one to a
  // message without pictures, whatever that message holds.
  const inThisServer = link.guildId === guildOf(member) && (await channelGuildId(ctx, link.channelId)) === link.guildId;
  const message = inThisServer ? await fetchChannelMessage(ctx, link.channelId, link.messageId) : undefined;
  // Atelier's results only: a member's file named like one is not taken for it.
  const pictures = message ? picturesOfApiMessage(ctx, message) : [];
  if (pictures.length === 0) throw new InvalidRequestError('I found none of my pictures in that message.');
  if (pictures.length > 1) {
    throw new InvalidRequestError(`That message shows ${pictures.length} pictures: give one by its file name, e.g. \`${pictures[1]}\`.`);
  }
  return pictures[0]!;
}

/**
 * /privacy: the member's challenge entries become anonymous and their season points go. Their
 * pictures leave the gallery posts first, while the entries still say whose they are (a run
 * interrupted between the two does both again).
 */
export const challengeDataDeleter: MemberDataDeleter = {
  name: 'challenge entries made anonymous',
  async deleteMemberData(ctx, userId) {
    await takeDownGalleryPictures(ctx, { userId });
    return ctx.challenges.anonymizeMember(userId);
  },
};

/** /privacy: the member's challenge votes are withdrawn, and an open challenge stops counting them. */
export const challengeVoteDeleter: MemberDataDeleter = {
  name: 'challenge votes removed',
  deleteMemberData: (ctx, userId) => ctx.challenges.removeVotesOf(userId),
};
