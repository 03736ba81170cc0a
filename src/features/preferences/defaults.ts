import { aspectRatios } from '../../queues.js';
import { extractInlineFlags, type SlashOptions } from '../../bot/prompt.js';
import type { Preferences } from './store.js';

/**
 * Fills in a member's defaults where a request leaves an option out: neither the slash option nor
 * the inline flag gave it. A default the bot no longer offers (a model removed from IMAGE_MODELS)
 * is skipped. Returns the options to resolve, and what was filled in, as the member reads it.
 */
export function withPreferences(
  options: SlashOptions,
  prefs: Preferences,
  modelNames: readonly string[],
): { options: SlashOptions; applied: string[]; styleCode?: string } {
  const { flags } = extractInlineFlags(options.prompt);
  const filled: SlashOptions = { ...options };
  const applied: string[] = [];
  if ((options.model ?? undefined) === undefined && prefs.model && modelNames.includes(prefs.model)) {
    filled.model = prefs.model;
    applied.push(`model \`${prefs.model}\``);
  }
  if (
    (options.aspect ?? undefined) === undefined &&
    flags.aspect === undefined &&
    prefs.aspect &&
    (aspectRatios as readonly string[]).includes(prefs.aspect)
  ) {
    filled.aspect = prefs.aspect;
    applied.push(`aspect ${prefs.aspect}`);
  }
  if ((options.count ?? undefined) === undefined && prefs.count !== undefined) {
    filled.count = prefs.count;
    applied.push(`${prefs.count} ${prefs.count === 1 ? 'picture' : 'pictures'}`);
  }
  return { options: filled, applied, styleCode: prefs.styleCode };
}

export function appliedDefaultsNote(applied: string[]): string {
  return `⚙️ Used your defaults: ${applied.join(' · ')}. Change them with \`/settings\`.`;
}
