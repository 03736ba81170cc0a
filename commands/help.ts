import {
  ApplicationCommandType,
  MessageFlags,
  type ChatInputCommandInteraction,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import type { ChatInputCommand } from '../src/bot/command.js';
import type { BotContext } from '../src/bot/context.js';
import { noMentions } from '../src/bot/messages.js';
import { aspectRatios } from '../src/queues.js';

const data = () =>
  ({
    name: 'help',
    description: 'How to use Atelier',
    type: ApplicationCommandType.ChatInput,
  }) satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

export function helpText(modelNames: string[]): string {
  // Discord takes 2,000 characters; the model list is the only part that grows with the setup.
  const models = modelNames.join(', ');
  return [
    '## Atelier — pictures, made together',
    '**`/imagine prompt:`** turns words into pictures: `negative`, ' +
      `\`aspect\` (${aspectRatios.join(', ')}), \`seed\`, \`count\` (1–4), \`model\` (${models.length > 300 ? `${models.slice(0, 297)}…` : models}).`,
    'Flags in the prompt: `--ar 16:9`, `--seed 42`, `--no trees`, `--chaos`, `--stylize`, `--tile`, `--draft`, `--sref <code>` (a slash option wins). ' +
      '`/settings`: your defaults and remix mode.',
    'A visible **Queued** message shows your place, then progress, then the picture.',
    '**On a result:** 🔁 **Reroll** · **U1–U4** one picture, upscaled · **V1–V4** variations · ✖ **Cancel** (you or a moderator). ' +
      'On one picture: ⬅➡⬆⬇ pan · 🔍 zoom out · ⬛ square · **Vary** (Subtle, Strong, Region).',
    '**👍 Vote** (not your own) · **🔀 Remix** · **🌳 Family** · **🗑** (you or a moderator). Any picture: right-click → Apps → **Remix this image**. ' +
      '`/top`, `/profile`, `/lineage`: the best, the numbers, the trees.',
    '`/blend` mixes 2–5 pictures; `/describe` suggests prompts for one.',
    '`/queue` (your pictures, with Cancel) · `/quota` (what is left today) · `/gallery` (the server’s gallery on the web).',
    '**Together:** `/series create` starts a strip or storyboard in a thread (`/series add`, **📚 Add to series**); ' +
      '`/challenge status`, **🏆 Submit to challenge** and `/leaderboard` for the weekly theme; `/session start` runs a live jam.',
    '**Admins:** `/config` (Manage Server): channels, limits, blocklist, NSFW; `/mod` (Manage Messages) bans a member. ' +
      '`/privacy delete-my-data` removes everything of yours.',
    'Prompts: up to 1,000 characters. Mentions in prompts never ping anyone.',
  ].join('\n');
}

async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext) {
  await interaction.reply({
    content: helpText(ctx.models.map((model) => model.name)),
    flags: MessageFlags.Ephemeral,
    allowedMentions: noMentions,
  });
}

export default { data, execute } satisfies ChatInputCommand;
