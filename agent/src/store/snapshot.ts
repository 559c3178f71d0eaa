import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { YieldwatchError } from '../core/errors.js';
import { MIGRATIONS } from './migrations.js';
import { createPrivateFile } from './private-files.js';

/** The schema version this yieldwatch writes: a store with a higher `user_version` is refused. */
export const STORE_SCHEMA_VERSION = MIGRATIONS.length;

/** The largest step better-sqlite3 accepts: the rest of the database in one step. */
const ALL_PAGES = 0x7fffffff;

/**
 * Copies the store at `source` to the new file `dest` through SQLite's online backup API, from
 * this process, while the agent may be writing to it. A file copy of a WAL database can catch
 * the main file and the WAL at different moments; the backup API reads pages through SQLite.
 * After the first (empty) step it copies every page in a single step, that is in one read
 * transaction: the copy is the store as one commit left it, and writers in WAL mode are not
 * blocked (a backup in many small steps would start over at each commit of the agent, and
 * might never finish under a steady write load).
 */
export async function snapshotStore(source: string, dest: string): Promise<{ schemaVersion: number; pages: number; windows: number }> {
  if (!existsSync(source)) throw new YieldwatchError('YW_ERR_STORE_OPEN', `There is no local store at ${source} (is agent.dataDir of this config the agent's?).`);
  let db: Database.Database;
  try {
    // Read-only: a backup can never change the agent's store. The timeout rides over the moment a commit holds the WAL index.
    db = new Database(source, { readonly: true, fileMustExist: true, timeout: 10_000 });
  } catch (err) {
    throw new YieldwatchError('YW_ERR_STORE_OPEN', `Cannot open the local store ${source}: ${(err as Error).message}`, { cause: err });
  }
  try {
    // The copy holds every count of the plant: private from its first byte.
    createPrivateFile(dest);
    const done = await db.backup(dest, { progress: () => ALL_PAGES });
    const check = checkStoreFile(dest);
    if (check.problem !== undefined) throw new YieldwatchError('YW_ERR_STORE_OPEN', `The copy of ${source} does not pass SQLite's integrity check: ${check.problem}`);
    return { schemaVersion: check.schemaVersion, pages: done.totalPages, windows: check.windows };
  } finally {
    db.close();
  }
}

/**
 * Opens a store file that no agent uses (a snapshot, a restored file) and tells its schema
 * version and what `PRAGMA integrity_check` finds wrong, if anything. Nothing is migrated.
 */
export function checkStoreFile(path: string): { schemaVersion: number; problem: string | undefined; windows: number } {
  let db: Database.Database | undefined;
  try {
    // Read-write although nothing is written: the last connection to close removes the `-wal` and `-shm` files it made.
    db = new Database(path, { fileMustExist: true });
    const schemaVersion = db.pragma('user_version', { simple: true }) as number;
    const rows = db.pragma('integrity_check(20)') as { integrity_check: string }[];
    const text = rows.map((r) => r.integrity_check).join('\n');
    if (text !== 'ok') return { schemaVersion, problem: text, windows: 0 };
    const windows = (db.prepare('SELECT count(*) AS n FROM aggregates').get() as { n: number }).n;
    return { schemaVersion, problem: undefined, windows };
  } catch (err) {
    return { schemaVersion: -1, problem: (err as Error).message, windows: 0 };
  } finally {
    db?.close();
  }
}
