import { ChannelType, type BaseInteraction } from 'discord.js';
import type { ImageRecord } from '../features/pictures/images.js';
import { fetchChannel } from './channels.js';
import { payloadChannel } from './interaction-payload.js';
import type { BotContext } from './context.js';

const threadTypes: ReadonlySet<ChannelType> = new Set([ChannelType.PublicThread, ChannelType.PrivateThread, ChannelType.AnnouncementThread]);

/**
 * Pictures made in an age-restricted (NSFW) channel are shown only in age-restricted channels:
 * views that post pictures elsewhere (/top, /profile, family trees, series, challenges) leave them
 * out. A thread is as restricted as the channel it lives in.
 *
 * Where a flag cannot be known (Discord does not answer), the two directions fail safe in
 * opposite ways: a picture's origin counts as restricted (it is shown in fewer places), a
 * destination counts as ordinary (it shows fewer pictures).
 */
export class AgeRestriction {
  /** Per view: a list of pictures often shares channels, and each is asked of Discord once. */
  private readonly channels = new Map<string, Promise<boolean | undefined>>();

  constructor(private readonly ctx: BotContext) {}

  /** Whether a channel (for a thread: its parent) is age-restricted; undefined when Discord cannot tell. */
  channel(channelId: string): Promise<boolean | undefined> {
    let known = this.channels.get(channelId);
    if (!known) {
      known = this.lookUp(channelId).catch((error: unknown) => {
        this.ctx.logger.warn({ err: error, channelId }, 'could not tell whether a channel is age-restricted');
        return undefined;
      });
      this.channels.set(channelId, known);
    }
    return known;
  }

  private async lookUp(channelId: string): Promise<boolean | undefined> {
    const channel = await fetchChannel(this.ctx, channelId);
    if (!channel) return undefined;
    // Threads carry no flag of their own: their parent's applies.
    if (threadTypes.has(channel.type)) return 'parent_id' in channel && channel.parent_id ? this.channel(channel.parent_id) : undefined;
    return 'nsfw' in channel ? Boolean(channel.nsfw) : false;
  }

  /**
   * Whether a picture was made in an age-restricted channel. Records written before pictures
   * carried the flag have none: their channel decides, as it is now.
   */
  async picture(image: Pick<ImageRecord, 'nsfw' | 'channelId'>): Promise<boolean> {
    if (image.nsfw !== undefined) return image.nsfw;
    return (await this.channel(image.channelId)) ?? false;
  }

  /** Whether a picture may be shown in a channel that is (or is not) age-restricted. */
  async mayShow(image: Pick<ImageRecord, 'nsfw' | 'channelId'>, destinationRestricted: boolean): Promise<boolean> {
    return destinationRestricted || !(await this.picture(image));
  }

  /** A destination channel (a series' or challenge's): unknown counts as ordinary. */
  async destination(channelId: string): Promise<boolean> {
    return (await this.channel(channelId)) ?? false;
  }

  /**
   * Whether the channel an interaction came from is age-restricted, from the interaction's own
   * payload (its `channel.nsfw`). A thread's payload carries no flag: its parent's is asked of
   * Discord (once per view). The client's channel cache is not needed: it is trimmed, and HTTP
   * interactions have none. `unknown` is the answer when nothing can tell (see the class comment).
   */
  async ofInteraction(interaction: BaseInteraction, unknown: boolean): Promise<boolean> {
    const payload = payloadChannel(interaction);
    if (payload?.type !== undefined && threadTypes.has(payload.type)) {
      return payload.parentId ? ((await this.channel(payload.parentId)) ?? unknown) : unknown;
    }
    if (payload?.nsfw !== undefined) return payload.nsfw;
    const channel = interaction.channel;
    if (channel?.isThread()) {
      const parent = channel.parent;
      if (parent && 'nsfw' in parent) return Boolean(parent.nsfw);
      return channel.parentId ? ((await this.channel(channel.parentId)) ?? unknown) : unknown;
    }
    if (channel && 'nsfw' in channel) return Boolean(channel.nsfw);
    return interaction.channelId ? ((await this.channel(interaction.channelId)) ?? unknown) : unknown;
  }
}

export const ageRestriction = (ctx: BotContext) => new AgeRestriction(ctx);
