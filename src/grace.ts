/**
 * Waits for `work` at most `ms`: true when it finished in time, false when the grace ran out (the
 * work goes on; the caller decides whether to force it). Shutdown uses it so that a stop during a
 * Redis outage, or a job that never ends, cannot keep a process from exiting.
 */
export async function finishesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work.then(() => true),
      new Promise<boolean>((done) => {
        timer = setTimeout(() => done(false), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
