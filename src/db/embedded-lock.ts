import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

export class DatabaseInUseError extends Error {
  override name = 'DatabaseInUseError';
}

const LOCK_FILE = 'atelier.pid';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The embedded database must be opened by one process, once: PGlite itself would let a second
 * instance open the same files and both would write over each other. The lock is a file holding
 * the owner's pid, created exclusively; one left by a process that died (SIGKILL, power loss) is
 * taken over. Returns the function that releases it.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const path = join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => rm(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) {
        throw new DatabaseInUseError(
          `the embedded database in ${dataDir} is open in process ${owner}${owner === process.pid ? ' (this one)' : ''}; run one Atelier process on it, or set DATABASE_URL`,
        );
      }
      await rm(path, { force: true });
    }
  }
  throw new DatabaseInUseError(`could not lock the embedded database in ${dataDir}`);
}
