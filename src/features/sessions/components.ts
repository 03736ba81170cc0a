import { ComponentType, MessageFlags, TextInputStyle, type ButtonInteraction, type ModalSubmitInteraction } from 'discord.js';
import type { ComponentHandler } from '../../bot/components/index.js';
import type { BotContext } from '../../bot/context.js';
import { noMentions } from '../../bot/messages.js';
import { InvalidRequestError } from '../../bot/prompt.js';
import { PROMPT_MAX } from '../../queues.js';
import { enterSession, refusalText } from './entries.js';
import { parseSessionComponent, sessionEntryFormId } from './ids.js';
import type { Session, VoteResult } from './store.js';

/** 🎨 Enter (and its form) on a session panel, and the 🗳 buttons of a round's vote. */
export const sessionComponents: ComponentHandler = {
  prefix: 'session',
  async handle(interaction, ctx) {
    const component = parseSessionComponent(interaction.customId);
    if (!component) return false;
    const session = await sessionHere(ctx, component.sessionId, interaction.guildId);
    if (component.action === 'vote' && interaction.isButton()) {
      const result = await ctx.sessions.vote(session.id, component.round, component.entry, interaction.user.id, ctx.now());
      await replyPrivately(interaction, voteAnswer(result, component.round, component.entry));
      return true;
    }
    if (component.action === 'enter' && interaction.isButton()) {
      await openEntryForm(interaction, session);
      return true;
    }
    if (component.action === 'entry' && interaction.isModalSubmit()) {
      // The form answers where it was opened: the session's own thread.
      if (interaction.channelId !== session.threadId) throw new InvalidRequestError(`Enter from the session's thread, <#${session.threadId}>.`);
      await enterSession(interaction, ctx, session, { prompt: field(interaction, 'prompt') ?? '' });
      return true;
    }
    return false;
  },
};

/** The session, if it belongs to this server: another server's answers like one that does not exist. */
async function sessionHere(ctx: BotContext, sessionId: string, guildId: string | null): Promise<Session> {
  const session = await ctx.sessions.get(sessionId);
  if (!session || session.guildId !== guildId) throw new InvalidRequestError('I do not know that session.');
  return session;
}

async function openEntryForm(interaction: ButtonInteraction, session: Session) {
  if (session.phase !== 'entries' || session.pausedAt) {
    throw new InvalidRequestError(refusalText({ ok: false, reason: session.pausedAt && session.phase !== 'ended' ? 'paused' : 'closed', session }));
  }
  await interaction.showModal({
    custom_id: sessionEntryFormId(session.id),
    title: `Round ${session.round} entry`,
    components: [
      {
        type: ComponentType.ActionRow,
        components: [
          {
            type: ComponentType.TextInput,
            custom_id: 'prompt',
            label: 'Your prompt',
            style: TextInputStyle.Paragraph,
            required: true,
            max_length: PROMPT_MAX,
            placeholder: 'What do you make of the theme and the twist?',
          },
        ],
      },
    ],
  });
}

function field(interaction: ModalSubmitInteraction, id: string): string | undefined {
  try {
    return interaction.fields.getTextInputValue(id);
  } catch {
    return undefined;
  }
}

export function voteAnswer(result: VoteResult, round: number, entry: number): string {
  if (result.ok) return `🗳 Your vote for entry **#${entry}** of round ${round} is in.`;
  switch (result.reason) {
    case 'missing':
      return 'I do not know that session.';
    case 'closed':
      return `Voting for round ${round} is not open${result.session?.pausedAt ? ' (the session is paused)' : ''}.`;
    case 'no_entry':
      return `There is no entry #${entry} to vote for in round ${round}.`;
    case 'own':
      return 'That is your own entry: vote for someone else’s.';
    case 'already':
      return `You already voted in round ${round}${result.votedFor ? ` (for #${result.votedFor})` : ''}: one vote per member per round.`;
  }
}

function replyPrivately(interaction: ButtonInteraction, content: string) {
  return interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: noMentions });
}
