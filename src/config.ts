import { z } from 'zod';

/**
 * Every setting Atelier reads from the environment. Names are part of the public interface
 * (README, .env.example, docker-compose.yml): keep them stable.
 */
const emptyAsUndefined = (value: unknown) => (value === '' ? undefined : value);
const optionalString = z.preprocess(emptyAsUndefined, z.string().optional());
const optionalUrl = z.preprocess(emptyAsUndefined, z.url().optional());
/** A TCP port to listen on; 0 turns the listener off. */
const listenPort = (fallback: number) => z.preprocess(emptyAsUndefined, z.coerce.number().int().min(0).max(65_535).default(fallback));

const providerNames = ['local', 'replicate', 'comfyui', 'openai'] as const;
export type ProviderName = (typeof providerNames)[number];

const envSchema = z.object({
  DISCORD_TOKEN: optionalString,
  DISCORD_APPLICATION_ID: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^\d{17,20}$/, 'must be a Discord snowflake id')
      .optional(),
  ),
  DISCORD_GUILD_ID: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^\d{17,20}$/, 'must be a Discord snowflake id')
      .optional(),
  ),
  DISCORD_API_URL: z.preprocess(emptyAsUndefined, z.url().default('https://discord.com/api')),
  DISCORD_CDN_URL: z.preprocess(emptyAsUndefined, z.url().default('https://cdn.discordapp.com')),
  /** The page a member's browser opens to approve a web login: Discord's, not a REST proxy's. */
  DISCORD_AUTHORIZE_URL: z.preprocess(emptyAsUndefined, z.url().default('https://discord.com/oauth2/authorize')),
  /** Requests per second the bot allows itself (Discord's global limit); raise it behind a rate-limiting REST proxy. */
  DISCORD_GLOBAL_RATE_LIMIT: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1).max(100_000).default(50)),
  REDIS_URL: optionalUrl,
  /** Redis Sentinel instead of REDIS_URL: the sentinels (`host:port,…`), watching REDIS_SENTINEL_NAME. */
  REDIS_SENTINELS: z.preprocess(emptyAsUndefined, z.string().transform(redisNodes).optional()),
  REDIS_SENTINEL_NAME: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^[\w.-]{1,100}$/, 'must be a Sentinel master name')
      .default('mymaster'),
  ),
  REDIS_SENTINEL_PASSWORD: optionalString,
  /** Redis Cluster instead of REDIS_URL: some of its nodes (`host:port,…`); the others are discovered. */
  REDIS_CLUSTER_NODES: z.preprocess(emptyAsUndefined, z.string().transform(redisNodes).optional()),
  /** Password of the Redis servers found through REDIS_SENTINELS or REDIS_CLUSTER_NODES (REDIS_URL carries its own). */
  REDIS_PASSWORD: optionalString,
  /** Namespace of every Redis key and BullMQ queue; default `{atelier}` (see README: Redis Cluster / Sentinel). */
  REDIS_PREFIX: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^[\w{}.-]{1,64}$/, 'must be letters, digits, braces, dots, dashes or underscores')
      .optional(),
  ),
  /** Where the bot hears interactions: `gateway` (default, sharded) or `http` (Discord POSTs them to /interactions). */
  INTERACTIONS: z.preprocess(emptyAsUndefined, z.enum(['gateway', 'http']).default('gateway')),
  /** The application's public key (developer portal), which signs the POSTs of INTERACTIONS=http. */
  DISCORD_PUBLIC_KEY: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'must be the application public key: 64 hexadecimal digits')
      .optional(),
  ),
  /** The public https URL of /interactions; `npm run deploy-commands` registers it with Discord. */
  INTERACTIONS_URL: z.preprocess(emptyAsUndefined, z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional()),
  /** Total gateway shards of the bot (every process the same); default: what Discord recommends. */
  SHARD_COUNT: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1).max(100_000).optional()),
  /** The shards this process runs (`0,1` or `0-3`); default: all of them. */
  SHARD_IDS: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .transform((raw, ctx) => {
        try {
          return parseShardIds(raw);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
          return z.NEVER;
        }
      })
      .optional(),
  ),
  IMAGE_PROVIDER: z.preprocess(emptyAsUndefined, z.enum(providerNames).default('local')),
  IMAGE_MODELS: optionalString,
  MODEL_COSTS: optionalString,
  /** Cost units the whole installation may spend per UTC day, across every server; 0: no cap. */
  OPERATOR_DAILY_BUDGET: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(0).max(1_000_000_000).default(0)),
  /** `burst/seconds`: requests for pictures one member may send at once, and how long the bucket takes to refill. */
  COMMAND_RATE_LIMIT: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^\d{1,4}\/\d{1,5}$/, 'must be burst/seconds, e.g. 5/10')
      .default('5/10'),
  ),
  /** `burst/seconds`: every other command, button and form (votes, views, settings). */
  INTERACTION_RATE_LIMIT: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^\d{1,4}\/\d{1,5}$/, 'must be burst/seconds, e.g. 30/30')
      .default('30/30'),
  ),
  REPLICATE_API_TOKEN: optionalString,
  REPLICATE_BASE_URL: z.preprocess(emptyAsUndefined, z.url().default('https://api.replicate.com/v1')),
  REPLICATE_IMG2IMG_MODEL: z.preprocess(emptyAsUndefined, z.string().default('black-forest-labs/flux-dev')),
  REPLICATE_UPSCALE_MODEL: z.preprocess(emptyAsUndefined, z.string().default('nightmareai/real-esrgan')),
  /** Pan, zoom out, make square and Vary (Region): an inpainting model (image + mask + prompt). */
  REPLICATE_INPAINT_MODEL: z.preprocess(emptyAsUndefined, z.string().default('black-forest-labs/flux-fill-dev')),
  /** --draft runs here (a fast model); --tile runs on a model made for seamless textures. */
  REPLICATE_DRAFT_MODEL: z.preprocess(emptyAsUndefined, z.string().default('black-forest-labs/flux-schnell')),
  REPLICATE_TILE_MODEL: z.preprocess(emptyAsUndefined, z.string().default('tstramer/material-diffusion')),
  /** /blend with multi-image conditioning (a model taking `image_input`: a list); unset: an averaged init and img2img. */
  REPLICATE_BLEND_MODEL: optionalString,
  /** /describe: an image captioning model (takes `image`, answers text); unset: /describe is not offered. */
  REPLICATE_CAPTION_MODEL: optionalString,
  REPLICATE_POLL_MS: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(10).max(60_000).default(1000)),
  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: z.preprocess(emptyAsUndefined, z.url().default('https://api.openai.com/v1')),
  COMFYUI_URL: optionalUrl,
  COMFYUI_WORKFLOW_DIR: z.preprocess(emptyAsUndefined, z.string().default('workflows')),
  COMFYUI_POLL_MS: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(10).max(60_000).default(1000)),
  WORKER_CONCURRENCY: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1).max(64).default(2)),
  WORKER_LOCK_MS: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1000).max(600_000).default(30_000)),
  IMAGE_STORE_DIR: z.preprocess(emptyAsUndefined, z.string().default('data/images')),
  /**
   * The folder IMAGE_STORE_DIR is the same for the bot and every worker (one machine, or a shared
   * volume): workers then hand over only the key, not the bytes through Redis. Ignored with S3.
   */
  IMAGE_STORE_SHARED: z.preprocess(
    emptyAsUndefined,
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' })
      .default('false')
      .transform((value) => ['true', '1', 'yes'].includes(value)),
  ),
  /** PostgreSQL server; unset: the embedded database with its files in ./data/postgres. */
  DATABASE_URL: z.preprocess(emptyAsUndefined, z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// URL' }).optional()),
  /** Image bytes in an S3-compatible bucket instead of IMAGE_STORE_DIR (AWS S3, R2, MinIO, Garage, SeaweedFS). */
  S3_BUCKET: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name')
      .optional(),
  ),
  S3_ENDPOINT: optionalUrl,
  S3_REGION: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^[a-z0-9-]{1,32}$/, 'must be a region name such as us-east-1 or auto')
      .default('us-east-1'),
  ),
  S3_ACCESS_KEY_ID: optionalString,
  S3_SECRET_ACCESS_KEY: optionalString,
  S3_FORCE_PATH_STYLE: z.preprocess(
    emptyAsUndefined,
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' })
      .default('false')
      .transform((value) => ['true', '1', 'yes'].includes(value)),
  ),
  /** HTTP server of `npm start` and the bot: /healthz, /readyz, /metrics (later the gallery). */
  WEB_PORT: listenPort(8080),
  /** "Login with Discord" (the queue dashboard, later the gallery): the application's OAuth2 client secret. */
  DISCORD_CLIENT_SECRET: optionalString,
  /** Where people reach the web server; the login's redirect URL is this + /auth/callback. */
  WEB_PUBLIC_URL: z.preprocess(
    emptyAsUndefined,
    z
      .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
      .transform((url) => url.replace(/\/+$/, ''))
      .optional(),
  ),
  /** Signs the login cookies; a long random string (openssl rand -base64 48). */
  SESSION_SECRET: z.preprocess(emptyAsUndefined, z.string().min(32, 'must be at least 32 characters (openssl rand -base64 48)').optional()),
  /** Discord user ids (comma-separated) who may open the queue dashboard besides the application's owner or team. */
  ADMIN_USER_IDS: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^\s*\d{17,20}\s*(,\s*\d{17,20}\s*)*,?\s*$/, 'must be Discord user ids separated by commas')
      .transform((raw) =>
        raw
          .split(',')
          .map((id) => id.trim())
          .filter(Boolean),
      )
      .default([]),
  ),
  /** A worker alone (`npm run worker`) serves /healthz, /readyz and /metrics here. */
  METRICS_PORT: listenPort(9464),
  LOG_LEVEL: z.preprocess(emptyAsUndefined, z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')),
});

export interface ModelChoice {
  /** What members pick in `/imagine model:`. */
  name: string;
  /** What the provider runs: a Replicate model ref, a ComfyUI checkpoint, an OpenAI image model, or a local style. */
  ref: string;
  /** Cost units one image from this model takes from a server's daily budget (MODEL_COSTS; default 1). */
  cost?: number;
}

export type Config = ReturnType<typeof parseConfig>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const defaultModels: Record<ProviderName, string> = {
  local: 'painterly=painterly,geometric=geometric',
  replicate: 'flux-schnell=black-forest-labs/flux-schnell',
  comfyui: 'default=sd_xl_base_1.0.safetensors',
  openai: 'gpt-image-1=gpt-image-1',
};

/** `name=ref,name=ref`: the first one is the default. */
function parseModels(raw: string): ModelChoice[] {
  const models = raw
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const eq = entry.indexOf('=');
      const name = (eq === -1 ? entry : entry.slice(0, eq)).trim();
      const ref = (eq === -1 ? entry : entry.slice(eq + 1)).trim();
      if (!/^[\w.-]{1,50}$/.test(name) || !ref) throw new ConfigError(`IMAGE_MODELS: "${entry}" is not name=ref`);
      return { name, ref };
    });
  if (models.length === 0) throw new ConfigError('IMAGE_MODELS: lists no model');
  if (models.length > 25) throw new ConfigError('IMAGE_MODELS: Discord allows at most 25 choices');
  return models;
}

/** `name=cost,…` (costs of models named in IMAGE_MODELS); unlisted models cost 1 unit per image. */
function applyModelCosts(models: ModelChoice[], raw: string | undefined): ModelChoice[] {
  if (!raw) return models;
  const costs = new Map<string, number>();
  for (const entry of raw
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const match = /^([\w.-]{1,50})\s*=\s*(\d{1,6})$/.exec(entry);
    if (!match) throw new ConfigError(`MODEL_COSTS: "${entry}" is not name=cost (a whole number of units, 0 or more)`);
    if (!models.some((model) => model.name === match[1])) {
      throw new ConfigError(`MODEL_COSTS: "${match[1]}" is not one of the models (${models.map((model) => model.name).join(', ')})`);
    }
    costs.set(match[1]!, Number(match[2]));
  }
  return models.map((model) => (costs.has(model.name) ? { ...model, cost: costs.get(model.name) } : model));
}

function parseRateLimit(raw: string, variable: string): { burst: number; refillMs: number } {
  const [burst, seconds] = raw.split('/').map(Number) as [number, number];
  if (burst < 1 || seconds < 1) throw new ConfigError(`${variable}: burst and seconds must be at least 1`);
  return { burst, refillMs: seconds * 1000 };
}

/** Parses the environment once; a bad value throws a ConfigError that names the variable. */
export function parseConfig(env: NodeJS.ProcessEnv = process.env) {
  const result = envSchema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const values = result.data;
  if (values.IMAGE_PROVIDER === 'replicate' && !values.REPLICATE_API_TOKEN) {
    throw new ConfigError('REPLICATE_API_TOKEN: required when IMAGE_PROVIDER=replicate');
  }
  if (values.IMAGE_PROVIDER === 'openai' && !values.OPENAI_API_KEY) {
    throw new ConfigError('OPENAI_API_KEY: required when IMAGE_PROVIDER=openai');
  }
  if (values.IMAGE_PROVIDER === 'comfyui' && !values.COMFYUI_URL) {
    throw new ConfigError('COMFYUI_URL: required when IMAGE_PROVIDER=comfyui');
  }
  if (!values.S3_BUCKET) {
    const stray = (['S3_ENDPOINT', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'] as const).find((name) => values[name]);
    if (stray) throw new ConfigError(`S3_BUCKET: required when ${stray} is set (images go to IMAGE_STORE_DIR without it)`);
  }
  if (Boolean(values.S3_ACCESS_KEY_ID) !== Boolean(values.S3_SECRET_ACCESS_KEY)) {
    throw new ConfigError(
      values.S3_ACCESS_KEY_ID ? 'S3_SECRET_ACCESS_KEY: required with S3_ACCESS_KEY_ID' : 'S3_ACCESS_KEY_ID: required with S3_SECRET_ACCESS_KEY',
    );
  }
  if (values.SHARD_IDS && values.SHARD_COUNT) {
    const outside = values.SHARD_IDS.filter((id) => id >= values.SHARD_COUNT!);
    if (outside.length > 0) throw new ConfigError(`SHARD_IDS: shard ${outside.join(', ')} is not below SHARD_COUNT (${values.SHARD_COUNT})`);
  }
  const redisTargets = (['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'] as const).filter((name) => values[name]);
  if (redisTargets.length > 1) throw new ConfigError(`${redisTargets[1]}: set only one of ${redisTargets.join(' and ')}`);
  if (values.REDIS_CLUSTER_NODES && values.REDIS_PREFIX && !/\{[^{}]+\}/.test(values.REDIS_PREFIX)) {
    // Without a hash tag BullMQ's scripts and Atelier's would touch keys in several slots.
    throw new ConfigError(`REDIS_PREFIX: with REDIS_CLUSTER_NODES it needs a hash tag, like {${values.REDIS_PREFIX}}`);
  }
  if (values.INTERACTIONS === 'http' && !values.DISCORD_PUBLIC_KEY) {
    throw new ConfigError('DISCORD_PUBLIC_KEY: required when INTERACTIONS=http (developer portal → General Information → Public Key)');
  }
  if (values.INTERACTIONS === 'http' && values.WEB_PORT === 0) {
    throw new ConfigError('WEB_PORT: INTERACTIONS=http receives interactions on the web server, which WEB_PORT=0 turns off');
  }
  return {
    ...values,
    models: applyModelCosts(parseModels(values.IMAGE_MODELS ?? defaultModels[values.IMAGE_PROVIDER]), values.MODEL_COSTS),
    rateLimit: parseRateLimit(values.COMMAND_RATE_LIMIT, 'COMMAND_RATE_LIMIT'),
    interactionRateLimit: parseRateLimit(values.INTERACTION_RATE_LIMIT, 'INTERACTION_RATE_LIMIT'),
  };
}

/** `host:port,host:port` (REDIS_SENTINELS, REDIS_CLUSTER_NODES). */
function redisNodes(raw: string, context: z.RefinementCtx<string>): Array<{ host: string; port: number }> {
  const nodes: Array<{ host: string; port: number }> = [];
  for (const part of raw
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)) {
    const match = /^([\w.-]{1,253}|\[[0-9a-fA-F:]{2,39}\]):(\d{1,5})$/.exec(part);
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65_535) {
      context.addIssue({ code: 'custom', message: `must be host:port pairs separated by commas (not "${part}")` });
      return z.NEVER;
    }
    nodes.push({ host: match[1]!.replace(/^\[|\]$/g, ''), port });
  }
  if (nodes.length === 0) {
    context.addIssue({ code: 'custom', message: 'names no node' });
    return z.NEVER;
  }
  return nodes;
}

/**
 * SHARD_IDS as written in the environment: `0,1`, `0-3`, or a mix (`0-3,8`). Throws with a
 * sentence for anything else.
 */
export function parseShardIds(raw: string): number[] {
  const ids = new Set<number>();
  for (const part of raw.split(',').map((item) => item.trim())) {
    if (!part) continue;
    const range = /^(\d{1,5})\s*-\s*(\d{1,5})$/.exec(part);
    if (range) {
      const [from, to] = [Number(range[1]), Number(range[2])];
      if (to < from) throw new Error(`the range ${part} goes backwards`);
      for (let id = from; id <= to; id++) ids.add(id);
    } else if (/^\d{1,5}$/.test(part)) {
      ids.add(Number(part));
    } else {
      throw new Error(`must be shard ids separated by commas, or ranges like 0-3 (not "${part}")`);
    }
  }
  if (ids.size === 0) throw new Error('names no shard');
  return [...ids].sort((a, b) => a - b);
}

/** The bot needs Discord credentials; the worker does not. */
export function requireDiscord(config: Config): { token: string; applicationId: string } {
  if (!config.DISCORD_TOKEN) throw new ConfigError('DISCORD_TOKEN: required to run the bot');
  if (!config.DISCORD_APPLICATION_ID) throw new ConfigError('DISCORD_APPLICATION_ID: required to run the bot');
  return { token: config.DISCORD_TOKEN, applicationId: config.DISCORD_APPLICATION_ID };
}
