import { createHash } from 'node:crypto';
import { closeSync, lstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { YieldwatchError } from '../core/errors.js';

/** The format of a backup file, so that a later yieldwatch knows how to read an older one. */
export const BACKUP_FORMAT = 'yieldwatch-backup/1';
export const MANIFEST_NAME = 'manifest.json';
/** The store snapshot inside the archive. */
export const STORE_MEMBER = 'store/yieldwatch.db';

/** One file or folder of the archive, with what restore checks it against. */
export interface ManifestEntry {
  path: string;
  type: 'file' | 'dir';
  /** Permission bits (a private key keeps its 0600). */
  mode: number;
  bytes?: number;
  sha256?: string;
}

/** What a backup holds and where each part came from; `manifest.json`, the archive's first member. */
export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  yieldwatch: string;
  /** `PRAGMA user_version` of the store snapshot. */
  schemaVersion: number;
  createdAt: string;
  agentId: string;
  /** The agent's `agent.dataDir` when the backup was made (for the person restoring it). */
  dataDir: string;
  store: { member: string; windows: number };
  config: { member: string; file: string };
  materialLibrary?: { member: string; file: string };
  /** `api.usersFile` as the config has it, and the file; absent when nobody was added yet. */
  users?: { member: string; setting: string; file: string };
  /** One PKI folder per distinct `pkiDir` of the OPC UA sources, with the sources (their index in `sources`) using it. */
  pki: { member: string; dir: string; sources: { index: number; id: string }[] }[];
  entries: ManifestEntry[];
}

export function sha256File(path: string): string {
  const hash = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/** The entry of one staged path, as the manifest records it (archive paths use `/`). */
export function describe(root: string, path: string): ManifestEntry {
  const st = lstatSync(path);
  const rel = relative(root, path).split(sep).join('/');
  if (st.isDirectory()) return { path: rel, type: 'dir', mode: st.mode & 0o777 };
  return { path: rel, type: 'file', mode: st.mode & 0o777, bytes: st.size, sha256: sha256File(path) };
}

/** Every path under `dir` (folders before what they hold), relative paths joined to `dir`. */
export function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = join(dir, e.name);
    out.push(p);
    if (e.isDirectory()) out.push(...walk(p));
  }
  return out;
}

function damaged(file: string, why: string): YieldwatchError {
  return new YieldwatchError('YW_ERR_BACKUP_ARCHIVE', `${file} is not a usable yieldwatch backup: ${why}.`);
}

/** Reads and checks the manifest's shape; what it names is checked against the files by `verifyEntries`. */
export function parseManifest(file: string, text: string | undefined): BackupManifest {
  if (text === undefined) throw damaged(file, `it has no ${MANIFEST_NAME}`);
  let m: BackupManifest;
  try {
    m = JSON.parse(text) as BackupManifest;
  } catch (err) {
    throw damaged(file, `its ${MANIFEST_NAME} is not JSON (${(err as Error).message})`);
  }
  if (m === null || typeof m !== 'object' || m.format !== BACKUP_FORMAT) throw damaged(file, `its ${MANIFEST_NAME} is not of the format ${BACKUP_FORMAT}`);
  if (!Number.isInteger(m.schemaVersion) || !Array.isArray(m.entries) || !Array.isArray(m.pki) || typeof m.store?.member !== 'string' || typeof m.config?.member !== 'string') {
    throw damaged(file, `its ${MANIFEST_NAME} lacks the schema version, the store, the config or the list of members`);
  }
  return m;
}

/**
 * Checks the unpacked folder `root` against the manifest: every member there with its size and
 * SHA-256, and nothing more. A byte changed anywhere in a member fails here.
 */
export function verifyEntries(file: string, root: string, m: BackupManifest): void {
  const found = new Set(walk(root).map((p) => relative(root, p).split(sep).join('/')));
  found.delete(MANIFEST_NAME);
  for (const want of m.entries) {
    if (!found.delete(want.path)) throw damaged(file, `${want.path} is missing (the file may be truncated)`);
    const got = describe(root, join(root, want.path));
    if (got.type !== want.type) throw damaged(file, `${want.path} is a ${got.type}, the manifest says a ${want.type}`);
    if (want.type === 'file' && (got.bytes !== want.bytes || got.sha256 !== want.sha256)) {
      throw damaged(file, `${want.path} does not match its SHA-256 in the manifest (${got.bytes} bytes, expected ${want.bytes})`);
    }
  }
  if (found.size > 0) throw damaged(file, `it holds members the manifest does not list: ${[...found].slice(0, 5).join(', ')}`);
  for (const part of [m.store.member, m.config.member, m.users?.member, m.materialLibrary?.member, ...m.pki.map((p) => p.member)]) {
    if (part !== undefined && !m.entries.some((e) => e.path === part)) throw damaged(file, `its manifest names ${part}, which it does not list`);
  }
}
