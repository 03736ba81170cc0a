import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ApplicationIntegrationType,
  ChannelType,
  InteractionContextType,
  MessageFlags,
  PermissionFlagsBits,
  type APIApplicationCommandChannelOption,
  type ChatInputCommandInteraction,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import { assertPublicTextAllowed } from '../../bot/admission.js';
import type { BotContext } from '../../bot/context.js';
import { noMentions } from '../../bot/messages.js';
import { requireServerWide } from '../../bot/guild-facts.js';
import { InvalidRequestError } from '../../bot/prompt.js';
import { resolveImageReference, submitEntry, submittedText, withdrawEntry, type Member } from './actions.js';
import { weekdays, type Challenge } from './model.js';
import { endPhaseNow, isTimezone, scheduleWeekly, unscheduleWeekly } from './timers.js';
import { authorOf, cancelChallenge, podiumOf, themeText, timestamp } from './transitions.js';

/** /challenge: what it offers (for the command list) and what each subcommand does. */

const THEME_MAX = 200;
const S = ApplicationCommandOptionType;

const days = (name: string, description: string, max: number) => ({ name, description, type: S.Integer, min_value: 1, max_value: max }) as const;
const theme = {
  name: 'theme',
  description: 'The theme, e.g. "a city under the sea"',
  type: S.String,
  required: true,
  max_length: THEME_MAX,
} as const;
const submitDays = days('submit_days', 'Days to take entries (1–13, default 5)', 13);
const voteDays = days('vote_days', 'Days to vote (1–6, default 2)', 6);
const textChannel = (required: boolean): APIApplicationCommandChannelOption => ({
  name: 'channel',
  description: 'Where to announce it',
  type: S.Channel,
  channel_types: [ChannelType.GuildText],
  required,
});

export const challengeCommandData = () =>
  ({
    name: 'challenge',
    description: 'Weekly theme challenges: enter, vote, and (with Manage Server) run them',
    type: ApplicationCommandType.ChatInput,
    contexts: [InteractionContextType.Guild],
    integration_types: [ApplicationIntegrationType.GuildInstall],
    options: [
      {
        name: 'submit',
        description: 'Enter one of your pictures in the running challenge',
        type: S.Subcommand,
        options: [{ name: 'image', description: 'File name (atelier-…-2.png) or message link of your picture', type: S.String, max_length: 200 }],
      },
      {
        name: 'withdraw',
        description: 'Take one of your entries back',
        type: S.Subcommand,
        options: [{ name: 'entry', description: 'Entry number (needed when you have several)', type: S.Integer, min_value: 1 }],
      },
      { name: 'status', description: 'The running challenge, its deadlines and your entries', type: S.Subcommand },
      { name: 'history', description: 'Past challenges and their winners', type: S.Subcommand },
      {
        name: 'start',
        description: 'Start a challenge now (Manage Server)',
        type: S.Subcommand,
        options: [theme, submitDays, voteDays, textChannel(false)],
      },
      { name: 'end', description: 'End the current phase now (Manage Server)', type: S.Subcommand },
      { name: 'cancel', description: 'Cancel the running challenge (Manage Server)', type: S.Subcommand },
      {
        name: 'limit',
        description: 'Entries per member (Manage Server)',
        type: S.Subcommand,
        options: [
          {
            name: 'entries',
            description: 'How many entries each member may have (1–10)',
            type: S.Integer,
            required: true,
            min_value: 1,
            max_value: 10,
          },
        ],
      },
      {
        name: 'schedule',
        description: 'The weekly cycle (Manage Server)',
        type: S.SubcommandGroup,
        options: [
          {
            name: 'set',
            description: 'Start a challenge every week at this time',
            type: S.Subcommand,
            options: [
              textChannel(true),
              {
                name: 'weekday',
                description: 'Day of the week',
                type: S.Integer,
                required: true,
                choices: weekdays.map((day, value) => ({ name: day, value })),
              },
              { name: 'time', description: 'Time of day, 24-hour HH:MM', type: S.String, required: true, min_length: 4, max_length: 5 },
              {
                name: 'timezone',
                description: 'IANA timezone, e.g. Europe/Berlin or America/New_York',
                type: S.String,
                required: true,
                max_length: 64,
              },
              submitDays,
              voteDays,
            ],
          },
          { name: 'off', description: 'Stop the weekly cycle (a running challenge carries on)', type: S.Subcommand },
        ],
      },
      {
        name: 'themes',
        description: 'The pool weekly themes are drawn from (Manage Server)',
        type: S.SubcommandGroup,
        options: [
          { name: 'add', description: 'Add a theme to the pool', type: S.Subcommand, options: [theme] },
          { name: 'list', description: 'The themes in the pool', type: S.Subcommand },
          {
            name: 'remove',
            description: 'Remove a theme from the pool',
            type: S.Subcommand,
            options: [{ ...theme, description: 'The theme, exactly as listed' }],
          },
        ],
      },
    ],
  }) satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

const ADMIN = new Set(['start', 'end', 'cancel', 'limit', 'schedule', 'themes']);

export async function executeChallenge(interaction: ChatInputCommandInteraction, ctx: BotContext) {
  const guildId = interaction.guildId;
  if (!guildId) throw new InvalidRequestError('Challenges happen in servers.');
  const group = interaction.options.getSubcommandGroup(false);
  const sub = interaction.options.getSubcommand(true);
  if (ADMIN.has(group ?? sub) && !interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild)) {
    throw new InvalidRequestError('Only members with the **Manage Server** permission can run challenges.');
  }
  if (ADMIN.has(group ?? sub))
    await requireServerWide(ctx, interaction, PermissionFlagsBits.ManageGuild, 'Manage Server', `\`/challenge ${group ?? sub}\``);
  const member: Member = { userId: interaction.user.id, guildId };
  const say = async (content: string) => {
    await interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: noMentions });
  };

  if (group === 'schedule') return say(sub === 'off' ? await scheduleOff(ctx, guildId) : await scheduleSet(interaction, ctx, guildId));
  if (group === 'themes') return say(await themes(interaction, ctx, guildId, sub));
  switch (sub) {
    case 'submit': {
      const reference = interaction.options.getString('image');
      if (!reference) {
        throw new InvalidRequestError(
          'Use the 🏆 **Submit to challenge** button under your picture, or give it with `image:` (its file name or message link).',
        );
      }
      const imageId = await resolveImageReference(ctx, reference, member);
      return say(submittedText(await submitEntry(ctx, member, imageId)));
    }
    case 'withdraw': {
      const { challenge, entry } = await withdrawEntry(ctx, member, interaction.options.getInteger('entry'));
      return say(`Entry **#${entry.id}** is out of **${themeText(challenge.theme)}**.`);
    }
    case 'status':
      return say(await status(ctx, guildId, interaction.user.id));
    case 'history':
      return say(await history(ctx, guildId));
    case 'start':
      return say(await start(interaction, ctx, guildId));
    case 'end':
      return say(await end(ctx, guildId));
    case 'cancel': {
      const challenge = await running(ctx, guildId);
      await interaction.deferReply({ flags: MessageFlags.Ephemeral });
      const cancelled = await cancelChallenge(ctx, challenge.id, interaction.user.id, ctx.now());
      await interaction.editReply({
        content: cancelled ? `Cancelled **${themeText(challenge.theme)}**.` : 'That challenge had already finished.',
        allowedMentions: noMentions,
      });
      return;
    }
    case 'limit': {
      const entries = interaction.options.getInteger('entries', true);
      await ctx.settings.update(guildId, { challengeMaxEntries: entries });
      return say(`Members may now have up to **${entries}** ${entries === 1 ? 'entry' : 'entries'} per challenge.`);
    }
  }
  throw new InvalidRequestError('I do not know that subcommand.');
}

async function running(ctx: BotContext, guildId: string): Promise<Challenge> {
  const challenge = await ctx.challenges.active(guildId);
  if (!challenge) throw new InvalidRequestError('No challenge is running here.');
  return challenge;
}

async function start(interaction: ChatInputCommandInteraction, ctx: BotContext, guildId: string): Promise<string> {
  const text = interaction.options.getString('theme', true).replace(/\s+/g, ' ').trim();
  if (!text) throw new InvalidRequestError('The theme is empty.');
  await assertPublicTextAllowed(ctx, guildId, text, 'theme');
  const channelId = interaction.options.getChannel('channel')?.id ?? interaction.channelId;
  const { created, id } = await ctx.challenges.create({
    guildId,
    channelId,
    theme: text,
    submitDays: interaction.options.getInteger('submit_days') ?? 5,
    voteDays: interaction.options.getInteger('vote_days') ?? 2,
    scheduled: false,
    createdBy: interaction.user.id,
    createdAt: ctx.now(),
  });
  if (!created) {
    const current = await ctx.challenges.get(id);
    throw new InvalidRequestError(
      `A challenge is already running here (**${themeText(current?.theme ?? '?')}**, ${current?.phase}). End it with \`/challenge end\` or \`/challenge cancel\` first.`,
    );
  }
  // Announcing is the first transition: the challenge worker does it, so that it survives a restart.
  await endPhaseNow(ctx.challengeQueue, id, 'announce');
  return `Starting **${themeText(text)}** in <#${channelId}>: the announcement follows in a moment.`;
}

async function end(ctx: BotContext, guildId: string): Promise<string> {
  const challenge = await running(ctx, guildId);
  if (challenge.phase === 'results' || challenge.phase === 'cancelled') throw new InvalidRequestError('That challenge has finished.');
  // A challenge paused by a refused post moves on from where it stopped.
  if (challenge.pausedAt) await ctx.challenges.resume(challenge.id);
  await endPhaseNow(ctx.challengeQueue, challenge.id, challenge.phase);
  const next = {
    announce: 'announcing it now',
    submissions: 'closing entries: voting opens in a moment',
    voting: 'closing the vote: the results follow in a moment',
  };
  return `**${themeText(challenge.theme)}**: ${next[challenge.phase]}.`;
}

async function scheduleSet(interaction: ChatInputCommandInteraction, ctx: BotContext, guildId: string): Promise<string> {
  const time = interaction.options.getString('time', true).trim().padStart(5, '0');
  if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(time)) throw new InvalidRequestError('The time is HH:MM on a 24-hour clock, e.g. `18:30`.');
  const timezone = interaction.options.getString('timezone', true).trim();
  if (!isTimezone(timezone)) throw new InvalidRequestError(`"${timezone}" is not a timezone I know. Use an IANA name like \`Europe/Berlin\`.`);
  const schedule = {
    channelId: interaction.options.getChannel('channel', true).id,
    weekday: interaction.options.getInteger('weekday', true),
    time,
    timezone,
    submitDays: interaction.options.getInteger('submit_days') ?? 5,
    voteDays: interaction.options.getInteger('vote_days') ?? 2,
  };
  await ctx.challenges.setSchedule(guildId, schedule, interaction.user.id);
  const next = await scheduleWeekly(ctx.challengeQueue, guildId, schedule);
  const pool = (await ctx.challenges.themes(guildId)).length;
  const lines = [
    `Every **${weekdays[schedule.weekday]}** at **${time}** (${timezone}) a challenge starts in <#${schedule.channelId}>: ` +
      `${schedule.submitDays} days of entries, then ${schedule.voteDays} of voting.`,
  ];
  if (next) lines.push(`The next one: ${timestamp(next, 'f')}.`);
  if (schedule.submitDays + schedule.voteDays > 7) lines.push('A cycle longer than a week skips the weeks in which a challenge is still running.');
  if (pool === 0) lines.push('The theme pool is empty: add themes with `/challenge themes add`.');
  return lines.join('\n');
}

async function scheduleOff(ctx: BotContext, guildId: string): Promise<string> {
  const cleared = await ctx.challenges.clearSchedule(guildId);
  const removed = await unscheduleWeekly(ctx.challengeQueue, guildId);
  return cleared || removed ? 'The weekly challenge is off. A running challenge carries on to its results.' : 'There was no weekly challenge.';
}

async function themes(interaction: ChatInputCommandInteraction, ctx: BotContext, guildId: string, sub: string): Promise<string> {
  if (sub === 'list') {
    const pool = await ctx.challenges.themes(guildId);
    if (pool.length === 0) return 'The theme pool is empty. Add themes with `/challenge themes add`.';
    const lines = pool.map((item, index) => `${index + 1}. ${themeText(item.theme)}${item.used ? ' *(used this round)*' : ''}`);
    return `**Themes** (drawn without repeats until all were used)\n${lines.join('\n')}`.slice(0, 2000);
  }
  const text = interaction.options.getString('theme', true).replace(/\s+/g, ' ').trim();
  if (!text) throw new InvalidRequestError('The theme is empty.');
  if (sub === 'add') {
    await assertPublicTextAllowed(ctx, guildId, text, 'theme');
    const added = await ctx.challenges.addTheme(guildId, text, interaction.user.id);
    return added ? `Added **${themeText(text)}** to the pool.` : `**${themeText(text)}** is already in the pool.`;
  }
  const removed = await ctx.challenges.removeTheme(guildId, text);
  if (!removed) throw new InvalidRequestError(`**${themeText(text)}** is not in the pool (see \`/challenge themes list\`).`);
  return `Removed **${themeText(text)}** from the pool.`;
}

async function status(ctx: BotContext, guildId: string, userId: string): Promise<string> {
  const [challenge, schedule] = await Promise.all([ctx.challenges.active(guildId), ctx.challenges.schedule(guildId)]);
  const lines: string[] = [];
  if (!challenge) {
    lines.push('No challenge is running here.');
    const [last] = await ctx.challenges.history(guildId, 1);
    if (last?.pausedNote) lines.push(`⚠️ The last one, **${themeText(last.theme)}**: ${last.pausedNote}`);
  } else {
    lines.push(`🏆 **${themeText(challenge.theme)}** in <#${challenge.channelId}>`);
    const entries = await ctx.challenges.entries(challenge.id);
    const mine = entries.filter((entry) => entry.userId === userId).map((entry) => `#${entry.id}`);
    if (challenge.phase === 'announce') lines.push('Being announced.');
    if (challenge.phase === 'submissions')
      lines.push(`Taking entries until ${timestamp(challenge.submissionsEndAt!)}, then voting until ${timestamp(challenge.votingEndAt!)}.`);
    if (challenge.phase === 'voting') lines.push(`Voting until ${timestamp(challenge.votingEndAt!)}.`);
    if (challenge.pausedNote) {
      lines.push(
        `⏸ **Paused**: ${challenge.pausedNote} Once I can post there again, \`/challenge end\` moves it on; \`/challenge cancel\` stops it.`,
      );
    }
    lines.push(`${entries.length} ${entries.length === 1 ? 'entry' : 'entries'}${mine.length > 0 ? `; yours: ${mine.join(', ')}` : ''}.`);
  }
  if (schedule) lines.push(`Weekly: ${weekdays[schedule.weekday]} ${schedule.time} (${schedule.timezone}) in <#${schedule.channelId}>.`);
  return lines.join('\n');
}

async function history(ctx: BotContext, guildId: string): Promise<string> {
  const past = await ctx.challenges.history(guildId, 10);
  if (past.length === 0) return 'No challenges yet.';
  const lines = past.map((challenge) => {
    const when = timestamp(challenge.announcedAt ?? challenge.createdAt, 'd');
    const head = `${when} **${themeText(challenge.theme)}**`;
    if (challenge.phase === 'cancelled') return `${head}: cancelled`;
    if (challenge.phase !== 'results') return `${head}: ${challenge.phase}`;
    const winners = podiumOf(challenge.ranking).map((entry, index) => `${['🥇', '🥈', '🥉'][index]} ${authorOf(entry)}`);
    return `${head}: ${winners.length > 0 ? winners.join(' ') : challenge.ranking.length > 0 ? 'no votes' : 'no entries'}`;
  });
  return `**Challenges**\n${lines.join('\n')}`.slice(0, 2000);
}
