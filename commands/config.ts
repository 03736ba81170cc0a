import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ApplicationIntegrationType,
  ChannelType,
  InteractionContextType,
  MessageFlags,
  PermissionFlagsBits,
  type ChatInputCommandInteraction,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import type { ChatInputCommand, CommandSettings } from '../src/bot/command.js';
import type { BotContext } from '../src/bot/context.js';
import { noMentions } from '../src/bot/messages.js';
import { requireServerWide } from '../src/bot/guild-facts.js';
import { InvalidRequestError } from '../src/bot/prompt.js';
import { checkBlocklistEntry } from '../src/moderation/blocklist.js';
import { guildSettingsSchema, type GuildSettings } from '../src/features/settings/schema.js';

const { String: Str, Integer, Boolean: Bool, Channel, Role, Subcommand, SubcommandGroup } = ApplicationCommandOptionType;

const nsfwChoices = [
  { name: 'Only in age-restricted channels', value: 'age-restricted' },
  { name: 'Everywhere', value: 'everywhere' },
  { name: 'Nowhere', value: 'nowhere' },
] as const;

const data = ({ models }: CommandSettings) =>
  ({
    name: 'config',
    description: 'Server settings for Atelier (Manage Server)',
    type: ApplicationCommandType.ChatInput,
    contexts: [InteractionContextType.Guild],
    integration_types: [ApplicationIntegrationType.GuildInstall],
    default_member_permissions: PermissionFlagsBits.ManageGuild.toString(),
    options: [
      { name: 'show', description: 'Show every setting', type: Subcommand },
      {
        name: 'channels',
        description: 'Where members may make pictures (none listed: everywhere)',
        type: SubcommandGroup,
        options: [
          {
            name: 'add',
            description: 'Allow pictures in a channel',
            type: Subcommand,
            options: [
              {
                name: 'channel',
                description: 'The channel',
                type: Channel,
                required: true,
                channel_types: [ChannelType.GuildText, ChannelType.GuildAnnouncement],
              },
            ],
          },
          {
            name: 'remove',
            description: 'Stop allowing a channel',
            type: Subcommand,
            options: [
              {
                name: 'channel',
                description: 'The channel',
                type: Channel,
                required: true,
                channel_types: [ChannelType.GuildText, ChannelType.GuildAnnouncement],
              },
            ],
          },
          { name: 'clear', description: 'Allow pictures in every channel again', type: Subcommand },
        ],
      },
      {
        name: 'limits',
        description: 'Per-member queue limits, daily images, and the server budget',
        type: Subcommand,
        options: [
          { name: 'running', description: 'Pictures one member may have generating at once', type: Integer, min_value: 1, max_value: 16 },
          { name: 'queued', description: 'Requests one member may have waiting', type: Integer, min_value: 1, max_value: 1000 },
          { name: 'daily_images', description: 'Images per member per day (0: no limit)', type: Integer, min_value: 0, max_value: 100_000 },
          {
            name: 'daily_budget',
            description: 'Cost units the server may spend per day (0: no limit)',
            type: Integer,
            min_value: 0,
            max_value: 10_000_000,
          },
        ],
      },
      {
        name: 'role-quota',
        description: 'Higher daily image quotas for a role',
        type: SubcommandGroup,
        options: [
          {
            name: 'set',
            description: "Give a role's members this many images a day (0: no limit)",
            type: Subcommand,
            options: [
              { name: 'role', description: 'The role', type: Role, required: true },
              { name: 'images', description: 'Images per day', type: Integer, required: true, min_value: 0, max_value: 100_000 },
            ],
          },
          {
            name: 'remove',
            description: "Remove a role's quota",
            type: Subcommand,
            options: [{ name: 'role', description: 'The role', type: Role, required: true }],
          },
        ],
      },
      {
        name: 'model',
        description: 'The model /imagine uses when a member picks none',
        type: Subcommand,
        options: [
          {
            name: 'name',
            description: 'Model',
            type: Str,
            required: true,
            choices: models.map((model) => ({ name: model.name, value: model.name })),
          },
        ],
      },
      {
        name: 'blocklist',
        description: 'Words and /regular expressions/ refused in prompts',
        type: SubcommandGroup,
        options: [
          {
            name: 'add',
            description: 'Block a word, phrase, or /pattern/',
            type: Subcommand,
            options: [
              { name: 'entry', description: 'A word or phrase, or a regular expression between slashes', type: Str, required: true, max_length: 102 },
            ],
          },
          {
            name: 'remove',
            description: 'Unblock an entry',
            type: Subcommand,
            options: [{ name: 'entry', description: 'The entry as listed', type: Str, required: true, max_length: 102 }],
          },
          { name: 'list', description: "The server's blocklist", type: Subcommand },
        ],
      },
      {
        name: 'nsfw',
        description: 'Where prompts flagged as NSFW may be generated',
        type: Subcommand,
        options: [{ name: 'policy', description: 'Policy', type: Str, required: true, choices: [...nsfwChoices] }],
      },
      {
        name: 'self-voting',
        description: 'Whether members may vote for their own pictures',
        type: Subcommand,
        options: [{ name: 'allowed', description: 'Allowed?', type: Bool, required: true }],
      },
      {
        name: 'sessions',
        description: 'How many live sessions (/session) may run at once',
        type: Subcommand,
        options: [
          { name: 'max_running', description: 'Sessions at once (1–20, default 3)', type: Integer, required: true, min_value: 1, max_value: 20 },
        ],
      },
      {
        name: 'gallery',
        description: 'Who may browse the server’s web gallery',
        type: Subcommand,
        options: [{ name: 'public', description: 'Open it read-only to everyone (otherwise: members only)', type: Bool, required: true }],
      },
    ],
  }) satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext) {
  // Discord hides /config from members without Manage Server, but a server can override that.
  if (!interaction.inGuild() || !interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild)) {
    throw new InvalidRequestError('Only members with the Manage Server permission can change Atelier’s settings.');
  }
  await requireServerWide(ctx, interaction, PermissionFlagsBits.ManageGuild, 'Manage Server', '`/config`');
  const guildId = interaction.guildId;
  const settings = await ctx.settings.fresh(guildId);
  const group = interaction.options.getSubcommandGroup(false);
  const name = interaction.options.getSubcommand();
  const reply = (content: string) => interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: noMentions });
  const save = async (change: Partial<GuildSettings> | ((current: GuildSettings) => Partial<GuildSettings>), done: string) => {
    const updated = await ctx.settings.update(guildId, change, interaction.user.id);
    await reply(`✅ ${done}\n\n${describeSettings(updated, ctx)}`);
  };

  switch (group ? `${group} ${name}` : name) {
    case 'show':
      return void (await reply(describeSettings(settings, ctx)));
    case 'channels add': {
      const channel = interaction.options.getChannel('channel', true);
      if (settings.allowedChannels.includes(channel.id)) return void (await reply(`<#${channel.id}> is already allowed.`));
      if (settings.allowedChannels.length >= 50) throw new InvalidRequestError('At most 50 channels can be listed.');
      return save(
        (current) => ({ allowedChannels: [...new Set([...current.allowedChannels, channel.id])] }),
        `Pictures are allowed in <#${channel.id}>.`,
      );
    }
    case 'channels remove': {
      const channel = interaction.options.getChannel('channel', true);
      if (!settings.allowedChannels.includes(channel.id)) throw new InvalidRequestError(`<#${channel.id}> is not in the list.`);
      return save(
        (current) => ({ allowedChannels: current.allowedChannels.filter((id) => id !== channel.id) }),
        `<#${channel.id}> is no longer in the list.`,
      );
    }
    case 'channels clear':
      return save({ allowedChannels: [] }, 'Pictures are allowed in every channel.');
    case 'limits': {
      const change: Partial<GuildSettings> = {};
      const running = interaction.options.getInteger('running');
      const queued = interaction.options.getInteger('queued');
      const dailyImages = interaction.options.getInteger('daily_images');
      const dailyBudget = interaction.options.getInteger('daily_budget');
      if (running !== null) change.maxRunning = running;
      if (queued !== null) change.maxQueued = queued;
      if (dailyImages !== null) change.dailyImages = dailyImages;
      if (dailyBudget !== null) {
        const cap = ctx.operatorDailyBudget ?? 0;
        if (cap > 0 && (dailyBudget === 0 || dailyBudget > cap)) {
          throw new InvalidRequestError(
            `This installation spends at most ${cap} cost units a day across all servers, so a server's daily budget can be at most ${cap}.`,
          );
        }
        change.dailyBudget = dailyBudget;
      }
      if (Object.keys(change).length === 0)
        throw new InvalidRequestError('Give at least one of `running`, `queued`, `daily_images`, `daily_budget`.');
      const checked = guildSettingsSchema.safeParse({ ...settings, ...change });
      if (!checked.success) throw new InvalidRequestError('Those limits are out of range.');
      return save(change, 'Limits updated.');
    }
    case 'role-quota set': {
      const role = interaction.options.getRole('role', true);
      const images = interaction.options.getInteger('images', true);
      if (Object.keys(settings.roleQuotas).length >= 25 && !(role.id in settings.roleQuotas))
        throw new InvalidRequestError('At most 25 roles can have their own quota.');
      return save(
        (current) => ({ roleQuotas: { ...current.roleQuotas, [role.id]: images } }),
        `Members with <@&${role.id}> get ${images === 0 ? 'no daily limit' : `a daily quota of ${images}`}.`,
      );
    }
    case 'role-quota remove': {
      const role = interaction.options.getRole('role', true);
      if (!(role.id in settings.roleQuotas)) throw new InvalidRequestError(`<@&${role.id}> has no quota of its own.`);
      return save((current) => {
        const { [role.id]: _removed, ...rest } = current.roleQuotas;
        return { roleQuotas: rest };
      }, `<@&${role.id}> uses the server's quota again.`);
    }
    case 'model': {
      const model = interaction.options.getString('name', true);
      if (!ctx.models.some((m) => m.name === model)) throw new InvalidRequestError(`There is no model called "${model}" here.`);
      return save({ defaultModel: model }, `The default model is now ${model}.`);
    }
    case 'blocklist add': {
      const checked = checkBlocklistEntry(interaction.options.getString('entry', true));
      if (!checked.ok) throw new InvalidRequestError(checked.reason);
      if (settings.blocklist.includes(checked.entry)) return void (await reply('That entry is already blocked.'));
      if (settings.blocklist.length >= 200) throw new InvalidRequestError('The blocklist is full (200 entries).');
      await ctx.settings.update(guildId, (current) => ({ blocklist: [...new Set([...current.blocklist, checked.entry])] }));
      return void (await reply(`✅ Blocked ${codeSpan(checked.entry)}. Prompts containing it are refused (privately, without repeating it).`));
    }
    case 'blocklist remove': {
      const raw = interaction.options.getString('entry', true).trim();
      const checked = checkBlocklistEntry(raw);
      const entry = settings.blocklist.find((item) => item === raw || (checked.ok && item === checked.entry));
      if (!entry) throw new InvalidRequestError('That entry is not in the blocklist. `/config blocklist list` shows it as stored.');
      await ctx.settings.update(guildId, (current) => ({ blocklist: current.blocklist.filter((item) => item !== entry) }));
      return void (await reply(`✅ Unblocked ${codeSpan(entry)}.`));
    }
    case 'blocklist list': {
      if (settings.blocklist.length === 0) return void (await reply('The server blocklist is empty (the built-in list always applies).'));
      const lines = settings.blocklist.map((entry) => `• ${codeSpan(entry)}`);
      return void (await reply(clip(`**Blocklist** (${settings.blocklist.length}; the built-in list applies too)\n${lines.join('\n')}`)));
    }
    case 'nsfw': {
      const policy = interaction.options.getString('policy', true) as GuildSettings['nsfw'];
      const label = nsfwChoices.find((choice) => choice.value === policy)?.name ?? policy;
      return save({ nsfw: policy }, `NSFW prompts: ${label.toLowerCase()}.`);
    }
    case 'self-voting': {
      const allowed = interaction.options.getBoolean('allowed', true);
      return save({ allowSelfVote: allowed }, allowed ? 'Members may vote for their own pictures.' : 'Members may not vote for their own pictures.');
    }
    case 'sessions': {
      const max = interaction.options.getInteger('max_running', true);
      if (!Number.isInteger(max) || max < 1 || max > 20) throw new InvalidRequestError('From 1 to 20 sessions may run at once.');
      return save({ maxSessions: max }, `Up to ${max} live ${max === 1 ? 'session' : 'sessions'} may run at once.`);
    }
    case 'gallery': {
      const open = interaction.options.getBoolean('public', true);
      return save(
        { galleryPublic: open },
        open ? 'The web gallery is open to everyone, read-only.' : 'The web gallery is for members of this server only.',
      );
    }
    default:
      throw new InvalidRequestError('I do not know that setting.');
  }
}

/** Blocklist entries are admin text: shown verbatim in a code span that nothing can break out of. */
function codeSpan(text: string): string {
  return `\`${text.replace(/`/g, "'")}\``;
}

function clip(text: string): string {
  return text.length <= 2000 ? text : `${text.slice(0, 1990)}\n…`;
}

export function describeSettings(settings: GuildSettings, ctx: Pick<BotContext, 'models' | 'operatorDailyBudget'>): string {
  const channels = settings.allowedChannels.length === 0 ? 'every channel' : settings.allowedChannels.map((id) => `<#${id}>`).join(', ');
  const roles = Object.entries(settings.roleQuotas).map(([id, images]) => `<@&${id}> ${images === 0 ? 'no limit' : images}`);
  const nsfw = nsfwChoices.find((choice) => choice.value === settings.nsfw)?.name ?? settings.nsfw;
  return [
    '**Atelier settings**',
    `**Channels:** ${channels}`,
    `**Per member:** ${settings.maxRunning} generating at once, ${settings.maxQueued} waiting, daily images: ${settings.dailyImages === 0 ? 'no limit' : settings.dailyImages}`,
    `**Role quotas:** ${roles.length === 0 ? 'none' : roles.join(', ')}`,
    `**Server budget per day:** ${settings.dailyBudget === 0 ? 'no limit' : `${settings.dailyBudget} cost units`}${
      ctx.operatorDailyBudget ? ` (this installation spends at most ${ctx.operatorDailyBudget} a day across all servers)` : ''
    }`,
    `**Default model:** ${settings.defaultModel && ctx.models.some((m) => m.name === settings.defaultModel) ? settings.defaultModel : ctx.models[0]?.name}`,
    `**Blocklist:** the built-in list, plus the server's own (entries: ${settings.blocklist.length})`,
    `**NSFW prompts:** ${nsfw}`,
    `**Self-voting:** ${settings.allowSelfVote ? 'allowed' : 'not allowed'}`,
    `**Live sessions at once:** ${settings.maxSessions}`,
    `**Web gallery:** ${settings.galleryPublic ? 'public (read-only for everyone)' : 'members only'}`,
  ].join('\n');
}

export default { data, execute } satisfies ChatInputCommand;
