import { Routes, type REST, type RESTPostAPIApplicationCommandsJSONBody } from 'discord.js';
import { isDeepStrictEqual } from 'node:util';

/** The fields we set on a command definition; Discord adds ids, versions and defaults to the rest. */
function comparable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(comparable);
  if (value && typeof value === 'object') {
    const result: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      if (['id', 'application_id', 'version', 'guild_id', 'dm_permission', 'nsfw', 'handler'].includes(key)) continue;
      const item = (value as Record<string, unknown>)[key];
      if (item === undefined || item === null || item === false) continue;
      if (Array.isArray(item) && item.length === 0) continue;
      if (key.endsWith('_localizations')) continue;
      result[key] = comparable(item);
    }
    return result;
  }
  return value;
}

/** Definitions Discord holds that differ from ours (by name, or in any field we set). */
export function commandsDiffer(ours: RESTPostAPIApplicationCommandsJSONBody[], theirs: unknown[]): boolean {
  if (ours.length !== theirs.length) return true;
  const byName = new Map(theirs.map((command) => [(command as { name: string }).name, command]));
  return ours.some((command) => {
    const existing = byName.get(command.name) as Record<string, unknown> | undefined;
    if (!existing) return true;
    const mine = comparable(command) as Record<string, unknown>;
    const normalised = comparable(existing) as Record<string, unknown>;
    const projected = Object.fromEntries(Object.keys(mine).map((key) => [key, normalised[key]]));
    return !isDeepStrictEqual(mine, projected);
  });
}

/**
 * Registers the commands globally, or in one guild (instant, for development). Unless `force`,
 * it first asks Discord what it has and only overwrites when something differs, so starting the
 * bot does not re-register on every restart.
 */
export async function syncCommands(
  rest: REST,
  applicationId: string,
  bodies: RESTPostAPIApplicationCommandsJSONBody[],
  options: { guildId?: string; force?: boolean } = {},
): Promise<'updated' | 'unchanged'> {
  const route = options.guildId ? Routes.applicationGuildCommands(applicationId, options.guildId) : Routes.applicationCommands(applicationId);
  if (!options.force) {
    const existing = (await rest.get(route)) as unknown[];
    if (!commandsDiffer(bodies, existing)) return 'unchanged';
  }
  await rest.put(route, { body: bodies });
  return 'updated';
}
