import { ApplicationCommandOptionType, MessageFlags } from 'discord.js';
import pg from 'pg';
import type { FakeInteraction, FakeMessage } from '../test/support/fake-discord.js';
import { Installation, percentile, round, sendAsFastAsAcknowledged, sleep, type BenchOptions, type ScenarioResult } from './lib.js';

const MEMBERS = 30;
const ENTRIES_EACH = 2;
/** What the issue asks of a phase change: within this long of its deadline. */
const TARGET_MS = 2_000;

const memberId = (index: number) => String(500000000000000000n + BigInt(index));

interface PhaseChange {
  from: string;
  to: string;
  round: number;
  /** When the bench saw it (polling every 25 ms), and the deadline of the phase it ended. */
  at: number;
  deadline: number;
  lateMs: number;
}

/**
 * A live session with 30 members making 2 entries each per round, then all voting at once. Each
 * phase change is timed against its deadline (the session row is polled in PostgreSQL), and the
 * stored tallies are compared with the votes the bench cast.
 */
export async function sessionsScenario({ quick, redisUrl }: BenchOptions): Promise<ScenarioResult> {
  const rounds = quick ? 1 : 2;
  const installation = await Installation.start({ redisUrl, workers: 2, workerConcurrency: 4 });
  const db = new pg.Client({ connectionString: installation.database!.url });
  await db.connect();
  let polling = true;
  let watcher: Promise<void> = Promise.resolve();
  try {
    const discord = installation.discord;
    const guild = discord.guilds[0]!;
    const host = memberId(999);
    const start = discord.slashCommand({
      name: 'session',
      userId: host,
      guildId: guild.id,
      channelId: guild.channels[0]!.id,
      options: [
        {
          name: 'start',
          type: ApplicationCommandOptionType.Subcommand,
          options: [
            { name: 'theme', type: ApplicationCommandOptionType.String, value: 'a night market' },
            { name: 'rounds', type: ApplicationCommandOptionType.Integer, value: rounds },
            { name: 'round_minutes', type: ApplicationCommandOptionType.Integer, value: 1 },
            { name: 'vote_seconds', type: ApplicationCommandOptionType.Integer, value: 30 },
            { name: 'mode', type: ApplicationCommandOptionType.String, value: 'fresh' },
            { name: 'entries_per_round', type: ApplicationCommandOptionType.Integer, value: ENTRIES_EACH },
          ],
        },
      ],
    });
    const sessionId = start.id;
    const thread = await discord.waitFor(() => discord.threads(guild.channels[0]!.id)[0], 60_000, 'the session thread');

    // The bench watches the session row: each change of (round, phase) against the deadline it ended.
    const changes: PhaseChange[] = [];
    watcher = (async () => {
      let last: { round: number; phase: string; deadline: number } | undefined;
      while (polling) {
        const { rows } = await db.query<{ round: number; phase: string; phase_ends_at: Date | null }>(
          'SELECT round, phase, phase_ends_at FROM sessions WHERE id = $1',
          [sessionId],
        );
        const row = rows[0];
        if (row) {
          const now = Date.now();
          if (last && (last.round !== row.round || last.phase !== row.phase)) {
            changes.push({ from: last.phase, to: row.phase, round: last.round, at: now, deadline: last.deadline, lateMs: now - last.deadline });
          }
          last = { round: row.round, phase: row.phase, deadline: row.phase_ends_at?.getTime() ?? 0 };
          if (row.phase === 'ended') return;
        }
        await sleep(25);
      }
    })().catch((error: unknown) => {
      // The connection closes when the scenario ends early; its own error is the one to report.
      if (polling) throw error;
    });

    const tallies: Array<{ round: number; expected: Record<number, number>; stored: Record<number, number>; accepted: number }> = [];
    const voteLatencies: number[] = [];
    for (let roundNumber = 1; roundNumber <= rounds; roundNumber++) {
      await discord.waitFor(
        () => discord.messages(thread.id).find((m) => !m.interactionId && m.content.includes(`Round ${roundNumber} of ${rounds}`)),
        120_000,
        `round ${roundNumber} opening`,
      );
      // Members make their entries by /imagine in the thread, as fast as the bot acknowledges them
      // (eight at a time); the vote below is the burst that is measured.
      const entries = await sendAsFastAsAcknowledged(MEMBERS * ENTRIES_EACH, 8, (index) =>
        discord.slashCommand({
          name: 'imagine',
          userId: memberId(index % MEMBERS),
          guildId: guild.id,
          channelId: thread.id,
          options: { prompt: `stall ${index % MEMBERS}, take ${Math.floor(index / MEMBERS)}, round ${roundNumber}` },
        }),
      );
      const answers = await Promise.all(entries.map((interaction) => interaction.response(60_000)));
      const refused = answers.filter((answer) => ((answer.data?.flags ?? 0) & MessageFlags.Ephemeral) !== 0);
      if (refused.length > 0) throw new Error(`${refused.length} entries refused: ${String(refused[0]!.data.content)}`);

      // Voting opens at the deadline (the entries are drawn by then); then everyone votes at once.
      const voting: FakeMessage[] = await discord.waitFor(
        () => {
          const posted = discord.messages(thread.id).filter((m) => !m.interactionId && /Round \d+(: vote!|, entries #)/.test(m.content));
          const ofRound = posted.filter((m) => m.components.some((row) => JSON.stringify(row).includes(`session:vote:${sessionId}:${roundNumber}:`)));
          const buttons = ofRound.reduce((sum, m) => sum + (JSON.stringify(m.components).match(/session:vote:/g)?.length ?? 0), 0);
          return buttons >= MEMBERS * ENTRIES_EACH ? ofRound : undefined;
        },
        180_000,
        `round ${roundNumber} voting`,
      );
      const { rows: owners } = await db.query<{ number: number; user_id: string }>(
        "SELECT number, user_id FROM session_entries WHERE session_id = $1 AND round = $2 AND state = 'ready' ORDER BY number",
        [sessionId, roundNumber],
      );
      const expected: Record<number, number> = {};
      const clicks: FakeInteraction[] = [];
      for (let member = 0; member < MEMBERS; member++) {
        // A spread of targets, never one's own entry.
        const candidates = owners.filter((owner) => owner.user_id !== memberId(member));
        const target = candidates[(member * 7) % candidates.length]!.number;
        const message = voting.find((m) => JSON.stringify(m.components).includes(`session:vote:${sessionId}:${roundNumber}:${target}"`))!;
        clicks.push(discord.button({ customId: `session:vote:${sessionId}:${roundNumber}:${target}`, message, userId: memberId(member) }));
        expected[target] = (expected[target] ?? 0) + 1;
      }
      const voteAnswers = await Promise.all(clicks.map((click) => click.response(60_000)));
      for (const click of clicks) voteLatencies.push(click.callback!.at - click.dispatchedAt);
      const accepted = voteAnswers.filter((answer) => String(answer.data?.content ?? '').includes('is in')).length;
      const { rows: stored } = await db.query<{ entry: number; n: string }>(
        'SELECT entry, count(*) AS n FROM session_votes WHERE session_id = $1 AND round = $2 GROUP BY entry',
        [sessionId, roundNumber],
      );
      tallies.push({ round: roundNumber, expected, stored: Object.fromEntries(stored.map((row) => [row.entry, Number(row.n)])), accepted });
      await discord.waitFor(
        () => discord.messages(thread.id).find((m) => !m.interactionId && m.content.includes(`Round ${roundNumber} winner`)),
        120_000,
        `round ${roundNumber} result`,
      );
    }
    await discord.waitFor(() => discord.messages(thread.id).find((m) => !m.interactionId && m.content.includes('Recap:')), 180_000, 'the recap');
    await watcher;

    // Changes that end a phase at its deadline (the wait for stragglers ends early when they are in).
    const timed = changes.filter((change) => change.from !== 'drawing');
    const lateness = timed.map((change) => change.lateMs);
    const exact = tallies.every(
      (tally) => tally.accepted === MEMBERS && JSON.stringify(sortKeys(tally.expected)) === JSON.stringify(sortKeys(tally.stored)),
    );
    const onTime = timed.length > 0 && lateness.every((late) => late >= -50 && late <= TARGET_MS);
    return {
      name: 'sessions',
      parameters: { members: MEMBERS, entries_each: ENTRIES_EACH, rounds, quick },
      unit: 'ms after deadline',
      median: round(percentile(lateness, 50)),
      p99: round(Math.max(...lateness)),
      baseline: null,
      ratio: null,
      target: `tallies exact; every phase change within ${TARGET_MS} ms of its deadline`,
      pass: exact && onTime,
      extra: {
        tallies_exact: exact,
        phase_changes: changes,
        vote_answer_median_ms: round(percentile(voteLatencies, 50)),
        vote_answer_p99_ms: round(percentile(voteLatencies, 99)),
        tallies,
      },
    };
  } finally {
    polling = false;
    await watcher.catch(() => undefined);
    await db.end().catch(() => undefined);
    await installation.close();
  }
}

function sortKeys(record: Record<number, number>): Array<[number, number]> {
  return Object.entries(record)
    .map(([key, value]) => [Number(key), value] as [number, number])
    .sort((a, b) => a[0] - b[0]);
}
