import { MessageFlags, type Interaction, type RepliableInteraction } from 'discord.js';
import type { Logger } from 'pino';
import type { Command, CommandSettings } from './command.js';
import { AttachmentRefusedError } from './attachments.js';
import { componentHandlers, type ComponentHandler } from './components/index.js';
import type { BotContext } from './context.js';
import { noMentions } from './messages.js';
import { InvalidRequestError } from './prompt.js';
import { BanList } from '../features/moderation/store.js';
import { CommandRateLimiter, defaultInteractionRateLimit } from '../store/rate-limit.js';
import { isRedisUnavailable } from '../redis-connections.js';
import { isDatabaseUnavailable } from '../db/connection.js';

/** Errors whose message is written for the member; anything else is ours and gets a generic answer. */
export function memberFacingMessage(error: unknown): string | undefined {
  if (error instanceof InvalidRequestError || error instanceof AttachmentRefusedError) return error.message;
  return undefined;
}

const GENERIC_ERROR = 'Something went wrong on my side, and nothing was changed. Please try again in a moment.';
/** Redis or the database could not be asked (down, restarting, or stalled past the command timeout): the request stopped there. */
const STORAGE_UNAVAILABLE = 'I cannot reach my storage right now, so I did nothing with that. Please try again in a minute.';

/**
 * The one router, and the one error boundary: whatever goes wrong, the member gets a private
 * answer (a reply, an edit of a deferred reply, or a follow-up, depending on what was already
 * sent), and the error is logged with the interaction's ids.
 */
export function createInteractionRouter(
  ctx: BotContext,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as in commands/index.ts: each command narrows its own interaction type
  commandList: readonly Command<any>[],
  settings: CommandSettings,
  handlers: readonly ComponentHandler[] = componentHandlers,
) {
  const byName = new Map(commandList.map((command) => [command.data(settings).name, command]));
  const byPrefix = new Map(handlers.map((handler) => [handler.prefix, handler]));
  const limiter = new CommandRateLimiter(ctx.redis, ctx.prefix, ctx.interactionRateLimit ?? defaultInteractionRateLimit, 'interaction');
  const bans = new BanList(ctx.db);

  return async function route(interaction: Interaction): Promise<void> {
    const logger = ctx.logger.child({
      interactionId: interaction.id,
      userId: interaction.user.id,
      guildId: interaction.guildId,
      channelId: interaction.channelId,
    });
    try {
      if (interaction.isRepliable()) await takeRateLimitToken(ctx, limiter, interaction.user.id);
      if (
        interaction.isRepliable() &&
        !stillAllowedWhenBanned(interaction) &&
        (await bans.isBanned(interaction.guildId ?? undefined, interaction.user.id))
      ) {
        throw new InvalidRequestError('A moderator has stopped you from using Atelier on this server.');
      }
      if (interaction.isChatInputCommand() || interaction.isMessageContextMenuCommand()) {
        const command = byName.get(interaction.commandName);
        if (!command) throw new InvalidRequestError('I do not know that command any more. It may take a minute for Discord to catch up.');
        logger.debug({ command: interaction.commandName }, 'command');
        await command.execute(interaction, ctx);
      } else if (interaction.isMessageComponent() || interaction.isModalSubmit()) {
        const handler = byPrefix.get(interaction.customId.split(':', 1)[0]!);
        const handled = handler ? await handler.handle(interaction, ctx) : false;
        if (!handled) throw new InvalidRequestError('That button is not one I recognise. It may belong to an old version of me.');
      } else if (interaction.isRepliable()) {
        throw new InvalidRequestError('I cannot handle that here.');
      }
    } catch (error) {
      await answerError(interaction, error, logger);
    }
  };
}

/** A member a moderator banned from the bot may still read /help and delete their own data. */
function stillAllowedWhenBanned(interaction: Interaction): boolean {
  if (interaction.isChatInputCommand()) return interaction.commandName === 'help' || interaction.commandName === 'privacy';
  if (interaction.isMessageComponent()) return interaction.customId.startsWith('privacy:');
  return false;
}

/**
 * Commands, buttons and modals all take a token from the member's generous allowance, so a script
 * cannot flood the bot through any of them (requests for pictures also take one from a tighter
 * allowance: see admitGeneration).
 */
async function takeRateLimitToken(ctx: BotContext, limiter: CommandRateLimiter, userId: string): Promise<void> {
  const { allowed, retryAfterMs } = await limiter.take(userId, ctx.now());
  if (!allowed) throw new InvalidRequestError(`Slow down a little: you can use Atelier again in ${Math.max(1, Math.ceil(retryAfterMs / 1000))} s.`);
}

async function answerError(interaction: Interaction, error: unknown, logger: Logger): Promise<void> {
  const message = memberFacingMessage(error);
  const unavailable = !message && (isRedisUnavailable(error) || isDatabaseUnavailable(error));
  if (message) logger.info({ reason: message }, 'request refused');
  else if (unavailable) logger.warn({ err: error }, 'redis or database unavailable; the member was asked to try again');
  else logger.error({ err: error }, 'interaction failed');
  if (!interaction.isRepliable()) return;
  const body = {
    content: `⚠️ ${message ?? (unavailable ? STORAGE_UNAVAILABLE : GENERIC_ERROR)}`,
    flags: MessageFlags.Ephemeral,
    allowedMentions: noMentions,
  } as const;
  try {
    await sendPrivately(interaction, body);
  } catch (replyError) {
    // Typically an expired interaction (Discord gives us 3 s): nothing more can be said.
    logger.warn({ err: replyError }, 'could not tell the member about the error');
  }
}

async function sendPrivately(
  interaction: RepliableInteraction,
  body: { content: string; flags: MessageFlags.Ephemeral; allowedMentions: typeof noMentions },
) {
  if (interaction.deferred && !interaction.replied && interaction.ephemeral) {
    await interaction.editReply({ content: body.content, allowedMentions: body.allowedMentions, components: [] });
  } else if (interaction.deferred && !interaction.replied) {
    // A public "thinking…" (or an update of a public message) would show the error to everyone:
    // the placeholder goes away first (a follow-up would replace it), then the member is told alone.
    if (interaction.ephemeral === false) await interaction.deleteReply();
    await interaction.followUp(body);
  } else if (interaction.replied) {
    await interaction.followUp(body);
  } else {
    await interaction.reply(body);
  }
}
