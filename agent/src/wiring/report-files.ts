import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The files of a scheduled report in `reports.folder` (agent/src/reports/README.md, "Files"): all
 * of a report's formats are there, or none. A consumer that watches the folder, the deliveries and
 * the pruning all go by the run's record, so a lone file of a report that failed would be seen by
 * nobody but the person who finds it, and never removed.
 */

/** A report file to write: its name in the folder and its bytes. */
export interface ReportFileBody {
  name: string;
  body: Buffer;
}

/** Writing a report's files failed; `left` names those still in the folder (normally none). */
export class ReportFilesError extends Error {
  constructor(
    message: string,
    readonly left: string[],
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ReportFilesError';
  }
}

/** The temp file a report file is written to before it is renamed into place; removed at start when a crash left it. */
export const tempFileOf = (name: string): string => `.${name}.tmp`;

/** Whether a name in the folder is such a temp file. */
export const isTempFile = (name: string): boolean => name.startsWith('.yieldwatch-') && name.endsWith('.tmp');

async function writeFlushed(path: string, body: Buffer): Promise<void> {
  const fh = await open(path, 'w');
  try {
    await fh.writeFile(body);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Removes files of the folder; returns the names that could not be removed. Never throws. */
export async function removeFiles(folder: string, names: readonly string[]): Promise<string[]> {
  const left: string[] = [];
  for (const name of names) {
    try {
      await rm(join(folder, name), { force: true });
    } catch {
      left.push(name);
    }
  }
  return left;
}

/**
 * Writes all of a report's files or none. Each is written to a temp file and flushed first; only
 * when every one is on disk are they renamed into place, so a format that cannot be written (a
 * full disk, a name taken by a folder) leaves no file of the others. A rename that fails half way
 * removes the files renamed before it. A reader sees a whole file or none (a rename is atomic),
 * and a crash between two renames leaves the report unrecorded, so the next look writes it again.
 */
export async function writeAllOrNone(folder: string, files: readonly ReportFileBody[]): Promise<void> {
  const temps: string[] = [];
  const placed: string[] = [];
  try {
    for (const f of files) {
      temps.push(tempFileOf(f.name));
      await writeFlushed(join(folder, tempFileOf(f.name)), f.body);
    }
    for (const f of files) {
      await rename(join(folder, tempFileOf(f.name)), join(folder, f.name));
      placed.push(f.name);
    }
  } catch (err) {
    await removeFiles(folder, temps.filter((t) => !placed.some((p) => tempFileOf(p) === t)));
    const left = await removeFiles(folder, placed);
    throw new ReportFilesError(`cannot write the report's files: ${(err as Error).message}`, left, { cause: err });
  }
}
