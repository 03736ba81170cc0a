import { ButtonStyle, ComponentType, type APIActionRowComponent, type APIButtonComponent, type APIComponentInMessageActionRow } from 'discord.js';

/**
 * custom_ids of the controls on a single picture (pan, zoom out, make square, vary) and of the
 * Vary (Region) form. Like every custom_id they only name a job, are parsed strictly, and the
 * handler re-reads and re-checks everything they name.
 */
export const editActions = ['panl', 'panr', 'panu', 'pand', 'zoom15', 'zoom2', 'square', 'subtle', 'strong', 'region'] as const;
export type EditAction = (typeof editActions)[number];

export type EditId = { kind: 'button'; action: EditAction; jobId: string } | { kind: 'region-form'; jobId: string };

export const editButtonId = (action: EditAction, jobId: string) => `edit:${action}:${jobId}`;
export const regionFormId = (jobId: string) => `edit:regionform:${jobId}`;

const pattern = new RegExp(`^edit:(${[...editActions, 'regionform'].join('|')}):(\\d{15,20})$`);

export function parseEditId(customId: string): EditId | undefined {
  const match = pattern.exec(customId);
  if (!match) return undefined;
  const [, action, jobId] = match as unknown as [string, EditAction | 'regionform', string];
  return action === 'regionform' ? { kind: 'region-form', jobId } : { kind: 'button', action, jobId };
}

const button = (customId: string, label: string): APIButtonComponent => ({
  type: ComponentType.Button,
  style: ButtonStyle.Secondary,
  custom_id: customId,
  label,
});

/** Two rows of controls for a result that holds one picture (within Discord's five rows of five). */
export function editRows(jobId: string): APIActionRowComponent<APIComponentInMessageActionRow>[] {
  return [
    {
      type: ComponentType.ActionRow,
      components: [
        button(editButtonId('panl', jobId), '⬅'),
        button(editButtonId('panr', jobId), '➡'),
        button(editButtonId('panu', jobId), '⬆'),
        button(editButtonId('pand', jobId), '⬇'),
        button(editButtonId('zoom15', jobId), '🔍 Zoom Out 1.5×'),
      ],
    },
    {
      type: ComponentType.ActionRow,
      components: [
        button(editButtonId('zoom2', jobId), '🔍 Zoom Out 2×'),
        button(editButtonId('square', jobId), '⬛ Make Square'),
        button(editButtonId('subtle', jobId), 'Vary (Subtle)'),
        button(editButtonId('strong', jobId), 'Vary (Strong)'),
        button(editButtonId('region', jobId), 'Vary (Region)'),
      ],
    },
  ];
}
