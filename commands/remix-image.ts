import {
  ApplicationCommandType,
  ApplicationIntegrationType,
  InteractionContextType,
  type Attachment,
  type Message,
  type MessageContextMenuCommandInteraction,
  type RESTPostAPIContextMenuApplicationCommandsJSONBody,
} from 'discord.js';
import { assertDownloadableImage } from '../src/bot/attachments.js';
import type { Command } from '../src/bot/command.js';
import { remixModal } from '../src/bot/components/community.js';
import { remixImageModalId, remixUploadModalId } from '../src/bot/components/community-ids.js';
import type { BotContext } from '../src/bot/context.js';
import { InvalidRequestError } from '../src/bot/prompt.js';
import { pictureIdOfFile, picturesShownOn } from '../src/bot/result-files.js';
import { inThisServer } from '../src/bot/server-scope.js';

export const REMIX_IMAGE_COMMAND = 'Remix this image';

const data = () =>
  ({
    name: REMIX_IMAGE_COMMAND,
    type: ApplicationCommandType.Message,
    contexts: [InteractionContextType.Guild],
    integration_types: [ApplicationIntegrationType.GuildInstall],
  }) satisfies RESTPostAPIContextMenuApplicationCommandsJSONBody;

const isImage = (attachment: Attachment) => /^image\//.test(attachment.contentType ?? '') || /\.(png|jpe?g|webp|gif)$/i.test(attachment.name);

/**
 * "Remix this image" on any message with a picture: Atelier's own results remix the picture
 * itself (so the family stays connected); anything else is recorded as an upload by the message's
 * author and becomes the root of a new family once the form is sent (see submitRemix).
 */
async function execute(interaction: MessageContextMenuCommandInteraction, ctx: BotContext) {
  const message = interaction.targetMessage;
  const attachments = [...message.attachments.values()].filter(isImage);
  if (attachments.length === 0) throw new InvalidRequestError('That message has no picture I could remix.');

  const own = await atelierImageOf(ctx, message, attachments);
  // Message ids are global: a picture recorded in another server stays out of reach from here.
  if (own && !inThisServer(own, interaction)) throw new InvalidRequestError('I no longer know that picture.');
  if (own) {
    if (own.deletedAt) throw new InvalidRequestError('That picture was deleted; it cannot be remixed.');
    await interaction.showModal(remixModal(remixImageModalId(own.id), own.prompt, 1));
    return;
  }

  const attachment = attachments[0]!;
  assertDownloadableImage(attachment.url, ctx.cdnHosts, { contentType: attachment.contentType, size: attachment.size });
  // Nothing is kept yet: a form opened and dismissed leaves no trace.
  await interaction.showModal(remixModal(remixUploadModalId(message.id, attachment.id), '', 1));
}

/** The Atelier image a message shows, when it is one of our results (matched by file name). */
async function atelierImageOf(ctx: BotContext, message: Message, attachments: Attachment[]) {
  const known = await ctx.lineage.imagesOfMessage(message.id);
  if (known.length === 0) {
    // Posted a moment ago: the archive does not know its message yet, the message itself tells.
    const [posted] = picturesShownOn(ctx, message);
    return posted === undefined ? undefined : ctx.images.getRecord(posted);
  }
  for (const attachment of attachments) {
    const id = pictureIdOfFile(attachment.name);
    if (id && known.includes(id)) return ctx.images.getRecord(id);
  }
  return ctx.images.getRecord(known[0]!);
}

export default { data, execute } satisfies Command<MessageContextMenuCommandInteraction>;
