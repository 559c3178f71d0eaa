import { closeSync, mkdirSync, openSync, statSync } from 'node:fs';

/**
 * The data folder holds every count of the plant and the users file: made readable by the agent's
 * user only (0700) when it does not exist yet. A folder that exists keeps the mode it has, which
 * an administrator may have chosen (a backup group); the agent warns when others may read it.
 */
export function makePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/**
 * Creates `path` empty and readable by its owner only (0600) unless it exists. SQLite takes an
 * empty file as a new database, and gives the `-wal` and `-shm` files it makes beside a store the
 * store file's mode, so they are private too (with the default mode they were world-readable).
 */
export function createPrivateFile(path: string): void {
  try {
    closeSync(openSync(path, 'wx', 0o600));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

/**
 * Sentences about a data folder or store file that every user of the machine may read (made by an
 * older yieldwatch, or by hand), with the command that closes it; the agent logs them at start.
 */
export function privacyWarnings(dataDir: string, storePath: string): string[] {
  const out: string[] = [];
  const worldReadable = (p: string) => {
    try {
      return (statSync(p).mode & 0o004) !== 0;
    } catch {
      return false;
    }
  };
  if (worldReadable(dataDir)) out.push(`The data folder ${dataDir} (agent.dataDir) may be read by every user of this machine; close it with: chmod 700 ${dataDir}`);
  if (worldReadable(storePath)) out.push(`The local store ${storePath} may be read by every user of this machine; close it with: chmod 600 ${storePath}*`);
  return out;
}
