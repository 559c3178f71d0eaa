import { chmodSync, copyFileSync, existsSync, fsyncSync, lstatSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { create as createTar } from 'tar';
import { parse as parseYaml } from 'yaml';
import type { Config } from '../config/schema.js';
import { packageVersion } from '../core/package-root.js';
import { snapshotStore } from '../store/snapshot.js';
import { BACKUP_FORMAT, describe, MANIFEST_NAME, STORE_MEMBER, walk, type BackupManifest } from './backup-manifest.js';

export interface BackupInput {
  config: Config;
  /** The config file as given: it goes into the backup byte for byte (placeholders such as `${MQTT_PASSWORD}` stay placeholders). */
  configFile: string;
  baseDir: string;
  dataDir: string;
  out: string;
  now?: Date;
}

/**
 * Copies a file or a folder tree into the staging folder with its permission bits, so that a
 * private key (0600) and its folder (0700) are archived as private as they were. Symbolic links
 * are left out: node-opcua writes none, and one could point anywhere on the machine.
 */
function copyTree(src: string, dest: string): void {
  const st = lstatSync(src);
  if (st.isDirectory()) {
    mkdirSync(dest, { recursive: true });
    chmodSync(dest, st.mode & 0o777);
    for (const p of walk(src)) {
      const s = lstatSync(p);
      const d = join(dest, relative(src, p));
      if (s.isDirectory()) mkdirSync(d, { recursive: true });
      else if (s.isFile()) copyFileSync(p, d);
      else continue;
      chmodSync(d, s.mode & 0o777);
    }
  } else {
    mkdirSync(dirname(dest), { recursive: true });
    copyFileSync(src, dest);
    chmodSync(dest, st.mode & 0o777);
  }
}

/** The material library file the config names, read from the file itself (the loaded config has it merged away). */
function materialLibraryFile(configFile: string, baseDir: string): string | undefined {
  const raw = parseYaml(readFileSync(configFile, 'utf8')) as { materialLibrary?: unknown } | null;
  const lib = raw?.materialLibrary;
  return typeof lib === 'string' && !lib.includes('${') ? (isAbsolute(lib) ? lib : resolve(baseDir, lib)) : undefined;
}

/**
 * `yieldwatch backup`: one gzipped tar file with the store as one commit left it (SQLite's online
 * backup API, beside the running agent), the users file, every OPC UA PKI folder, the config
 * file and its material library, and `manifest.json` listing each member with its SHA-256.
 * Report files are left out: they are made from the store, and `yieldwatch report` makes any
 * of them again. The file is written beside `out` and renamed into place, 0600, as it holds
 * private keys and password hashes.
 */
export async function runBackup(o: BackupInput): Promise<BackupManifest> {
  const out = resolve(o.out);
  // A scheduled backup may be the first to write to its folder: made private, as the file will be.
  mkdirSync(dirname(out), { recursive: true, mode: 0o700 });
  const stage = mkdtempSync(join(dirname(out), '.yieldwatch-backup-'));
  const partial = `${out}.partial-${process.pid}`;
  try {
    chmodSync(stage, 0o700);
    // First the store: the moment of the snapshot is the backup's moment.
    const createdAt = (o.now ?? new Date()).toISOString();
    mkdirSync(join(stage, 'store'), { mode: 0o700 });
    const snap = await snapshotStore(join(o.dataDir, 'yieldwatch.db'), join(stage, STORE_MEMBER));

    const configMember = `config/${basename(o.configFile)}`;
    copyTree(o.configFile, join(stage, configMember));
    const libFile = materialLibraryFile(o.configFile, o.baseDir);
    let materialLibrary: BackupManifest['materialLibrary'];
    if (libFile !== undefined && existsSync(libFile)) {
      materialLibrary = { member: `config/library/${basename(libFile)}`, file: libFile };
      copyTree(libFile, join(stage, materialLibrary.member));
    }

    const usersPath = resolve(o.dataDir, o.config.api.usersFile);
    let users: BackupManifest['users'];
    if (existsSync(usersPath)) {
      users = { member: `users/${basename(usersPath)}`, setting: o.config.api.usersFile, file: usersPath };
      copyTree(usersPath, join(stage, users.member));
    }

    // Sources that share a PKI folder share one copy of it.
    const pki: BackupManifest['pki'] = [];
    o.config.sources.forEach((s, index) => {
      if (s.type !== 'opcua') return;
      const dir = isAbsolute(s.pkiDir) ? s.pkiDir : resolve(o.baseDir, s.pkiDir);
      const known = pki.find((p) => p.dir === dir);
      if (known !== undefined) known.sources.push({ index, id: s.id });
      else if (existsSync(dir) && statSync(dir).isDirectory()) pki.push({ member: `pki/${pki.length}`, dir, sources: [{ index, id: s.id }] });
    });
    for (const p of pki) copyTree(p.dir, join(stage, p.member));

    // Members in a fixed order, folders before what they hold; the archive lists each explicitly.
    const paths = walk(stage).filter((p) => basename(p) !== MANIFEST_NAME);
    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      yieldwatch: packageVersion(),
      schemaVersion: snap.schemaVersion,
      createdAt,
      agentId: o.config.agent.id,
      dataDir: o.dataDir,
      store: { member: STORE_MEMBER, windows: snap.windows },
      config: { member: configMember, file: resolve(o.configFile) },
      ...(materialLibrary !== undefined ? { materialLibrary } : {}),
      ...(users !== undefined ? { users } : {}),
      pki,
      entries: paths.map((p) => describe(stage, p)),
    };
    writeFileSync(join(stage, MANIFEST_NAME), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });

    closeSync(openSync(partial, 'w', 0o600));
    await createTar(
      { gzip: true, file: partial, cwd: stage, portable: true, noDirRecurse: true },
      [MANIFEST_NAME, ...manifest.entries.map((e) => e.path)],
    );
    const fd = openSync(partial, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    chmodSync(partial, 0o600);
    renameSync(partial, out);
    return manifest;
  } finally {
    rmSync(stage, { recursive: true, force: true });
    rmSync(partial, { force: true });
  }
}

/** What `yieldwatch backup` prints: each part, so that a person sees what the file holds. */
export function describeBackup(out: string, m: BackupManifest): string {
  const bytes = statSync(out).size;
  const lines = [
    `wrote ${out} (${(bytes / 1024).toFixed(0)} KiB, yieldwatch ${m.yieldwatch}, store schema ${m.schemaVersion}, ${m.createdAt}); it holds private keys and password hashes: keep it as secret as the data folder`,
    `  store   ${m.store.windows} windows (SQLite online backup of ${join(m.dataDir, 'yieldwatch.db')})`,
    `  config  ${m.config.file}${m.materialLibrary !== undefined ? ` and its material library ${m.materialLibrary.file}` : ''}`,
    `  users   ${m.users !== undefined ? m.users.file : '(none: no users file yet)'}`,
    ...(m.pki.length > 0 ? m.pki.map((p) => `  pki     ${p.dir} (OPC UA source ${p.sources.map((s) => s.id).join(', ')})`) : ['  pki     (none: no OPC UA source has a PKI folder yet)']),
  ];
  return `${lines.join('\n')}\n`;
}
