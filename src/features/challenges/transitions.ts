import {
  ButtonStyle,
  ComponentType,
  DiscordAPIError,
  Routes,
  type APIActionRowComponent,
  type APIAllowedMentions,
  type APIComponentInMessageActionRow,
  type APIEmbed,
  type APIMessage,
  type RawFile,
} from 'discord.js';
import sharp from 'sharp';
import { ageRestriction, type AgeRestriction } from '../../bot/age-restriction.js';
import { hasLeftGuild, leaveGuild } from '../../bot/guilds.js';
import { imageBytes } from '../../bot/components/generation.js';
import type { BotContext } from '../../bot/context.js';
import { unlessRefused, withMessageLock } from '../../bot/discord-messages.js';
import { memberMention, memberText, noMentions } from '../../bot/messages.js';
import { DEFAULT_ATTACHMENT_LIMIT } from '../../bot/requests.js';
import { fitToSize } from '../../images/fit.js';
import { challengeVoteId } from './ids.js';
import { DAY_MS, DELETED_MEMBER, ENTRY_POINTS, PODIUM_POINTS, openPhases, type Challenge, type RankedEntry } from './model.js';
import { composePodium } from './render.js';
import { removeTransitions, scheduleTransition, scheduleWeekly, transitionJobId, weeklySchedulerId, type TimedPhase } from './timers.js';

/**
 * The phase changes of a challenge and what they post. Each is `(ctx, challengeId, now)` and safe to
 * run any number of times: the state change is a compare-and-set in PostgreSQL (only one run wins), and
 * the Discord posts that belong to the new phase are made by whichever run finds them missing,
 * under a lock, with nonces, and recorded as they land, so a retry after a crash finishes the job
 * and a duplicate changes nothing.
 */
export type TransitionOutcome = 'moved' | 'finished' | 'unchanged';

interface ChallengePost {
  content?: string;
  embeds?: APIEmbed[];
  components?: APIActionRowComponent<APIComponentInMessageActionRow>[];
  /** Nobody is pinged, except the winners named in the results. */
  allowed_mentions: APIAllowedMentions;
  attachments?: { id: number; filename: string; description?: string }[];
}

const CONTENT_MAX = 2000;

/** "<t:1700000000:R>": Discord shows it in each member's own timezone. */
export const timestamp = (ms: number, style: 'R' | 'f' | 'd' = 'R') => `<t:${Math.floor(ms / 1000)}:${style}>`;

/**
 * A theme as posts and answers echo it (see memberText): no markdown, no masked link (a theme like
 * `[free nitro](https://…)` shows its address), mentions shown as text.
 */
export const themeText = (theme: string) => memberText(theme);

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Posts with the bot token; the nonce makes a retried post return the first message. */
async function post(ctx: BotContext, channelId: string, body: ChallengePost, nonce: string, files?: RawFile[]): Promise<APIMessage> {
  return (await ctx.rest.post(Routes.channelMessages(channelId), {
    body: { ...body, nonce, enforce_nonce: true },
    files,
  })) as APIMessage;
}

/** Runs the posting steps of a challenge one process at a time. */
function postingLock<T>(ctx: BotContext, challengeId: string, fn: () => Promise<T>) {
  return withMessageLock(ctx, `challenge-${challengeId}`, true, fn);
}

/**
 * Runs the posting step of a phase. When Discord refuses a post for good (the bot lost access to
 * the channel, the channel is gone), retrying would only repeat the refusal: the challenge pauses
 * in that server instead, its deadlines stop, and /challenge status tells the admins why.
 */
async function postOrPause(ctx: BotContext, challenge: Challenge, what: string, posts: () => Promise<boolean>): Promise<boolean> {
  // A server that removed the bot hears nothing more (its challenge was stopped, or is being stopped).
  if (await hasLeftGuild(ctx, challenge.guildId)) return false;
  const ids = { challengeId: challenge.id, guildId: challenge.guildId, channelId: challenge.channelId };
  const outcome = await unlessRefused(ctx, `challenge ${what}`, ids, () => postingLock(ctx, challenge.id, posts));
  if ('done' in outcome) return outcome.done ?? false;
  if (await ctx.challenges.pause(challenge.id, `I could not post the ${what} in <#${challenge.channelId}>: ${outcome.refused}`, ctx.now())) {
    await removeTransitions(ctx.challengeQueue, challenge.id);
  }
  return false;
}

// announce → submissions -------------------------------------------------------------------

export async function announceChallenge(ctx: BotContext, challengeId: string, now: number): Promise<TransitionOutcome> {
  const before = await ctx.challenges.get(challengeId);
  if (!before || before.pausedAt) return 'unchanged';
  let moved = false;
  if (before.phase === 'announce') {
    const submissionsEndAt = now + before.submitDays * DAY_MS;
    const result = await ctx.challenges.advance(challengeId, ['announce'], 'submissions', {
      announcedAt: now,
      submissionsEndAt,
      votingEndAt: submissionsEndAt + before.voteDays * DAY_MS,
    });
    moved = result.ok;
  }
  const challenge = await ctx.challenges.get(challengeId);
  if (!challenge?.announcedAt || challenge.phase === 'cancelled') return moved ? 'moved' : 'unchanged';
  // The next deadline comes with the phase change, before any post: a post that keeps failing
  // must not leave the challenge stuck in its phase (adding the job again is a no-op).
  if (challenge.phase === 'submissions') {
    await scheduleTransition(ctx.challengeQueue, challengeId, 'submissions', challenge.submissionsEndAt!, now);
  }
  const posted = await postOrPause(ctx, challenge, 'announcement', () => postAnnouncement(ctx, challengeId));
  if (moved) ctx.logger.info({ challengeId, guildId: challenge.guildId }, 'challenge announced');
  return moved ? 'moved' : posted ? 'finished' : 'unchanged';
}

async function postAnnouncement(ctx: BotContext, challengeId: string): Promise<boolean> {
  let challenge = (await ctx.challenges.get(challengeId))!;
  let posted = false;
  if (!challenge.announceMessageId) {
    const { challengeMaxEntries } = await ctx.settings.get(challenge.guildId);
    const message = await post(ctx, challenge.channelId, announcementMessage(challenge, challengeMaxEntries), `c${challengeId}a`);
    await ctx.challenges.record(challengeId, { announceMessageId: message.id });
    challenge = { ...challenge, announceMessageId: message.id };
    posted = true;
  }
  if (!challenge.threadId) {
    const threadId = await startThread(ctx, challenge.channelId, challenge.announceMessageId!, `Entries · ${challenge.theme}`);
    await ctx.challenges.record(challengeId, { threadId });
    posted = true;
  }
  return posted;
}

/** A public thread on the announcement (its id is the message's); one that exists already is reused. */
async function startThread(ctx: BotContext, channelId: string, messageId: string, name: string): Promise<string> {
  try {
    const thread = (await ctx.rest.post(Routes.threads(channelId, messageId), {
      body: { name: clip(name, 100), auto_archive_duration: 10080 },
    })) as { id: string };
    return thread.id;
  } catch (error) {
    if (error instanceof DiscordAPIError && Number(error.code) === 160004) return messageId;
    throw error;
  }
}

export function announcementMessage(challenge: Challenge, maxEntries: number): ChallengePost {
  const theme = themeText(challenge.theme);
  const embed: APIEmbed = {
    title: clip(`🏆 Challenge: ${challenge.theme}`, 256),
    color: 0xd4af37,
    description: [
      `Make a picture on the theme **${theme}** with \`/imagine\`, then enter it:`,
      '• the 🏆 **Submit to challenge** button under your result, or',
      '• `/challenge submit image:` with the picture (its file name, like `atelier-…-2.png`, or a link to its message).',
      `Up to **${maxEntries}** ${maxEntries === 1 ? 'entry' : 'entries'} each, made after this announcement. \`/challenge withdraw\` takes one back.`,
      'Entries stay anonymous until the results. Chat about the theme in the thread below.',
    ].join('\n'),
    fields: [
      { name: 'Entries close', value: `${timestamp(challenge.submissionsEndAt!)} (${timestamp(challenge.submissionsEndAt!, 'f')})`, inline: true },
      { name: 'Voting closes', value: `${timestamp(challenge.votingEndAt!)} (${timestamp(challenge.votingEndAt!, 'f')})`, inline: true },
    ],
    footer: { text: `Points: ${PODIUM_POINTS.join(' / ')} for the podium, ${ENTRY_POINTS} per entry · /leaderboard` },
  };
  return { embeds: [embed], allowed_mentions: noMentions };
}

// submissions → voting ---------------------------------------------------------------------

export async function openVoting(ctx: BotContext, challengeId: string, now: number): Promise<TransitionOutcome> {
  const before = await ctx.challenges.get(challengeId);
  if (!before || before.pausedAt) return 'unchanged';
  let moved = false;
  if (before.phase === 'submissions') {
    const result = await ctx.challenges.advance(challengeId, ['submissions'], 'voting', {
      votingStartedAt: now,
      votingEndAt: now + before.voteDays * DAY_MS,
    });
    moved = result.ok;
  }
  const challenge = await ctx.challenges.get(challengeId);
  if (!challenge || (challenge.phase !== 'voting' && challenge.phase !== 'results')) return moved ? 'moved' : 'unchanged';
  const entries = await ctx.challenges.entries(challengeId);
  if (entries.length === 0) {
    // Nothing to vote on: straight to (empty) results.
    const results = await announceResults(ctx, challengeId, now);
    return moved ? 'moved' : results;
  }
  // As with the announcement: the deadline first, so a failing gallery post cannot stall the challenge.
  if (challenge.phase === 'voting') await scheduleTransition(ctx.challengeQueue, challengeId, 'voting', challenge.votingEndAt!, now);
  const posted = await postOrPause(ctx, challenge, 'voting gallery', () => postGallery(ctx, challengeId));
  if (moved) ctx.logger.info({ challengeId, entries: entries.length }, 'challenge voting opened');
  return moved ? 'moved' : posted ? 'finished' : 'unchanged';
}

async function postGallery(ctx: BotContext, challengeId: string): Promise<boolean> {
  const challenge = (await ctx.challenges.get(challengeId))!;
  if (challenge.galleryPosted) return false;
  const entries = await ctx.challenges.entries(challengeId);
  const where = challenge.threadId ?? challenge.channelId;
  if (!challenge.votingMessageId) {
    const content = [
      `🗳 **Voting is open** for **${themeText(challenge.theme)}** until ${timestamp(challenge.votingEndAt!)}.`,
      `${entries.length} ${entries.length === 1 ? 'entry' : 'entries'}${where === challenge.channelId ? ' below' : ` in <#${where}>`}, anonymous until the results.` +
        ' Vote for as many as you like, once each (not your own).',
    ].join('\n');
    const message = await post(ctx, challenge.channelId, { content, allowed_mentions: noMentions }, `c${challengeId}v`);
    await ctx.challenges.record(challengeId, { votingMessageId: message.id });
  }
  const done = await ctx.challenges.galleryMessages(challengeId);
  const shows = await showsPictures(ctx, challenge);
  for (const entry of entries) {
    if (done.has(entry.id)) continue;
    const shown = await shows(entry.imageId);
    const files = shown ? await entryFiles(ctx, entry.imageId, `entry-${entry.id}`) : [];
    const body: ChallengePost = {
      content: shown ? `**Entry #${entry.id}**` : `**Entry #${entry.id}** (made in an age-restricted channel: not shown here)`,
      components: [
        {
          type: ComponentType.ActionRow,
          components: [
            {
              type: ComponentType.Button,
              style: ButtonStyle.Primary,
              custom_id: challengeVoteId(challengeId, entry.id),
              label: `🗳 Vote for #${entry.id}`,
            },
          ],
        },
      ],
      allowed_mentions: noMentions,
      attachments: files.map((file, id) => ({ id, filename: file.name, description: `Entry #${entry.id}` })),
    };
    const message = await post(ctx, where, body, `c${challengeId}e${entry.id}`, files);
    await ctx.challenges.recordGalleryMessage(challengeId, entry.id, message.id);
  }
  await ctx.challenges.record(challengeId, { galleryPosted: true });
  return true;
}

/**
 * Whether a picture may be shown where the challenge posts (its channel and thread): pictures made
 * in age-restricted channels only when that channel is age-restricted too.
 */
async function showsPictures(ctx: BotContext, challenge: Challenge, restriction: AgeRestriction = ageRestriction(ctx)) {
  const destination = await restriction.destination(challenge.channelId);
  return async (imageId: string): Promise<boolean> => {
    // Every entry has its row in the archive; the flag is recorded with the picture.
    const image = await ctx.challenges.picture(imageId);
    return destination || !image?.ageRestricted;
  };
}

/** The entry's picture, sized for an attachment; none when the picture is gone. */
async function entryFiles(ctx: BotContext, imageId: string, baseName: string): Promise<RawFile[]> {
  const bytes = await imageBytes(ctx, imageId).catch((error: unknown) => {
    ctx.logger.warn({ err: error, imageId }, 'challenge entry picture unavailable');
    return undefined;
  });
  if (!bytes) return [];
  const fitted = await fitToSize(bytes, DEFAULT_ATTACHMENT_LIMIT, baseName);
  return [{ name: fitted.filename, data: fitted.data, contentType: fitted.contentType }];
}

// voting → results -------------------------------------------------------------------------

export async function announceResults(ctx: BotContext, challengeId: string, now: number): Promise<TransitionOutcome> {
  const before = await ctx.challenges.get(challengeId);
  if (!before || before.pausedAt) return 'unchanged';
  const moved = before.phase === 'voting' ? (await ctx.challenges.tally(challengeId, now)).ok : false;
  const challenge = await ctx.challenges.get(challengeId);
  if (challenge?.phase !== 'results') return 'unchanged';
  const posted = await postOrPause(ctx, challenge, 'results', () => postResults(ctx, challengeId));
  if (moved) ctx.logger.info({ challengeId, entries: challenge.ranking.length }, 'challenge results');
  return moved ? 'moved' : posted ? 'finished' : 'unchanged';
}

async function postResults(ctx: BotContext, challengeId: string): Promise<boolean> {
  const challenge = (await ctx.challenges.get(challengeId))!;
  if (challenge.resultMessageId) return false;
  const podium = podiumOf(challenge.ranking);
  let files: RawFile[] = [];
  if (podium.length > 0) {
    const shows = await showsPictures(ctx, challenge);
    const pictures = await Promise.all(
      podium.map(async (entry) => ((await shows(entry.imageId)) ? imageBytes(ctx, entry.imageId).catch(() => missingPicture()) : missingPicture())),
    );
    files = [{ name: 'podium.png', data: await composePodium(pictures), contentType: 'image/png' }];
  }
  const body = resultsMessage(challenge);
  const message = await post(
    ctx,
    challenge.channelId,
    { ...body, attachments: files.map((file, id) => ({ id, filename: file.name, description: 'The podium' })) },
    `c${challengeId}r`,
    files,
  );
  await ctx.challenges.record(challengeId, { resultMessageId: message.id });
  return true;
}

/** A dark square standing in for a picture that was deleted before the results, or is not shown here. */
function missingPicture(): Promise<Buffer> {
  return sharp({ create: { width: 64, height: 64, channels: 3, background: '#26262c' } })
    .png()
    .toBuffer();
}

const MEDALS = ['🥇', '🥈', '🥉'];

const votesText = (votes: number) => `${votes} ${votes === 1 ? 'vote' : 'votes'}`;

/** The top three of the ranking that received votes: an entry nobody voted for wins nothing. */
export function podiumOf(ranking: readonly RankedEntry[]): RankedEntry[] {
  return ranking.slice(0, 3).filter((entry) => entry.votes > 0);
}

/** Adjacent places that had equal votes where the order decided a podium place. */
export function podiumTies(ranking: readonly RankedEntry[]): [RankedEntry, RankedEntry][] {
  const ties: [RankedEntry, RankedEntry][] = [];
  for (let i = 0; i < Math.min(3, ranking.length - 1); i++) {
    if (ranking[i]!.votes > 0 && ranking[i]!.votes === ranking[i + 1]!.votes) ties.push([ranking[i]!, ranking[i + 1]!]);
  }
  return ties;
}

/** How the results name an entry's author: a member who deleted their data is not named at all. */
export const authorOf = (entry: RankedEntry) => memberMention(entry.userId);

/** The winners are named, and only they are pinged (allowed_mentions lists them alone). */
export function resultsMessage(challenge: Challenge): ChallengePost {
  const ranking = challenge.ranking;
  const title = `🏆 **Results: ${themeText(challenge.theme)}**`;
  if (ranking.length === 0) {
    return { content: `${title}\nNo entries this time. The next challenge follows the schedule.`, allowed_mentions: noMentions };
  }
  const podium = podiumOf(ranking);
  const lines = [title];
  if (podium.length === 0) lines.push('Nobody voted this time, so nobody stands on the podium.');
  for (const entry of podium) lines.push(`${MEDALS[entry.place - 1]} ${authorOf(entry)} · entry #${entry.id} · ${votesText(entry.votes)}`);
  const ties = podiumTies(ranking);
  if (ties.length > 0) {
    const pairs = ties.map(([a, b]) => `#${a.id} before #${b.id} (${votesText(a.votes)} each)`).join(', ');
    lines.push(`*Ties go to the earlier submission:* ${pairs}.`);
  }
  const rest = ranking.slice(podium.length);
  if (rest.length > 0) {
    lines.push(`Also in the running: ${rest.map((entry) => `#${entry.id} ${authorOf(entry)} (${entry.votes})`).join(' · ')}`);
  }
  lines.push(`Season ${challenge.season}: ${PODIUM_POINTS.join(' / ')} points to the podium and ${ENTRY_POINTS} per entry, now on \`/leaderboard\`.`);
  const winners = [...new Set(podium.map((entry) => entry.userId).filter((userId) => userId !== DELETED_MEMBER))];
  return { content: clip(lines.join('\n'), CONTENT_MAX), allowed_mentions: winners.length > 0 ? { users: winners } : noMentions };
}

// cancel, and the weekly start ---------------------------------------------------------------

/** Stops a running challenge; its entries and votes are kept but count for nothing. */
export async function cancelChallenge(ctx: BotContext, challengeId: string, byUserId: string, now: number): Promise<boolean> {
  const result = await ctx.challenges.advance(challengeId, openPhases, 'cancelled', { cancelledAt: now, cancelledBy: byUserId });
  if (!result.ok) return false;
  const challenge = (await ctx.challenges.get(challengeId))!;
  await removeTransitions(ctx.challengeQueue, challengeId);
  if (challenge.announceMessageId) {
    const ids = { challengeId, guildId: challenge.guildId, channelId: challenge.channelId };
    await unlessRefused(ctx, 'challenge cancellation', ids, () =>
      postingLock(ctx, challengeId, async () => {
        const content = `✖ The challenge **${themeText(challenge.theme)}** was cancelled.`;
        const message = await post(ctx, challenge.channelId, { content, allowed_mentions: noMentions }, `c${challengeId}x`);
        await ctx.challenges.record(challengeId, { cancelMessageId: message.id });
      }),
    );
  }
  ctx.logger.info({ challengeId, by: byUserId }, 'challenge cancelled');
  return true;
}

/**
 * The weekly job: draws a theme and announces a new challenge, unless the server still runs one
 * (a cycle longer than a week skips a week). A challenge left in "announce" by a crash is resumed.
 */
export async function startScheduledChallenge(ctx: BotContext, guildId: string, now: number): Promise<TransitionOutcome> {
  const schedule = await ctx.challenges.schedule(guildId);
  if (!schedule) return 'unchanged';
  const running = await ctx.challenges.active(guildId);
  if (running) {
    if (running.phase === 'announce') return announceChallenge(ctx, running.id, now);
    ctx.logger.info({ guildId, challengeId: running.id }, 'weekly challenge skipped: one is still running');
    return 'unchanged';
  }
  const theme = await ctx.challenges.drawTheme(guildId, Math.random(), now);
  if (!theme) {
    const content = '🏆 The weekly challenge could not start: the theme pool is empty. Add themes with `/challenge themes add`.';
    await post(ctx, schedule.channelId, { content, allowed_mentions: noMentions }, `cw${Math.floor(now / DAY_MS)}`);
    return 'unchanged';
  }
  const { created, id } = await ctx.challenges.create({
    guildId,
    channelId: schedule.channelId,
    theme,
    submitDays: schedule.submitDays,
    voteDays: schedule.voteDays,
    scheduled: true,
    createdBy: 'schedule',
    createdAt: now,
  });
  if (!created) {
    // Another start (a manual one, or another bot process) won the race: this theme was not used.
    await ctx.challenges.returnTheme(guildId, theme);
    return 'unchanged';
  }
  return announceChallenge(ctx, id, now);
}

// pictures deleted after the gallery was posted -----------------------------------------------

/**
 * Takes deleted pictures (🗑, /privacy) out of the challenge galleries that show them: each such
 * entry's post keeps its number and vote button (the entry stays in the running, as the archive
 * keeps it) but no longer shows the picture. Safe to repeat; a post Discord no longer has, or may
 * no longer be edited, is left alone. Returns how many posts were changed.
 */
export async function takeDownGalleryPictures(ctx: BotContext, showing: { imageIds: readonly string[] } | { userId: string }): Promise<number> {
  let changed = 0;
  for (const post of await ctx.challenges.galleryPostsShowing(showing)) {
    const ids = { challengeId: post.challengeId, channelId: post.channelId };
    const outcome = await unlessRefused(ctx, 'challenge gallery post', ids, () =>
      ctx.rest.patch(Routes.channelMessage(post.channelId, post.messageId), {
        body: { content: `**Entry #${post.entry}** (its picture was deleted)`, attachments: [], allowed_mentions: noMentions },
      }),
    );
    if ('done' in outcome) changed += 1;
  }
  return changed;
}

// timers Redis lost --------------------------------------------------------------------------

/** Discord's answer to a server the bot is not in: Missing Access, Unknown Guild. */
const NOT_IN_GUILD = new Set([50001, 10004]);

/**
 * Puts back what BullMQ kept of the challenges when Redis lost it: each running challenge that is
 * not paused gets its phase's deadline again (at once when it has passed), and each server with a
 * weekly schedule its job scheduler. What is still there is left alone, so this runs with every
 * recovery sweep. A server found to have removed the bot meanwhile is left as on removal.
 */
export async function restoreChallengeTimers(ctx: BotContext, now: number): Promise<{ deadlines: number; schedules: number }> {
  let deadlines = 0;
  for (const challenge of await ctx.challenges.runningUnpaused()) {
    const phase = challenge.phase as TimedPhase;
    if (await ctx.challengeQueue.getJob(transitionJobId(challenge.id, phase))) continue;
    const at = phase === 'submissions' ? challenge.submissionsEndAt : phase === 'voting' ? challenge.votingEndAt : undefined;
    await scheduleTransition(ctx.challengeQueue, challenge.id, phase, at ?? now, now);
    deadlines += 1;
  }
  let schedules = 0;
  for (const guildId of await ctx.challenges.scheduledGuilds()) {
    if ((await ctx.challengeQueue.getJobScheduler(weeklySchedulerId(guildId))) || (await hasLeftGuild(ctx, guildId))) continue;
    const member = await ctx.rest.get(Routes.guild(guildId)).then(
      () => true,
      (error: unknown) => (error instanceof DiscordAPIError && NOT_IN_GUILD.has(Number(error.code)) ? false : undefined),
    );
    if (member === false) await leaveGuild(ctx, guildId);
    const schedule = member ? await ctx.challenges.schedule(guildId) : undefined;
    if (!schedule) continue;
    await scheduleWeekly(ctx.challengeQueue, guildId, schedule);
    schedules += 1;
  }
  return { deadlines, schedules };
}
