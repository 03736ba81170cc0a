import { z } from 'zod';

/**
 * Per-server settings, stored as one JSON document per guild and validated on the way in and out.
 * Every field has a default, so a server that never ran /config behaves sensibly.
 */
export const guildSettingsSchema = z.object({
  /** Members may vote for their own images. */
  allowSelfVote: z.boolean().default(false),
  /** Entries one member may have in a challenge. */
  challengeMaxEntries: z.number().int().min(1).max(10).default(2),
  /** Channels where members may generate (threads count as their parent); empty: everywhere. */
  allowedChannels: z
    .array(z.string().regex(/^\d{1,20}$/))
    .max(50)
    .default([]),
  /** Pictures one member may have generating at once. */
  maxRunning: z.number().int().min(1).max(16).default(2),
  /** Requests one member may have waiting in the queue. */
  maxQueued: z.number().int().min(1).max(1000).default(10),
  /** Images one member may make per day (UTC); 0 means no limit. */
  dailyImages: z.number().int().min(0).max(100_000).default(100),
  /** Higher daily image quotas by role id (a member gets the highest that applies). */
  roleQuotas: z.record(z.string().regex(/^\d{1,20}$/), z.number().int().min(0).max(100_000)).default({}),
  /** Cost units (MODEL_COSTS) the whole server may spend per day (UTC); 0 means no limit. */
  dailyBudget: z.number().int().min(0).max(10_000_000).default(1000),
  /** The model /imagine uses when a member picks none (unset: the first configured one). */
  defaultModel: z.string().max(50).optional(),
  /** Words and /regular expressions/ refused in prompts, on top of the built-in list. */
  blocklist: z.array(z.string().min(1).max(100)).max(200).default([]),
  /** Where prompts the built-in list flags as NSFW may be generated. */
  nsfw: z.enum(['age-restricted', 'everywhere', 'nowhere']).default('age-restricted'),
  /** The web gallery is open read-only to everyone, not only to the server's members. */
  galleryPublic: z.boolean().default(false),
  /** Live sessions (/session) that may run at once on the server. */
  maxSessions: z.number().int().min(1).max(20).default(3),
});
export type GuildSettings = z.infer<typeof guildSettingsSchema>;
