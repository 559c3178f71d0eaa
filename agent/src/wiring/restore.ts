import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { extract } from 'tar';
import { parseDocument } from 'yaml';
import { YieldwatchError } from '../core/errors.js';
import { makePrivateDir } from '../store/private-files.js';
import { checkStoreFile, STORE_SCHEMA_VERSION } from '../store/snapshot.js';
import { MANIFEST_NAME, parseManifest, verifyEntries, type BackupManifest } from './backup-manifest.js';

export interface RestoreInput {
  /** The backup file. */
  in: string;
  /** Gets the store and the users file. */
  dataDir: string;
  /** Gets the PKI folder; `<dataDir>/pki` by default. Several PKI folders each get a folder in it named after their first source. */
  pkiDir?: string | undefined;
  /** Where the backup's config is written, its `agent.dataDir`, `pkiDir` and `api.usersFile` pointed at the restored files. */
  configOut?: string | undefined;
  /** Replace what the targets hold. */
  force?: boolean;
}

export interface RestoreResult {
  manifest: BackupManifest;
  store: string;
  windows: number;
  users: string | undefined;
  pki: { dir: string; sources: string[] }[];
  config: string | undefined;
  materialLibrary: string | undefined;
}

function isEmptyTarget(path: string): boolean {
  if (!existsSync(path)) return true;
  return statSync(path).isDirectory() && readdirSync(path).length === 0;
}

/**
 * A path as the restored config writes it: relative when it lies under the config's folder (the
 * folder can then move as a whole), absolute otherwise (`/var/lib/yieldwatch`, not `../../var/...`).
 */
function fromConfig(configFile: string, path: string): string {
  const rel = relative(dirname(configFile), path);
  return rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? path : `./${rel}`;
}

/** Unpacks the archive; a damaged gzip stream or tar header, or a file cut short, is an error here. */
async function unpack(file: string, into: string): Promise<void> {
  try {
    // strict: a warning (a bad header, a truncated entry) is an error, not a skipped member.
    // Paths are kept inside `into` (tar strips `..` and leading `/`), and links are refused.
    await extract({ file, cwd: into, strict: true, filter: (_p, e) => !('type' in e) || e.type === 'File' || e.type === 'Directory' });
  } catch (err) {
    throw new YieldwatchError('YW_ERR_BACKUP_ARCHIVE', `${file} is not a usable yieldwatch backup: it does not unpack (${(err as Error).message}); the file may be truncated or damaged.`, {
      cause: err,
    });
  }
}

/**
 * `yieldwatch restore`: checks the whole backup before it writes anything where asked (every
 * member's SHA-256, the store's schema version against this yieldwatch, `PRAGMA integrity_check`),
 * then moves the store, the users file and the PKI folders into place with the permission bits
 * they had, and writes the config with its paths pointed at them. The agent must not be running
 * on the target: the store file is replaced, and a `-wal` left beside it is removed.
 */
export async function runRestore(o: RestoreInput): Promise<RestoreResult> {
  const file = resolve(o.in);
  const dataDir = resolve(o.dataDir);
  const pkiRoot = resolve(o.pkiDir ?? join(dataDir, 'pki'));
  const configOut = o.configOut !== undefined ? resolve(o.configOut) : undefined;
  if (!existsSync(file)) throw new YieldwatchError('YW_ERR_BACKUP_ARCHIVE', `There is no backup file ${file}.`);
  if (o.force !== true) {
    const taken = [
      ...(isEmptyTarget(dataDir) ? [] : [`the data folder ${dataDir}`]),
      ...(o.pkiDir !== undefined && !isEmptyTarget(pkiRoot) ? [`the PKI folder ${pkiRoot}`] : []),
      ...(configOut !== undefined && existsSync(configOut) ? [`the config file ${configOut}`] : []),
    ];
    if (taken.length > 0) {
      throw new YieldwatchError('YW_ERR_RESTORE_TARGET', `Not restoring: ${taken.join(' and ')} already ${taken.length > 1 ? 'hold' : 'holds'} something; nothing was changed. Restore into an empty folder, or give --force to replace it (stop the agent first).`);
    }
  }

  makePrivateDir(dataDir);
  // Unpacked inside the data folder: the renames into place stay on one file system.
  const stage = join(dataDir, `.restore-${process.pid}`);
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { mode: 0o700 });
  try {
    await unpack(file, stage);
    const manifestPath = join(stage, MANIFEST_NAME);
    const m = parseManifest(file, existsSync(manifestPath) ? readFileSync(manifestPath, 'utf8') : undefined);
    if (m.schemaVersion > STORE_SCHEMA_VERSION) {
      throw new YieldwatchError(
        'YW_ERR_STORE_VERSION',
        `${file} holds a store of schema version ${m.schemaVersion} (yieldwatch ${m.yieldwatch}), newer than this yieldwatch knows (${STORE_SCHEMA_VERSION}); restore it with yieldwatch ${m.yieldwatch} or later. Nothing was changed.`,
      );
    }
    verifyEntries(file, stage, m);
    const stagedStore = join(stage, m.store.member);
    const check = checkStoreFile(stagedStore);
    if (check.problem !== undefined) throw new YieldwatchError('YW_ERR_BACKUP_ARCHIVE', `${file} is not a usable yieldwatch backup: its store does not pass PRAGMA integrity_check: ${check.problem}`);
    if (check.schemaVersion !== m.schemaVersion) throw new YieldwatchError('YW_ERR_BACKUP_ARCHIVE', `${file} is not a usable yieldwatch backup: its store has schema version ${check.schemaVersion}, its manifest says ${m.schemaVersion}.`);

    // Each file and folder gets the mode the manifest recorded, whatever the umask of this shell.
    const modes = new Map(m.entries.map((e) => [e.path, e.mode]));
    const setModes = (member: string, at: string) => {
      for (const [path, mode] of modes) if (path === member || path.startsWith(`${member}/`)) chmodSync(join(at, relative(member, path)), mode);
    };

    const store = join(dataDir, 'yieldwatch.db');
    // A WAL left by the store being replaced would be applied to the restored one.
    for (const ext of ['-wal', '-shm']) rmSync(`${store}${ext}`, { force: true });
    renameSync(stagedStore, store);
    setModes(m.store.member, store);

    let users: string | undefined;
    if (m.users !== undefined) {
      users = join(dataDir, basename(m.users.member));
      renameSync(join(stage, m.users.member), users);
      setModes(m.users.member, users);
    }

    const pki: RestoreResult['pki'] = [];
    for (const p of m.pki) {
      const dir = m.pki.length === 1 ? pkiRoot : join(pkiRoot, p.sources[0]!.id);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dirname(dir), { recursive: true, mode: 0o700 });
      renameSync(join(stage, p.member), dir);
      setModes(p.member, dir);
      pki.push({ dir, sources: p.sources.map((s) => s.id) });
    }

    let materialLibrary: string | undefined;
    if (configOut !== undefined) {
      mkdirSync(dirname(configOut), { recursive: true });
      const doc = parseDocument(readFileSync(join(stage, m.config.member), 'utf8'));
      doc.setIn(['agent', 'dataDir'], fromConfig(configOut, dataDir));
      m.pki.forEach((p, i) => {
        for (const s of p.sources) doc.setIn(['sources', s.index, 'pkiDir'], fromConfig(configOut, pki[i]!.dir));
      });
      if (m.users !== undefined && m.users.setting !== basename(m.users.member)) doc.setIn(['api', 'usersFile'], basename(m.users.member));
      if (m.materialLibrary !== undefined) {
        materialLibrary = join(dirname(configOut), basename(m.materialLibrary.member));
        renameSync(join(stage, m.materialLibrary.member), materialLibrary);
        doc.setIn(['materialLibrary'], fromConfig(configOut, materialLibrary));
      }
      writeFileSync(configOut, doc.toString(), { mode: modes.get(m.config.member) ?? 0o600 });
    }
    return { manifest: m, store, windows: check.windows, users, pki, config: configOut, materialLibrary };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

/** What `yieldwatch restore` prints. */
export function describeRestore(file: string, r: RestoreResult): string {
  const m = r.manifest;
  const lines = [
    `restored ${resolve(file)} (yieldwatch ${m.yieldwatch}, store schema ${m.schemaVersion}, made ${m.createdAt} on agent ${m.agentId}); every member matched its SHA-256`,
    `  store   ${r.store}: ${r.windows} windows, PRAGMA integrity_check ok${m.schemaVersion < STORE_SCHEMA_VERSION ? ` (schema ${m.schemaVersion}: the agent migrates it to ${STORE_SCHEMA_VERSION} at its first start)` : ''}`,
    `  users   ${r.users ?? '(none in the backup)'}`,
    ...(r.pki.length > 0 ? r.pki.map((p) => `  pki     ${p.dir} (OPC UA source ${p.sources.join(', ')})`) : ['  pki     (none in the backup)']),
    r.config !== undefined
      ? `  config  ${r.config}${r.materialLibrary !== undefined ? ` and ${r.materialLibrary}` : ''} (agent.dataDir${r.pki.length > 0 ? ', pkiDir' : ''} pointed at the restored folders); start it with: yieldwatch start --config ${r.config}`
      : `  config  not written (give --config-out FILE); in your config set agent.dataDir to ${dirname(r.store)}${r.pki.length > 0 ? ' and the OPC UA sources\' pkiDir to the folders above' : ''}`,
  ];
  return `${lines.join('\n')}\n`;
}
