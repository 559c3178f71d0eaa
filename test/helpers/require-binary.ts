import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Debian installs daemons such as mosquitto in sbin folders, which a non-root PATH often lacks. */
const SBIN = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** Absolute path of an executable named `name` on PATH (or in the sbin folders), or undefined. */
export function findBinary(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...SBIN];
  for (const dir of dirs) {
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/**
 * True when the executable `name` is installed. When it is missing: on CI (`CI` set) throws,
 * because CI must install it; elsewhere warns loudly and returns false, so the test can `it.skipIf`.
 */
export function requireBinary(name: string): boolean {
  if (findBinary(name) !== undefined) return true;
  if (process.env.CI) {
    throw new Error(`The tests need the executable "${name}", which is not installed; CI must install it (e.g. apt-get install ${name}).`);
  }
  console.warn(`\n!!! "${name}" is not installed: the tests that need it are SKIPPED. Install it to run them. !!!\n`);
  return false;
}
