import { REST, Routes } from 'discord.js';
import { commands } from '../../commands/index.js';
import { requireDiscord } from '../config.js';
import { loadConfigOrExit, orExit } from '../runtime.js';
import { syncCommands } from './commands-sync.js';

/**
 * `npm run deploy-commands`: registers every command globally, or in DISCORD_GUILD_ID when set;
 * with INTERACTIONS_URL, also makes it the application's interactions endpoint (Discord checks it
 * with a signed PING first, so the bot must already be running there with INTERACTIONS=http).
 */
const { config, logger } = await loadConfigOrExit();
const { token, applicationId } = await orExit(() => requireDiscord(config));
const rest = new REST({ api: config.DISCORD_API_URL, globalRequestsPerSecond: config.DISCORD_GLOBAL_RATE_LIMIT }).setToken(token);
const bodies = commands.map((command) => command.data({ models: config.models }));
await syncCommands(rest, applicationId, bodies, { guildId: config.DISCORD_GUILD_ID, force: true });
logger.info({ commands: bodies.map((body) => body.name), scope: config.DISCORD_GUILD_ID ?? 'global' }, 'commands registered');
if (config.INTERACTIONS_URL) {
  await rest.patch(Routes.currentApplication(), { body: { interactions_endpoint_url: config.INTERACTIONS_URL } });
  logger.info({ url: config.INTERACTIONS_URL }, 'interactions endpoint set');
}
