import { ButtonStyle, ComponentType, type APIActionRowComponent, type APIComponentInMessageActionRow, type APIEmbed, type RawFile } from 'discord.js';
import type { Transaction } from 'kysely';
import { imageBytes } from '../../bot/components/generation.js';
import type { BotContext } from '../../bot/context.js';
import { editChannelMessage, postChannelMessage, UNKNOWN_CHANNEL, unlessRefused, withMessageLock } from '../../bot/discord-messages.js';
import { memberMention, noMentions, type MessageBody } from '../../bot/messages.js';
import { DEFAULT_ATTACHMENT_LIMIT } from '../../bot/requests.js';
import type { DB } from '../../db/schema.js';
import { fitToSize } from '../../images/fit.js';
import type { SessionJob } from '../../queues.js';
import { mayBePartOf, type JobRecord } from '../../store/jobs.js';
import { ensureArchivedPicture } from '../series/flow.js';
import { sessionEnterId, sessionVoteId } from './ids.js';
import { STRAGGLER_WAIT_MS, clip, text, timestamp, winnerOf } from './model.js';
import { VOTING_CHUNK, missingTile, sessionTree, votingGrid, winnerChain, winnerStrip, type WinnerPicture } from './render.js';
import { FORMER_MEMBER_NAME, type Session, type SessionEntry, type SessionPhase, type SessionRound } from './store.js';
import { endPhaseNow, removeCurrentPhase, scheduleCurrentPhase } from './timers.js';

/**
 * The phase changes of a live session and what they post. A phase change is a compare-and-set in
 * PostgreSQL (only one run wins); the posts are derived from the stored state by `catchUp`, which
 * any run may call: each post is recorded as it lands and carries a nonce, so a retry after a
 * crash posts what is missing and nothing twice.
 */
export type PhaseOutcome = 'moved' | 'unchanged';

const CONTENT_MAX = 2000;

function body(content: string, components: MessageBody['components'] = []): MessageBody {
  return { content: clip(content, CONTENT_MAX), components, allowed_mentions: noMentions };
}

/** Nonces are at most 25 characters: the session id (≤ 20 digits) and a short tag. */
const nonce = (session: Session, tag: string) => `${session.id}${tag}`.slice(-25);

type Next = { round: number; phase: SessionPhase; phaseEndsAt?: number; endedAt?: number };

/** The round after this one, taking entries; or the end. In evolve mode it remixes `base`. */
async function nextRound(ctx: BotContext, trx: Transaction<DB>, session: Session, base: string | undefined, now: number): Promise<Next> {
  if (session.round >= session.rounds) return { round: session.round, phase: 'ended', endedAt: now };
  if (session.mode === 'evolve') await ctx.sessions.setBase(trx, session.id, session.round + 1, base);
  return { round: session.round + 1, phase: 'entries', phaseEndsAt: now + session.roundSeconds * 1000 };
}

/** Entries whose generation failed or was cancelled will never arrive: they stop being waited for. */
async function dropDeadEntries(ctx: BotContext, session: Session): Promise<void> {
  const drawing = await ctx.sessions.drawing(session.id, session.round);
  const dead: string[] = [];
  for (const entry of drawing) {
    const job = await ctx.jobs.get(entry.id);
    if (job && (job.status === 'failed' || job.status === 'cancelled')) dead.push(entry.id);
  }
  await ctx.sessions.markMissed(dead);
}

/** What a phase deadline does (the timer job, /session next, or the last late picture arriving). */
export async function endPhase(ctx: BotContext, job: SessionJob, now = ctx.now()): Promise<PhaseOutcome> {
  const before = await ctx.sessions.get(job.sessionId);
  if (!before) return 'unchanged';
  let moved: Session | undefined;
  // A deadline set before a pause belongs to a run of the phase that is over.
  if (before.epoch === job.epoch && before.round === job.round && before.phase === job.phase && !before.pausedAt) {
    if (job.phase === 'entries') await dropDeadEntries(ctx, before);
    moved = await ctx.sessions.advance(job.sessionId, job, async (trx, session) => {
      // Read after each change: a picture arriving meanwhile (fillEntry) is seen, not skipped.
      const states = async () =>
        (
          await trx.selectFrom('session_entries').select('state').where('session_id', '=', session.id).where('round', '=', session.round).execute()
        ).map((entry) => entry.state);
      if (job.phase === 'voting') {
        const winner = await closeVote(ctx, trx, session);
        return nextRound(ctx, trx, session, await nextBase(trx, session, winner), now);
      }
      if (job.phase === 'drawing') {
        // The wait for stragglers is over: what is not drawn by now misses the round.
        await trx
          .updateTable('session_entries')
          .set({ state: 'missed' })
          .where('session_id', '=', session.id)
          .where('round', '=', session.round)
          .where('state', '=', 'drawing')
          .execute();
      } else if ((await states()).includes('drawing')) {
        return { round: session.round, phase: 'drawing', phaseEndsAt: now + STRAGGLER_WAIT_MS };
      }
      if (!(await states()).includes('ready')) {
        await ctx.sessions.closeRound(trx, session.id, session.round, { skipped: true });
        return nextRound(ctx, trx, session, await nextBase(trx, session, undefined), now);
      }
      return { round: session.round, phase: 'voting', phaseEndsAt: now + session.voteSeconds * 1000 };
    });
  }
  const session = (await ctx.sessions.get(job.sessionId))!;
  // The next deadline comes with the phase change, before any post: a post that keeps failing must
  // not leave the session stuck (adding the same job again is a no-op).
  await scheduleCurrentPhase(ctx.sessionQueue, session, now);
  // The last straggler may have arrived while the round was moving to its wait: no need to wait then.
  if (moved?.phase === 'drawing' && (await ctx.sessions.drawing(session.id, session.round)).length === 0) {
    await endPhaseNow(ctx.sessionQueue, session);
  }
  if (moved) ctx.logger.info({ sessionId: session.id, round: session.round, phase: session.phase }, 'session phase changed');
  await catchUp(ctx, session.id);
  return moved ? 'moved' : 'unchanged';
}

/**
 * Counts the vote of the round being voted on and records its outcome; returns the winning
 * picture (none when the round had no entry to win it, and so was skipped).
 */
async function closeVote(ctx: BotContext, trx: Transaction<DB>, session: Session): Promise<string | undefined> {
  const entries = await ctx.sessions.readyEntries(trx, session.id, session.round);
  const winner = winnerOf(entries, await ctx.sessions.tally(session.id, session.round, trx));
  if (!winner) {
    await ctx.sessions.closeRound(trx, session.id, session.round, { skipped: true });
    return undefined;
  }
  await ctx.sessions.closeRound(trx, session.id, session.round, { winnerEntry: winner.number, winnerVotes: winner.votes });
  return entries.find((entry) => entry.number === winner.number)?.imageId;
}

/**
 * What the next round of an evolve session remixes: the winner of the round being closed, or,
 * without one (a skipped round), the picture this round remixed. A picture deleted since (by its
 * author, a moderator or /privacy) is never handed on: the newest picture of the chain that is
 * still there takes its place, and with none left the next round starts from text.
 */
async function nextBase(trx: Transaction<DB>, session: Session, winner: string | undefined): Promise<string | undefined> {
  const bases = await trx
    .selectFrom('session_rounds')
    .select('base_image_id')
    .where('session_id', '=', session.id)
    .where('number', '<=', session.round)
    .orderBy('number', 'desc')
    .execute();
  const chain = [winner, ...bases.map((round) => round.base_image_id)].filter((id): id is string => Boolean(id));
  if (chain.length === 0) return undefined;
  const deleted = await trx.selectFrom('images').select('id').where('id', 'in', chain).where('deleted_at', 'is not', null).execute();
  const gone = new Set(deleted.map((image) => image.id));
  return chain.find((id) => !gone.has(id));
}

/**
 * Post-delivery hook: a session entry got its picture. When it was the last one its round was
 * waiting for, the round does not wait out its straggler time: voting opens now.
 */
export function recordDeliveredEntry(ctx: BotContext) {
  return async (record: JobRecord): Promise<void> => {
    const imageId = record.imageIds[0];
    if (!imageId || !mayBePartOf(record, 'session')) return;
    const filled = await ctx.sessions.fillEntry(record.id, imageId);
    if (!filled) return;
    const session = await ctx.sessions.get(filled.sessionId);
    if (!session || session.phase !== 'drawing' || session.round !== filled.round || session.pausedAt) return;
    if ((await ctx.sessions.drawing(session.id, session.round)).length === 0) await endPhaseNow(ctx.sessionQueue, session);
  };
}

/**
 * Ends the session now (/session end): a round being voted on (paused or not) is counted first and
 * gets its result, then the recap. No further round opens.
 */
export async function endSession(ctx: BotContext, sessionId: string, now = ctx.now()): Promise<boolean> {
  const outcome = await ctx.sessions.end(sessionId, now, async (trx, session) => {
    if (session.phase === 'voting') await closeVote(ctx, trx, session);
  });
  if (!outcome) return false;
  // Its deadline would find the session ended and change nothing; it need not wait around.
  await removeCurrentPhase(ctx.sessionQueue, outcome.before);
  ctx.logger.info({ sessionId, round: outcome.before.round, phase: outcome.before.phase }, 'session ended on request');
  await catchUp(ctx, sessionId);
  return true;
}

// posts ------------------------------------------------------------------------------------

/**
 * Brings the thread up to date with the stored state, in order: each round's opening, its vote
 * and its result, then the recap, then the panel. One process at a time per session.
 */
export async function catchUp(ctx: BotContext, sessionId: string): Promise<void> {
  await withMessageLock(ctx, `session-${sessionId}`, true, async () => {
    const session = await ctx.sessions.get(sessionId);
    if (!session) return;
    try {
      await postWhatIsMissing(ctx, session);
    } catch (error) {
      if (!(error instanceof ThreadGone)) throw error;
      // Nobody can enter, vote or /session end in a deleted thread: the session ends there, quietly,
      // and no longer counts against the server's running sessions.
      await removeCurrentPhase(ctx.sessionQueue, session);
      if (await ctx.sessions.endSilently(sessionId, ctx.now()))
        ctx.logger.warn({ sessionId, threadId: session.threadId }, 'session thread deleted; session ended');
    }
  });
}

class ThreadGone extends Error {}

async function postWhatIsMissing(ctx: BotContext, session: Session): Promise<void> {
  const sessionId = session.id;
  const ids = { sessionId, guildId: session.guildId, channelId: session.threadId };
  /** One post to the thread: a refusal is given up (see unlessRefused), a deleted thread ends the catch-up. */
  const post = async <T>(what: string, run: () => Promise<T>) => {
    const outcome = await unlessRefused(ctx, what, ids, run);
    if ('refused' in outcome && outcome.code === UNKNOWN_CHANNEL) throw new ThreadGone();
    return outcome;
  };
  const rounds = await ctx.sessions.rounds(sessionId);
  for (const round of rounds) {
    if (round.number > session.round) break;
    const closed = round.skipped || round.winnerEntry !== undefined;
    if (!round.openedMessageId) {
      const opening = roundOpening(session, round, await remixesLastWinner(ctx, session, rounds, round));
      const posted = await post('session round', () =>
        postChannelMessage(ctx, session.threadId, opening, { nonce: nonce(session, `o${round.number}`) }),
      );
      await ctx.sessions.recordRound(sessionId, round.number, { openedMessageId: 'done' in posted ? posted.done.id : 'refused' });
    }
    if (round.number === session.round && session.phase === 'voting' && !round.votingPosted) {
      await post('session vote', () => postVoting(ctx, session, round));
      await ctx.sessions.recordRound(sessionId, round.number, { votingPosted: true });
    }
    if (closed && !round.resultMessageId) {
      const posted = await post('session result', () => postResult(ctx, session, round));
      await ctx.sessions.recordRound(sessionId, round.number, { resultMessageId: 'done' in posted ? posted.done.id : 'refused' });
    }
  }
  if (session.phase === 'ended' && !session.recapDone) {
    await post('session recap', () => postRecap(ctx, session, rounds));
    await ctx.sessions.record(sessionId, { recapDone: true });
  }
  if (session.panelMessageId) {
    const fresh = (await ctx.sessions.get(sessionId))!;
    await post('session panel', async () => editChannelMessage(ctx, session.threadId, session.panelMessageId!, await panelMessage(ctx, fresh)));
  }
}

/** Whether the round remixes the previous round's winner (not an earlier picture handed on). */
async function remixesLastWinner(ctx: BotContext, session: Session, rounds: SessionRound[], round: SessionRound): Promise<boolean> {
  const previous = rounds.find((other) => other.number === round.number - 1);
  if (session.mode !== 'evolve' || !round.baseImageId || previous?.winnerEntry === undefined) return false;
  const winner = (await ctx.sessions.entries(session.id, previous.number)).find((entry) => entry.number === previous.winnerEntry);
  return winner?.imageId === round.baseImageId;
}

function roundOpening(session: Session, round: SessionRound, lastWinner: boolean): MessageBody {
  const lines = [`🎨 **Round ${round.number} of ${session.rounds}** · twist: **${text(round.twist)}**`];
  if (session.mode === 'evolve' && round.baseImageId && lastWinner) lines.push("Entries remix last round's winning picture.");
  // A skipped round, or a winning picture deleted before its round opened, hands on the one before.
  else if (session.mode === 'evolve' && round.baseImageId) lines.push('Entries remix the latest winning picture that is still there.');
  else if (session.mode === 'evolve' && round.number > 1) lines.push('No winner to build on yet: entries start from text.');
  lines.push(
    `Enter with \`/imagine\` here or the 🎨 **Enter** button on the panel (up to ${session.entriesPerRound} each).` +
      (session.round === round.number && session.phase === 'entries' && session.phaseEndsAt
        ? ` Entries close ${timestamp(session.phaseEndsAt)}.`
        : ''),
  );
  return body(lines.join('\n'));
}

const voteRows = (session: Session, round: number, entries: SessionEntry[]): APIActionRowComponent<APIComponentInMessageActionRow>[] => {
  const rows: APIActionRowComponent<APIComponentInMessageActionRow>[] = [];
  for (let i = 0; i < entries.length; i += 5) {
    rows.push({
      type: ComponentType.ActionRow,
      components: entries.slice(i, i + 5).map((entry) => ({
        type: ComponentType.Button,
        style: ButtonStyle.Primary,
        custom_id: sessionVoteId(session.id, round, entry.number),
        label: `🗳 #${entry.number}`,
      })),
    });
  }
  return rows;
};

async function pictureOf(ctx: BotContext, imageId: string | undefined): Promise<Buffer> {
  if (!imageId) return missingTile();
  return imageBytes(ctx, imageId).catch(() => missingTile());
}

/** The round's entries as labelled grids (twenty a message), each with its 🗳 buttons. */
async function postVoting(ctx: BotContext, session: Session, round: SessionRound): Promise<void> {
  const entries = (await ctx.sessions.entries(session.id, round.number)).filter((entry) => entry.state === 'ready');
  for (let start = 0, chunk = 0; start < entries.length; start += VOTING_CHUNK, chunk++) {
    const part = entries.slice(start, start + VOTING_CHUNK);
    const grid = await votingGrid(
      await Promise.all(part.map(async (entry) => ({ number: entry.number, image: await pictureOf(ctx, entry.imageId) }))),
    );
    const fitted = await fitToSize(grid, DEFAULT_ATTACHMENT_LIMIT, `round-${round.number}-entries-${chunk + 1}`);
    const first = part[0]!.number;
    const last = part[part.length - 1]!.number;
    const heading =
      chunk === 0
        ? `🗳 **Round ${round.number}: vote!** ${entries.length} ${entries.length === 1 ? 'entry' : 'entries'}, unnamed until the result. ` +
          `One vote each, not for your own. Voting ends ${timestamp(session.phaseEndsAt ?? ctx.now())}.`
        : `🗳 Round ${round.number}, entries #${first}–#${last}`;
    await postChannelMessage(
      ctx,
      session.threadId,
      {
        ...body(heading, voteRows(session, round.number, part)),
        attachments: [{ id: 0, filename: fitted.filename, description: `Round ${round.number} entries` }],
      },
      { files: [{ name: fitted.filename, data: fitted.data, contentType: fitted.contentType }], nonce: nonce(session, `v${round.number}.${chunk}`) },
    );
  }
}

/** How posts name an entry's author: a member who deleted their data is not named. */
const authorOf = (entry: SessionEntry) => (entry.userId ? memberMention(entry.userId) : FORMER_MEMBER_NAME);

const votesText = (votes: number) => `${votes} ${votes === 1 ? 'vote' : 'votes'}`;

async function postResult(ctx: BotContext, session: Session, round: SessionRound) {
  // Read again: the round closed in the same change that opened the next round or ended the
  // session early (then no round follows it).
  const follows = ((await ctx.sessions.get(session.id)) ?? session).round > round.number;
  if (round.skipped) {
    const entries = await ctx.sessions.entries(session.id, round.number);
    const why =
      entries.length === 0
        ? 'had no entries'
        : 'had no entry that finished drawing in time (a round waits at most 2 minutes for pictures still being drawn)';
    const after = follows ? ` Round ${round.number + 1} follows.` : '';
    return postChannelMessage(ctx, session.threadId, body(`⏭ Round ${round.number} ${why}, so it was skipped.${after}`), {
      nonce: nonce(session, `r${round.number}`),
    });
  }
  const entries = (await ctx.sessions.entries(session.id, round.number)).filter((entry) => entry.state === 'ready');
  const tally = await ctx.sessions.tally(session.id, round.number);
  const winner = entries.find((entry) => entry.number === round.winnerEntry)!;
  const lines = [`🏆 **Round ${round.number} winner: entry #${winner.number}** by ${authorOf(winner)} with ${votesText(round.winnerVotes ?? 0)}.`];
  const tied = entries.filter((entry) => entry.number !== winner.number && (tally.get(entry.number) ?? 0) === (round.winnerVotes ?? 0));
  if (tied.length > 0) {
    lines.push(
      `Tie: ${tied.map((entry) => `#${entry.number}`).join(', ')} had as many votes; a tie goes to the earlier entry, so #${winner.number} wins.`,
    );
  } else {
    lines.push('(A tie would go to the earlier entry.)');
  }
  lines.push(`Votes: ${entries.map((entry) => `#${entry.number} ${authorOf(entry)} ${tally.get(entry.number) ?? 0}`).join(' · ')}`);
  if (session.mode === 'evolve' && follows && winner.imageId) {
    // The next round remixes the winner unless the picture was deleted before that round opened.
    const next = await ctx.sessions.roundOf(session.id, round.number + 1);
    if (next?.baseImageId === winner.imageId) lines.push(`Round ${round.number + 1} remixes this picture.`);
  }
  const files: RawFile[] = [];
  if (winner.imageId) {
    const fitted = await fitToSize(await pictureOf(ctx, winner.imageId), DEFAULT_ATTACHMENT_LIMIT, `round-${round.number}-winner`);
    files.push({ name: fitted.filename, data: fitted.data, contentType: fitted.contentType });
  }
  return postChannelMessage(
    ctx,
    session.threadId,
    { ...body(lines.join('\n')), attachments: files.map((file, id) => ({ id, filename: file.name, description: `Round ${round.number} winner` })) },
    { files, nonce: nonce(session, `r${round.number}`) },
  );
}

export interface MemberStats {
  userId?: string;
  name: string;
  entries: number;
  votesReceived: number;
  roundsWon: number;
}

/** Per member: entries that made it to a vote, votes those received, rounds won. Most wins first. */
export function memberStats(entries: SessionEntry[], rounds: SessionRound[], votes: Array<{ round: number; entry: number }>): MemberStats[] {
  const byMember = new Map<string, MemberStats>();
  const keyOf = (entry: SessionEntry) => entry.userId ?? `former-${entry.round}-${entry.number}`;
  const entryAt = new Map(entries.map((entry) => [`${entry.round}:${entry.number}`, entry]));
  for (const entry of entries) {
    if (entry.state !== 'ready') continue;
    const stats = byMember.get(keyOf(entry)) ?? { userId: entry.userId, name: entry.userName, entries: 0, votesReceived: 0, roundsWon: 0 };
    stats.entries++;
    byMember.set(keyOf(entry), stats);
  }
  for (const vote of votes) {
    const entry = entryAt.get(`${vote.round}:${vote.entry}`);
    if (entry) byMember.get(keyOf(entry))!.votesReceived++;
  }
  for (const round of rounds) {
    const entry = round.winnerEntry === undefined ? undefined : entryAt.get(`${round.number}:${round.winnerEntry}`);
    if (entry) byMember.get(keyOf(entry))!.roundsWon++;
  }
  return [...byMember.values()].sort((a, b) => b.roundsWon - a.roundsWon || b.votesReceived - a.votesReceived || b.entries - a.entries);
}

/** The recap: the winning chain (animated WebP), the winners' strip, the family tree and each member's numbers. */
async function postRecap(ctx: BotContext, session: Session, rounds: SessionRound[]) {
  const entries = await ctx.sessions.entries(session.id);
  const votes = await ctx.sessions.votes(session.id);
  const tally = new Map<string, number>();
  for (const vote of votes) tally.set(`${vote.round}:${vote.entry}`, (tally.get(`${vote.round}:${vote.entry}`) ?? 0) + 1);
  const winners = rounds.flatMap((round) => {
    const entry = entries.find((e) => e.round === round.number && e.number === round.winnerEntry);
    return entry?.imageId ? [{ round, entry: entry as SessionEntry & { imageId: string } }] : [];
  });
  const files: RawFile[] = [];
  const pictures = new Map<string, Buffer>();
  const picture = async (imageId: string | undefined) => {
    if (!imageId) return undefined;
    if (!pictures.has(imageId)) pictures.set(imageId, await pictureOf(ctx, imageId));
    return pictures.get(imageId);
  };
  let seriesId: string | undefined;
  if (winners.length > 0) {
    const chain: WinnerPicture[] = [];
    for (const { round, entry } of winners) chain.push({ round: round.number, image: (await picture(entry.imageId))!, name: entry.userName });
    files.push({ name: 'winning-chain.webp', data: await winnerChain(chain), contentType: 'image/webp' });
    const strip = await fitToSize(await winnerStrip(chain), DEFAULT_ATTACHMENT_LIMIT, 'winners');
    files.push({ name: strip.filename, data: strip.data, contentType: strip.contentType });
    for (const { entry } of winners) await ensureArchivedPicture(ctx, entry.imageId);
    seriesId = await ctx.sessions.saveAsSeries(
      session,
      winners.map(({ entry }) => ({ id: entry.id, imageId: entry.imageId })),
      ctx.now(),
    );
  }
  const shown = entries.filter((entry) => entry.state === 'ready');
  if (shown.length > 0) {
    const treeEntries = await Promise.all(
      shown.map(async (entry) => ({
        round: entry.round,
        number: entry.number,
        name: entry.userName,
        votes: tally.get(`${entry.round}:${entry.number}`) ?? 0,
        winner: rounds.some((round) => round.number === entry.round && round.winnerEntry === entry.number),
        image: await picture(entry.imageId),
      })),
    );
    const tree = await fitToSize(await sessionTree(session.theme, treeEntries), DEFAULT_ATTACHMENT_LIMIT, 'family-tree');
    files.push({ name: tree.filename, data: tree.data, contentType: tree.contentType });
  }
  const stats = memberStats(entries, rounds, votes);
  const lines = [`🎉 **Recap: ${text(clip(session.theme, 150))}**`];
  if (winners.length === 0) lines.push('No round had a winner this time.');
  else lines.push(`The winning chain: ${winners.map(({ round, entry }) => `R${round.number} #${entry.number} ${authorOf(entry)}`).join(' → ')}`);
  for (const member of stats) {
    const who = member.userId ? memberMention(member.userId) : text(member.name);
    lines.push(
      `• ${who}: ${member.entries} ${member.entries === 1 ? 'entry' : 'entries'}, ${votesText(member.votesReceived)} received, ` +
        `${member.roundsWon} ${member.roundsWon === 1 ? 'round' : 'rounds'} won`,
    );
  }
  if (seriesId) lines.push(`Saved as a series: \`/series export series:${seriesId}\` makes a strip, a slideshow or a zip of it.`);
  const content = clip(lines.join('\n'), CONTENT_MAX);
  const message = await postChannelMessage(
    ctx,
    session.threadId,
    { ...body(content), attachments: files.map((file, id) => ({ id, filename: file.name, description: recapDescription(file.name) })) },
    { files, nonce: nonce(session, 'recap') },
  );
  await ctx.sessions.record(session.id, { recapMessageId: message.id });
  return message;
}

function recapDescription(filename: string): string {
  if (filename.startsWith('winning-chain')) return 'The winning chain, round by round';
  if (filename.startsWith('winners')) return 'The winners side by side';
  return "The session's family tree";
}

// the panel --------------------------------------------------------------------------------

const phaseLabels: Record<SessionPhase, string> = {
  entries: '🎨 Taking entries',
  drawing: '⏳ Drawing the last entries',
  voting: '🗳 Voting',
  ended: '🏁 Ended',
};

/** The session panel: round, twist, phase and its end (a Discord timestamp, so no edit per second), participants. */
export async function panelMessage(ctx: BotContext, session: Session): Promise<MessageBody & { embeds: APIEmbed[] }> {
  const round = await ctx.sessions.roundOf(session.id, session.round);
  const entries = await ctx.sessions.entries(session.id);
  const participants = [...new Set(entries.map((entry) => entry.userId).filter((id): id is string => Boolean(id)))];
  let phase = phaseLabels[session.phase];
  if (session.pausedAt) phase = `⏸ Paused (${phase.toLowerCase()}); ${Math.ceil((session.pausedLeftMs ?? 0) / 1000)} s left when it resumes`;
  else if (session.phase === 'drawing' && session.phaseEndsAt)
    phase += `: voting opens when they are in, at the latest ${timestamp(session.phaseEndsAt)} (a round waits at most 2 minutes for stragglers)`;
  else if (session.phase !== 'ended' && session.phaseEndsAt) phase += `, until ${timestamp(session.phaseEndsAt)}`;
  const embed: APIEmbed = {
    title: clip(`🎨 ${session.theme}`, 256),
    color: 0x7c5cff,
    fields: [
      { name: 'Round', value: `${session.round} of ${session.rounds}`, inline: true },
      { name: 'Twist', value: clip(text(round?.twist ?? '—'), 1024), inline: true },
      { name: 'Phase', value: clip(phase, 1024) },
      {
        name: `Participants (${participants.length})`,
        value: participants.length === 0 ? 'Nobody yet: be the first!' : clip(participants.map(memberMention).join(' '), 1024),
      },
    ],
    footer: {
      text: `${session.mode === 'evolve' ? 'Evolve: from round 2, entries remix the last winner' : 'Fresh: every entry starts from text'} · up to ${session.entriesPerRound} entries each per round · a tie goes to the earlier entry`,
    },
  };
  const open = session.phase === 'entries' && !session.pausedAt;
  return {
    ...body(session.hostId ? `Hosted by ${memberMention(session.hostId)}` : ''),
    embeds: [embed],
    components: [
      {
        type: ComponentType.ActionRow,
        components: [
          { type: ComponentType.Button, style: ButtonStyle.Success, custom_id: sessionEnterId(session.id), label: '🎨 Enter', disabled: !open },
        ],
      },
    ],
  };
}
