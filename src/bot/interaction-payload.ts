import type { APIInteraction, BaseInteraction } from 'discord.js';

/** What an interaction's own payload says about its channel (Discord sends it with every interaction). */
export interface PayloadChannel {
  type?: number;
  /** Absent for threads: a thread has no age restriction of its own, its parent's applies. */
  nsfw?: boolean;
  /** Threads: the channel they live in. */
  parentId?: string;
}

/**
 * The channel facts of each interaction object, taken from its raw payload. discord.js keeps
 * interaction channels only in its (trimmed) channel cache, and in HTTP mode has no guilds to
 * attach them to; the payload always has them. Keyed weakly by the interaction object, so an
 * entry lives exactly as long as the interaction it describes.
 */
const channels = new WeakMap<BaseInteraction, PayloadChannel>();

export function rememberPayloadChannel(interaction: BaseInteraction, channel: PayloadChannel): void {
  channels.set(interaction, channel);
}

export function payloadChannel(interaction: BaseInteraction): PayloadChannel | undefined {
  return channels.get(interaction);
}

/** The facts of a raw payload's `channel` field. */
export function channelFacts(payload: Pick<APIInteraction, 'channel'>): PayloadChannel | undefined {
  const channel = payload.channel as { type?: unknown; nsfw?: unknown; parent_id?: unknown } | undefined;
  if (!channel) return undefined;
  return {
    type: typeof channel.type === 'number' ? channel.type : undefined,
    nsfw: typeof channel.nsfw === 'boolean' ? channel.nsfw : undefined,
    parentId: typeof channel.parent_id === 'string' ? channel.parent_id : undefined,
  };
}

/**
 * Raw interaction payloads between their arrival (gateway dispatch or HTTP POST) and the
 * InteractionCreate event discord.js emits for them, in the same tick.
 */
export class PendingPayloads {
  private readonly pending = new Map<string, PayloadChannel>();

  add(payload: APIInteraction): void {
    const facts = channelFacts(payload);
    if (!facts) return;
    this.pending.set(payload.id, facts);
    // discord.js emits the event synchronously after the raw packet; one it drops (a channel type
    // it ignores) must not stay here.
    setImmediate(() => this.pending.delete(payload.id));
  }

  /** Attaches the payload's channel facts to the interaction discord.js built from it. */
  attach(interaction: BaseInteraction): void {
    const facts = this.pending.get(interaction.id);
    if (!facts) return;
    this.pending.delete(interaction.id);
    rememberPayloadChannel(interaction, facts);
  }
}
