import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ApplicationIntegrationType,
  ChannelType,
  DiscordAPIError,
  InteractionContextType,
  MessageFlags,
  PermissionFlagsBits,
  Routes,
  type APIChannel,
  type ChatInputCommandInteraction,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import { assertPublicTextAllowed } from '../../bot/admission.js';
import type { BotContext } from '../../bot/context.js';
import { postChannelMessage } from '../../bot/discord-messages.js';
import { noMentions } from '../../bot/messages.js';
import { requesterOf } from '../../bot/requester.js';
import { InvalidRequestError } from '../../bot/prompt.js';
import { ROUNDS_MAX, THEME_MAX, TWIST_MAX, clip, text, timestamp, twistsFor } from './model.js';
import { sessionModes, type Session, type SessionMode } from './store.js';
import { endPhaseNow, removeCurrentPhase, scheduleCurrentPhase } from './timers.js';
import { catchUp, endSession, panelMessage } from './transitions.js';

const O = ApplicationCommandOptionType;

/** `/session`: live art sessions in a thread (start, then the host's controls). */
export const sessionCommandData = () =>
  ({
    name: 'session',
    description: 'Live art sessions: timed rounds in a thread, voted on as you go',
    type: ApplicationCommandType.ChatInput,
    contexts: [InteractionContextType.Guild],
    integration_types: [ApplicationIntegrationType.GuildInstall],
    options: [
      {
        name: 'start',
        description: 'Open a thread and run a session in it',
        type: O.Subcommand,
        options: [
          { name: 'theme', description: 'What the session is about', type: O.String, required: true, max_length: THEME_MAX },
          { name: 'rounds', description: `How many rounds (1–${ROUNDS_MAX}, default 5)`, type: O.Integer, min_value: 1, max_value: ROUNDS_MAX },
          {
            name: 'round_minutes',
            description: 'Minutes to make entries each round (1–30, default 5)',
            type: O.Integer,
            min_value: 1,
            max_value: 30,
          },
          { name: 'vote_seconds', description: 'Seconds to vote each round (30–300, default 60)', type: O.Integer, min_value: 30, max_value: 300 },
          {
            name: 'mode',
            description: "evolve: entries remix the last round's winner (default) · fresh: every entry starts from text",
            type: O.String,
            choices: sessionModes.map((mode) => ({ name: mode, value: mode })),
          },
          { name: 'entries_per_round', description: 'Entries per member per round (1–4, default 2)', type: O.Integer, min_value: 1, max_value: 4 },
        ],
      },
      { name: 'next', description: 'End the current phase now (host or Manage Threads)', type: O.Subcommand },
      { name: 'pause', description: 'Stop the clock (host or Manage Threads)', type: O.Subcommand },
      { name: 'resume', description: 'Start the clock again (host or Manage Threads)', type: O.Subcommand },
      { name: 'end', description: 'End the session now and post the recap (host or Manage Threads)', type: O.Subcommand },
      { name: 'status', description: 'Where the session stands', type: O.Subcommand },
      {
        name: 'twist',
        description: "Set the round's twist (host or Manage Threads)",
        type: O.Subcommand,
        options: [{ name: 'text', description: 'The twist', type: O.String, required: true, max_length: TWIST_MAX }],
      },
    ],
  }) satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

function replyPrivately(interaction: ChatInputCommandInteraction, content: string) {
  return interaction.reply({ content: clip(content, 2000), flags: MessageFlags.Ephemeral, allowedMentions: noMentions });
}

export async function executeSession(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  if (!interaction.guildId) throw new InvalidRequestError('Sessions live in servers; use this in one.');
  const sub = interaction.options.getSubcommand();
  if (sub === 'start') return start(interaction, ctx, interaction.guildId);
  const session = await sessionHere(interaction, ctx);
  if (sub === 'status') return void (await replyPrivately(interaction, await statusText(ctx, session, interaction.user.id)));
  assertHost(interaction, session);
  const now = ctx.now();
  switch (sub) {
    case 'next': {
      if (session.phase === 'ended') throw new InvalidRequestError('This session has ended.');
      if (session.pausedAt) throw new InvalidRequestError('The session is paused: `/session resume` first.');
      await endPhaseNow(ctx.sessionQueue, session);
      const what = { entries: 'closing entries', drawing: 'opening the vote', voting: 'closing the vote' }[session.phase];
      return void (await replyPrivately(interaction, `⏭ Round ${session.round}: ${what} now.`));
    }
    case 'pause': {
      const paused = await ctx.sessions.pause(session.id, now);
      if (!paused) throw new InvalidRequestError(session.phase === 'ended' ? 'This session has ended.' : 'The session is paused already.');
      await removeCurrentPhase(ctx.sessionQueue, session);
      await replyPrivately(interaction, '⏸ Paused. `/session resume` starts the clock again where it stopped.');
      return catchUp(ctx, session.id);
    }
    case 'resume': {
      const resumed = await ctx.sessions.resume(session.id, now);
      if (!resumed) throw new InvalidRequestError(session.phase === 'ended' ? 'This session has ended.' : 'The session is not paused.');
      await scheduleCurrentPhase(ctx.sessionQueue, resumed, now);
      await replyPrivately(interaction, `▶ Resumed: this phase ends ${timestamp(resumed.phaseEndsAt ?? now)}.`);
      return catchUp(ctx, session.id);
    }
    case 'end': {
      if (session.phase === 'ended') throw new InvalidRequestError('This session has ended already.');
      await interaction.deferReply({ flags: MessageFlags.Ephemeral });
      await endSession(ctx, session.id, now);
      await interaction.editReply({ content: '🏁 The session has ended; the recap is in the thread.', allowedMentions: noMentions });
      return;
    }
    case 'twist': {
      const twist = interaction.options.getString('text', true);
      const cleaned = twist.replace(/\s+/g, ' ').trim();
      if (!cleaned) throw new InvalidRequestError('The twist needs some text.');
      if (cleaned.length > TWIST_MAX) throw new InvalidRequestError(`A twist has at most ${TWIST_MAX} characters.`);
      if (session.phase === 'ended') throw new InvalidRequestError('This session has ended.');
      await assertPublicTextAllowed(ctx, session.guildId, cleaned, 'twist');
      // The round taking entries gets it; once entries closed, the next round does.
      const round = session.phase === 'entries' ? session.round : session.round + 1;
      if (round > session.rounds) throw new InvalidRequestError('This is the last round, and its entries are closed.');
      if (!(await ctx.sessions.setTwist(session.id, round, cleaned))) throw new InvalidRequestError('That round is over.');
      await replyPrivately(interaction, `✅ Round ${round}'s twist: **${text(cleaned)}**`);
      return catchUp(ctx, session.id);
    }
    default:
      throw new InvalidRequestError('I do not know that subcommand.');
  }
}

/** The session of the thread the command was used in (another server's never). */
async function sessionHere(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<Session> {
  const session = await ctx.sessions.byThread(interaction.channelId);
  if (!session || session.guildId !== interaction.guildId) {
    throw new InvalidRequestError("Use this inside a session's thread. `/session start` opens one.");
  }
  return session;
}

/** The host, or anyone with Manage Threads here (Discord resolves it for the thread the command came from). */
function assertHost(interaction: ChatInputCommandInteraction, session: Session): void {
  if (session.hostId && session.hostId === interaction.user.id) return;
  if (interaction.memberPermissions?.has(PermissionFlagsBits.ManageThreads)) return;
  throw new InvalidRequestError('Only the host of this session, or someone who can manage threads, can do that.');
}

async function statusText(ctx: BotContext, session: Session, userId: string): Promise<string> {
  const entries = await ctx.sessions.entries(session.id, session.round);
  const mine = entries.filter((entry) => entry.userId === userId).map((entry) => `#${entry.number}`);
  const votes = [...(await ctx.sessions.tally(session.id, session.round)).values()].reduce((a, b) => a + b, 0);
  const round = await ctx.sessions.roundOf(session.id, session.round);
  const phase =
    session.phase === 'ended'
      ? 'ended'
      : session.pausedAt
        ? `${session.phase}, paused`
        : `${session.phase}, until ${timestamp(session.phaseEndsAt ?? ctx.now())}`;
  return [
    `🎨 **${text(clip(session.theme, 150))}** · round ${session.round} of ${session.rounds} · ${phase}`,
    `Twist: **${text(round?.twist ?? '—')}** · mode: ${session.mode}`,
    `This round: ${entries.length} ${entries.length === 1 ? 'entry' : 'entries'}${mine.length ? ` (yours: ${mine.join(', ')})` : ''}, ${votes} ${votes === 1 ? 'vote' : 'votes'}.`,
  ].join('\n');
}

function integer(interaction: ChatInputCommandInteraction, name: string, fallback: number, min: number, max: number): number {
  const value = interaction.options.getInteger(name) ?? fallback;
  // Discord enforces the ranges for its own clients; a crafted interaction is refused here.
  if (!Number.isInteger(value) || value < min || value > max) throw new InvalidRequestError(`\`${name}\` must be from ${min} to ${max}.`);
  return value;
}

async function start(interaction: ChatInputCommandInteraction, ctx: BotContext, guildId: string): Promise<void> {
  if (interaction.channel?.isThread() || (await ctx.sessions.byThread(interaction.channelId))) {
    throw new InvalidRequestError('Start a session in a text channel: it gets a thread of its own (one session per thread).');
  }
  const theme = interaction.options.getString('theme', true).replace(/\s+/g, ' ').trim();
  if (!theme) throw new InvalidRequestError('The session needs a theme.');
  if (theme.length > THEME_MAX) throw new InvalidRequestError(`A theme has at most ${THEME_MAX} characters.`);
  const rounds = integer(interaction, 'rounds', 5, 1, ROUNDS_MAX);
  const roundMinutes = integer(interaction, 'round_minutes', 5, 1, 30);
  const voteSeconds = integer(interaction, 'vote_seconds', 60, 30, 300);
  const entriesPerRound = integer(interaction, 'entries_per_round', 2, 1, 4);
  const mode = (interaction.options.getString('mode') ?? 'evolve') as SessionMode;
  if (!sessionModes.includes(mode)) throw new InvalidRequestError('Pick one of the modes offered: evolve or fresh.');
  await assertPublicTextAllowed(ctx, guildId, theme, 'theme');
  const { maxSessions } = await ctx.settings.get(guildId);
  if ((await ctx.sessions.runningCount(guildId)) >= maxSessions) throw new InvalidRequestError(limitText(maxSessions));
  if (!interaction.memberPermissions?.has(PermissionFlagsBits.CreatePublicThreads)) {
    throw new InvalidRequestError('You cannot start threads in this channel, so you cannot start a session here.');
  }
  if (interaction.appPermissions && !interaction.appPermissions.has(PermissionFlagsBits.CreatePublicThreads)) {
    throw new InvalidRequestError('I cannot start a thread here. I need **Create Public Threads** in this channel.');
  }
  // Making the thread can take longer than Discord's 3 s: answer first, fill in after.
  await interaction.deferReply();
  let thread: APIChannel;
  try {
    thread = (await ctx.rest.post(Routes.threads(interaction.channelId), {
      body: { name: clip(`🎨 ${theme}`, 100), type: ChannelType.PublicThread, auto_archive_duration: 1440 },
    })) as APIChannel;
  } catch (error) {
    if (error instanceof DiscordAPIError && (error.status === 403 || error.status === 400)) {
      throw new InvalidRequestError('I cannot start a thread here. I need **Create Public Threads** in a text channel.');
    }
    throw error;
  }
  const now = ctx.now();
  const created = await ctx.sessions.create(
    {
      id: interaction.id,
      guildId,
      channelId: interaction.channelId,
      threadId: thread.id,
      hostId: interaction.user.id,
      theme,
      mode,
      rounds,
      roundSeconds: roundMinutes * 60,
      voteSeconds,
      entriesPerRound,
      // From the command's own payload: entries in the thread need not ask Discord about its parent each time.
      ageRestricted: requesterOf(interaction).channelNsfw,
      createdAt: now,
      twists: twistsFor(interaction.id, rounds),
      phaseEndsAt: now + roundMinutes * 60_000,
    },
    maxSessions,
  );
  if (!created.ok) {
    // Another start won the last place meanwhile: the thread goes again.
    await ctx.rest.delete(Routes.channel(thread.id)).catch(() => undefined);
    throw new InvalidRequestError(limitText(maxSessions));
  }
  const session = (await ctx.sessions.get(interaction.id))!;
  await scheduleCurrentPhase(ctx.sessionQueue, session, now);
  const panel = await postChannelMessage(ctx, thread.id, await panelMessage(ctx, session), { nonce: `${session.id}p`.slice(-25) });
  await ctx.sessions.record(session.id, { panelMessageId: panel.id });
  await catchUp(ctx, session.id);
  await interaction.editReply({
    content:
      `🎨 <@${interaction.user.id}> started a live session: **${text(theme)}** · ${rounds} ${rounds === 1 ? 'round' : 'rounds'} of ${roundMinutes} min · ${mode}. ` +
      `Join in <#${thread.id}>!`,
    allowedMentions: noMentions,
  });
}

const limitText = (max: number) =>
  `This server runs ${max} ${max === 1 ? 'session' : 'sessions'} already, as many as it allows at once (\`/config sessions\` changes that). Try again when one ends.`;
