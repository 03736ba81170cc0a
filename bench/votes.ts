import { InteractionResponseType } from 'discord.js';
import type { FakeInteraction } from '../test/support/fake-discord.js';
import { benchDatabase } from './rankings.js';
import { Installation, percentile, round, skipped, type BenchOptions, type ScenarioResult } from './lib.js';

/** Vote buttons carry a custom_id like `vote:<job>` or `img:vote:<job>`. */
const VOTE_BUTTON = /^(?:[a-z]+:)?vote:\d+$/;

function customIds(components: unknown[]): string[] {
  return components.flatMap((row) =>
    ((row as { components?: Array<{ custom_id?: string }> }).components ?? []).flatMap((c) => (c.custom_id ? [c.custom_id] : [])),
  );
}

function voteLabel(components: unknown[]): string | undefined {
  for (const row of components) {
    for (const c of (row as { components?: Array<{ custom_id?: string; label?: string }> }).components ?? []) {
      if (c.custom_id && VOTE_BUTTON.test(c.custom_id)) return c.label;
    }
  }
  return undefined;
}

/**
 * 1,000 members click the vote button of one result, all dispatched at once: votes per second
 * (first dispatch → last answer) and exactness (the stored count must equal the clicks).
 */
export async function votesScenario({ quick, redisUrl }: BenchOptions): Promise<ScenarioResult> {
  const clicks = 1000;
  // As in production, the bot's votes go to a PostgreSQL server (the embedded database runs in the
  // bot's own thread, and is there for small installations).
  const database = await benchDatabase('atelier_bench_votes');
  const installation = await Installation.start({ redisUrl, workers: 1, env: { DATABASE_URL: database.url } }).catch(async (error: unknown) => {
    await database.drop();
    throw error;
  });
  try {
    const request = installation.imagine(0, 'a field of poppies');
    const result = await installation.discord.waitFor(() => installation.result(request.id), 60_000, 'the result to vote on');
    const voteId = customIds(result.components).find((id) => VOTE_BUTTON.test(id));
    if (!voteId) return skipped('votes', 'no vote button on a result yet', 'count = clicks');

    const start = Date.now();
    const sent: FakeInteraction[] = [];
    for (let i = 0; i < clicks; i += 1) {
      sent.push(installation.discord.button({ customId: voteId, message: result, userId: String(400000000000000000n + BigInt(i)) }));
    }
    const answers = await Promise.all(sent.map((interaction) => interaction.response(60_000)));
    const last = Math.max(...sent.map((interaction) => interaction.callback!.at));
    const latencies = sent.map((interaction) => interaction.callback!.at - interaction.dispatchedAt);
    // A counted click is acknowledged without a message (the label is redrawn for the burst as a whole).
    const accepted = answers.filter(
      (answer) => answer.type === InteractionResponseType.DeferredMessageUpdate || answer.type === InteractionResponseType.UpdateMessage,
    ).length;
    // The stored count, as members see it: the label is redrawn from the database after the last click.
    const label = await installation.discord
      .waitFor(() => {
        const shown = voteLabel(installation.discord.message(result.id)?.components ?? []);
        return shown === `👍 ${clicks} Vote` ? shown : undefined;
      }, 30_000)
      .catch(() => voteLabel(installation.discord.message(result.id)?.components ?? []));
    const counted = Number(/👍 (\d+) Vote/.exec(label ?? '')?.[1] ?? NaN);
    const rate = clicks / ((last - start) / 1000);
    return {
      name: 'votes',
      parameters: { clicks, members: clicks, quick },
      unit: 'votes/s',
      median: round(rate),
      p99: null,
      baseline: null,
      ratio: null,
      target: 'count = clicks',
      pass: counted === clicks && accepted === clicks,
      extra: {
        counted,
        accepted,
        click_to_answer_median_ms: round(percentile(latencies, 50)),
        click_to_answer_p99_ms: round(percentile(latencies, 99)),
      },
    };
  } finally {
    await installation.close();
    await database.drop();
  }
}
