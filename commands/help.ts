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
  return [
    '## Atelier — pictures, made together',
    '**`/imagine prompt:`** turns your words into pictures. Options: `negative` (what to leave out), ' +
      `\`aspect\` (${aspectRatios.join(', ')}), \`seed\` (repeat a picture), \`count\` (1–4), \`model\` (${modelNames.join(', ')}).`,
    'Midjourney-style flags work inside the prompt too: `--ar 16:9`, `--seed 42`, `--no trees`, `--chaos`, `--stylize`, `--tile`, `--draft` (a slash option wins). ' +
      '`/settings`: your defaults, remix mode.',
    'You get a visible **Queued** message with your position; it fills in with progress, then with the picture.',
    '**Buttons on a result:** 🔁 **Reroll** (same prompt, new seed) · **U1–U4** send one picture alone, upscaled · ' +
      '**V1–V4** make variations of one picture · ✖ **Cancel** while it is waiting or drawing (you or a moderator).',
    'Buttons keep working for days; anyone in the channel can reroll, upscale or vary.',
    'One picture: ⬅➡⬆⬇ pan · 🔍 zoom out · ⬛ square · **Vary** (Subtle, Strong, Region).',
    '**👍 Vote** (one per picture set; not your own) · **🔀 Remix** (new prompt and strength from a picture) · **🌳 Family** (its family tree) · **🗑** (you or a moderator). ' +
      'Right-click any message with a picture → Apps → **Remix this image**. `/top`, `/profile` and `/lineage` show the best, the numbers and the trees.',
    '`/blend` mixes 2–5 pictures; `/describe` suggests prompts; `--sref <code>` borrows a style.',
    '**`/queue`** lists your waiting and running pictures, with Cancel buttons; **`/quota`** shows what you can still make today; **`/gallery`** links to the server’s gallery on the web.',
    '**Together:** `/series create` starts a comic strip, storyboard or exquisite corpse in a thread; `/series add` or **📚 Add to series** adds panels. ' +
      '`/challenge status` shows the weekly theme challenge; enter with **🏆 Submit to challenge**, and `/leaderboard` keeps the season score. ' +
      '`/session start` runs a live jam in a thread.',
    '**Admins:** `/config` (Manage Server) sets channels, limits, the blocklist and the NSFW policy; `/mod` (Manage Messages) bans a member from the bot. ' +
      '`/privacy delete-my-data` removes everything of yours.',
    'Prompts are limited to 1,000 characters. Mentions in prompts never ping anyone.',
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
