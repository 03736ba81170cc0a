import { ButtonStyle, ComponentType, MessageFlags, type ButtonInteraction } from 'discord.js';
import { castVote, challengeTakingEntries, submitEntry, submittedText, type Member } from '../../challenges/actions.js';
import { challengeSubmitId, parseChallengeButton } from '../../challenges/ids.js';
import type { BotContext } from '../context.js';
import { noMentions } from '../messages.js';
import { InvalidRequestError } from '../prompt.js';
import { inThisServer } from '../server-scope.js';
import type { ComponentHandler } from './index.js';

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
  // The custom_id only names a job: whose it is and which pictures it made come from the store.
  const record = await ctx.jobs.get(jobId);
  if (!record || record.status !== 'delivered' || !inThisServer(record, member)) throw new InvalidRequestError('I no longer know that picture.');
  if (record.userId !== member.userId) throw new InvalidRequestError('Only the person who made this picture can enter it.');
  await challengeTakingEntries(ctx, member);
  if (image === undefined && record.imageIds.length > 1) {
    // Several pictures on one result: ask which, privately.
    await interaction.reply({
      content: 'Which picture do you want to enter?',
      components: [
        {
          type: ComponentType.ActionRow,
          components: record.imageIds.map((_, index) => ({
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
  const imageId = record.imageIds[(image ?? 1) - 1];
  if (!imageId) throw new InvalidRequestError(`There is no picture ${image} on that message.`);
  const submitted = await submitEntry(ctx, member, imageId);
  await replyPrivately(interaction, submittedText(submitted));
}

function replyPrivately(interaction: ButtonInteraction, content: string) {
  return interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: noMentions });
}
