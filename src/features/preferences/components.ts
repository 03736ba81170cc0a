import {
  ButtonStyle,
  ComponentType,
  MessageFlags,
  TextInputStyle,
  type APIActionRowComponent,
  type APIComponentInMessageActionRow,
  type APIModalInteractionResponseCallbackData,
  type APISelectMenuOption,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type MessageComponentInteraction,
  type ModalSubmitInteraction,
} from 'discord.js';
import { aspectRatios } from '../../queues.js';
import type { BotContext } from '../../bot/context.js';
import type { ComponentHandler } from '../../bot/components/index.js';
import { noMentions } from '../../bot/messages.js';
import { InvalidRequestError } from '../../bot/prompt.js';
import { readPreferences, writePreference, type PreferenceChange, type Preferences } from './store.js';

/**
 * The /settings panel: a private message of select menus, one per default. Every custom_id names
 * the member the panel belongs to ("prefs:<field>:<user id>"); a click or a form from anyone else
 * (a forged custom_id) is refused, and every value is checked again here, whatever Discord sent.
 */
type PanelField = 'model' | 'aspect' | 'count' | 'remix' | 'style' | 'clearstyle' | 'stylecode';

const panelId = (field: PanelField, userId: string) => `prefs:${field}:${userId}`;
const idPattern = /^prefs:(model|aspect|count|remix|style|clearstyle|stylecode):(\d{15,20})$/;

export function parsePanelId(customId: string): { field: PanelField; userId: string } | undefined {
  const match = idPattern.exec(customId);
  return match ? { field: match[1] as PanelField, userId: match[2]! } : undefined;
}

/** Value of the "no default" option in each menu (not a valid model, aspect or count). */
const NONE = '-';
const STYLE_CODE = /^[A-Za-z0-9_-]{1,32}$/;
/** Discord allows 25 options per menu; one is "no default". */
const MAX_MODEL_OPTIONS = 24;

export function describePreferences(prefs: Preferences): string {
  const lines = [
    `Model: ${prefs.model ? `\`${prefs.model}\`` : "the server's default"}`,
    `Aspect: ${prefs.aspect ?? '1:1 (the usual)'}`,
    `Pictures per request: ${prefs.count ?? '1 (the usual)'}`,
    `Style code: ${prefs.styleCode ? `\`${prefs.styleCode}\`` : 'none'}`,
    `Remix mode: ${prefs.remix ? 'on: V1–V4, Reroll and Vary let you edit the prompt first' : 'off'}`,
  ];
  return `⚙️ **Your defaults** (only you see this; they apply wherever you leave an option out)\n${lines.map((line) => `• ${line}`).join('\n')}`;
}

export function preferencesPanel(ctx: BotContext, userId: string, prefs: Preferences) {
  const select = (field: PanelField, placeholder: string, options: APISelectMenuOption[]): APIActionRowComponent<APIComponentInMessageActionRow> => ({
    type: ComponentType.ActionRow,
    components: [{ type: ComponentType.StringSelect, custom_id: panelId(field, userId), placeholder, options, min_values: 1, max_values: 1 }],
  });
  const option = (label: string, value: string, current: string | undefined): APISelectMenuOption => ({
    label,
    value,
    default: value === (current ?? NONE),
  });
  const models = ctx.models.slice(0, MAX_MODEL_OPTIONS).map((model) => model.name);
  return {
    content: describePreferences(prefs),
    allowedMentions: noMentions,
    components: [
      select('model', 'Default model', [option("The server's default", NONE, prefs.model), ...models.map((name) => option(name, name, prefs.model))]),
      select('aspect', 'Default aspect', [
        option('No default (1:1)', NONE, prefs.aspect),
        ...aspectRatios.map((ratio) => option(ratio, ratio, prefs.aspect)),
      ]),
      select('count', 'Default number of pictures', [
        option('No default (1)', NONE, prefs.count?.toString()),
        ...[1, 2, 3, 4].map((n) => option(`${n} ${n === 1 ? 'picture' : 'pictures'}`, String(n), prefs.count?.toString())),
      ]),
      select('remix', 'Remix mode', [
        option('Remix mode off', 'off', prefs.remix ? 'on' : 'off'),
        option('Remix mode on: edit the prompt before V1–V4, Reroll and Vary', 'on', prefs.remix ? 'on' : 'off'),
      ]),
      {
        type: ComponentType.ActionRow,
        components: [
          { type: ComponentType.Button, custom_id: panelId('style', userId), label: '🎨 Set style code…', style: ButtonStyle.Secondary },
          {
            type: ComponentType.Button,
            custom_id: panelId('clearstyle', userId),
            label: 'Clear style code',
            style: ButtonStyle.Secondary,
            disabled: !prefs.styleCode,
          },
        ],
      },
    ] satisfies APIActionRowComponent<APIComponentInMessageActionRow>[],
  };
}

/** /settings: the member's own panel, privately. */
export async function showPreferences(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const prefs = await readPreferences(ctx.db, interaction.user.id);
  await interaction.reply({ ...preferencesPanel(ctx, interaction.user.id, prefs), flags: MessageFlags.Ephemeral });
}

function styleCodeModal(userId: string, current: string | undefined): APIModalInteractionResponseCallbackData {
  return {
    custom_id: panelId('stylecode', userId),
    title: 'Default style code',
    components: [
      {
        type: ComponentType.Label,
        label: 'Style code',
        description: 'Letters, digits, - and _ (up to 32). Used when you give no style reference.',
        component: {
          type: ComponentType.TextInput,
          custom_id: 'code',
          style: TextInputStyle.Short,
          value: current,
          required: true,
          min_length: 1,
          max_length: 32,
        },
      },
    ],
  };
}

/** The change a menu's value asks for, if it is one the panel offers (forged values are refused). */
function changeFrom(ctx: BotContext, field: 'model' | 'aspect' | 'count' | 'remix', value: string | undefined): PreferenceChange {
  const refuse = () => new InvalidRequestError('That is not one of the choices on the panel. Open it again with `/settings`.');
  if (value === undefined) throw refuse();
  switch (field) {
    case 'model':
      if (value !== NONE && !ctx.models.some((model) => model.name === value)) throw refuse();
      return { field, value: value === NONE ? null : value };
    case 'aspect':
      if (value !== NONE && !(aspectRatios as readonly string[]).includes(value)) throw refuse();
      return { field, value: value === NONE ? null : value };
    case 'count':
      if (value !== NONE && !['1', '2', '3', '4'].includes(value)) throw refuse();
      return { field, value: value === NONE ? null : Number(value) };
    case 'remix':
      if (value !== 'on' && value !== 'off') throw refuse();
      return { field, value: value === 'on' };
  }
}

async function redraw(interaction: MessageComponentInteraction | ModalSubmitInteraction, ctx: BotContext): Promise<void> {
  const prefs = await readPreferences(ctx.db, interaction.user.id);
  const panel = preferencesPanel(ctx, interaction.user.id, prefs);
  if (interaction.isModalSubmit() && !interaction.isFromMessage()) {
    await interaction.reply({ ...panel, flags: MessageFlags.Ephemeral });
    return;
  }
  await (interaction as ButtonInteraction).update(panel);
}

export const preferencesComponents: ComponentHandler = {
  prefix: 'prefs',
  async handle(interaction, ctx) {
    const id = parsePanelId(interaction.customId);
    if (!id) return false;
    if (id.userId !== interaction.user.id) {
      throw new InvalidRequestError('That settings panel belongs to someone else. Open your own with `/settings`.');
    }
    switch (id.field) {
      case 'model':
      case 'aspect':
      case 'count':
      case 'remix':
        if (!interaction.isStringSelectMenu()) return false;
        if (interaction.values.length !== 1) throw new InvalidRequestError('Pick exactly one choice.');
        await writePreference(ctx.db, interaction.user.id, changeFrom(ctx, id.field, interaction.values[0]));
        break;
      case 'style': {
        if (!interaction.isButton()) return false;
        const prefs = await readPreferences(ctx.db, interaction.user.id);
        await interaction.showModal(styleCodeModal(interaction.user.id, prefs.styleCode));
        return true;
      }
      case 'clearstyle':
        if (!interaction.isButton()) return false;
        await writePreference(ctx.db, interaction.user.id, { field: 'styleCode', value: null });
        break;
      case 'stylecode': {
        if (!interaction.isModalSubmit()) return false;
        const code = interaction.fields.getTextInputValue('code').trim();
        if (!STYLE_CODE.test(code)) {
          throw new InvalidRequestError('A style code is 1 to 32 letters, digits, `-` or `_`, e.g. `a1b2c3`.');
        }
        await writePreference(ctx.db, interaction.user.id, { field: 'styleCode', value: code });
        break;
      }
    }
    await redraw(interaction, ctx);
    return true;
  },
};
