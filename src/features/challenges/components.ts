import { ButtonStyle, ComponentType, MessageFlags, type ButtonInteraction } from 'discord.js';
import type { ComponentHandler } from '../../bot/components/index.js';
import type { BotContext } from '../../bot/context.js';
import { noMentions } from '../../bot/messages.js';
import { InvalidRequestError } from '../../bot/prompt.js';
import { inThisServer } from '../../bot/server-scope.js';
import { castVote, challengeTakingEntries, submitEntry, submittedText, type Member } from './actions.js';
import { challengeSubmitId, parseChallengeButton } from './ids.js';
import { archivedPicturesOf } from './pictures.js';

/** 🏆 Submit to challenge on one's own result, and the 🗳 vote buttons of a challenge's gallery. */
export const challengeComponents: ComponentHandler = {
  prefix: 'challenge',
  async handle(interaction, ctx) {
    const button = parseChallengeButton(interaction.customId);
    if (!button || !interaction.isButton()) return false;
    const member: Member = { userId: interaction.user.id, guildId: interaction.guildId };
    if (button.action === 'vote') {
      await castVote(ctx, member, button.challengeId, button.entryId);
      await replyPrivately(interaction, `🗳 Your vote for entry **#${button.entryId}** is in.`);
    } else {
      await submitFromResult(interaction, ctx, member, button.jobId, button.image);
    }
    return true;
  },
};

async function submitFromResult(interaction: ButtonInteraction, ctx: BotContext, member: Member, jobId: string, image: number | undefined) {
  // The custom_id only names a request: whose it is and which pictures it made come from the
  // archive, which keeps them as long as the pictures exist (the live job record may be long gone).
  const pictures = await archivedPicturesOf(ctx, jobId);
  const owner = pictures[0];
  if (!owner || pictures.every((picture) => picture.deleted) || !inThisServer(owner, member))
    throw new InvalidRequestError('I no longer know that picture.');
  if (owner.userId !== member.userId) throw new InvalidRequestError('Only the person who made this picture can enter it.');
  await challengeTakingEntries(ctx, member);
  if (image === undefined && pictures.length > 1) {
    // Several pictures on one result: ask which, privately.
    await interaction.reply({
      content: 'Which picture do you want to enter?',
      components: [
        {
          type: ComponentType.ActionRow,
          components: pictures.map((_, index) => ({
            type: ComponentType.Button as const,
            style: ButtonStyle.Secondary as const,
            custom_id: challengeSubmitId(jobId, index + 1),
            label: `🏆 ${index + 1}`,
          })),
        },
      ],
      flags: MessageFlags.Ephemeral,
      allowedMentions: noMentions,
    });
    return;
  }
  const imageId = pictures[(image ?? 1) - 1]?.id;
  if (!imageId) throw new InvalidRequestError(`There is no picture ${image} on that message.`);
  const submitted = await submitEntry(ctx, member, imageId);
  await replyPrivately(interaction, submittedText(submitted));
}

function replyPrivately(interaction: ButtonInteraction, content: string) {
  return interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: noMentions });
}
