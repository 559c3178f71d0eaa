import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { YieldwatchError } from './errors.js';
import type { PluginContext } from './plugin.js';

/**
 * Reads a file a plugin's config names (a CA, a certificate, a key), relative to the config file;
 * a missing or unreadable file is a config error naming the plugin, what the file is and its path.
 */
export async function readConfigFile(ctx: Pick<PluginContext, 'baseDir'>, owner: string, what: string, file: string): Promise<Buffer> {
  const path = isAbsolute(file) ? file : resolve(ctx.baseDir, file);
  try {
    return await readFile(path);
  } catch (err) {
    throw new YieldwatchError('YW_ERR_CONFIG_READ', `${owner} cannot read its ${what} file ${path}: ${(err as Error).message}`, { cause: err });
  }
}
