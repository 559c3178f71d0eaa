import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { ROLES, type Role } from './roles.js';

/** One local user as the users file keeps it: never the password, only its scrypt hash. */
export interface UserRecord {
  name: string;
  role: Role;
  /** `scrypt$<N>$<r>$<p>$<salt, base64url>$<hash, base64url>` */
  hash: string;
  created_at: string;
}

/** scrypt at N = 2^15, r = 8 (32 MiB, about 0.1 s on a Raspberry Pi 4): the cost OWASP recommends. */
const N = 2 ** 15;
const R = 8;
const P = 1;
const KEY_BYTES = 32;

function scryptAsync(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  const opts: ScryptOptions = { N: n, r, p, maxmem: 128 * n * r * 2 };
  return new Promise((resolve, reject) => scrypt(password, salt, KEY_BYTES, opts, (err, key) => (err ? reject(err) : resolve(key))));
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, N, R, P);
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export async function checkPassword(password: string, hash: string): Promise<boolean> {
  const [kind, n, r, p, salt, key] = hash.split('$');
  if (kind !== 'scrypt' || key === undefined) return false;
  const expected = Buffer.from(key, 'base64url');
  const got = await scryptAsync(password, Buffer.from(salt!, 'base64url'), Number(n), Number(r), Number(p));
  return got.length === expected.length && timingSafeEqual(got, expected);
}

/** What a user name may be: it is shown in audit trails and typed on a tablet. */
export const USER_NAME_RE = /^[\p{L}\p{N}][\p{L}\p{N} ._@-]{0,63}$/u;
/** Shorter passwords are refused (NIST SP 800-63B: at least 8). */
export const MIN_PASSWORD_LENGTH = 8;

/**
 * The local users, in one JSON file beside the store (`api.usersFile`), written by `yieldwatch user`
 * and read by the agent, which notices a change at the next login without a restart.
 */
export class UserFile {
  private users: UserRecord[] = [];
  private readAtMtime = -1;

  constructor(readonly path: string) {
    this.refresh();
  }

  /** Reads the file again when it changed on disk; a missing file is no users. */
  private refresh(): void {
    const mtime = existsSync(this.path) ? statSync(this.path).mtimeMs : 0;
    if (mtime === this.readAtMtime) return;
    this.readAtMtime = mtime;
    if (mtime === 0) {
      this.users = [];
      return;
    }
    const parsed = JSON.parse(readFileSync(this.path, 'utf8')) as { users?: UserRecord[] };
    this.users = (parsed.users ?? []).filter((u) => typeof u.name === 'string' && ROLES.includes(u.role) && typeof u.hash === 'string');
  }

  list(): readonly Omit<UserRecord, 'hash'>[] {
    this.refresh();
    return this.users.map(({ hash: _h, ...u }) => u);
  }

  count(): number {
    this.refresh();
    return this.users.length;
  }

  /** The user's role and password hash as the file has them now; undefined once the user is gone. */
  lookup(name: string): { role: Role; hash: string } | undefined {
    this.refresh();
    const u = this.users.find((x) => x.name === name);
    return u === undefined ? undefined : { role: u.role, hash: u.hash };
  }

  /** The user's name and role when the password is right; undefined otherwise (the same time either way, as far as scrypt goes). */
  async verify(name: string, password: string): Promise<{ name: string; role: Role } | undefined> {
    this.refresh();
    const u = this.users.find((x) => x.name === name);
    // An unknown name costs a hash too, so timing does not tell which names exist.
    const ok = await checkPassword(password, u?.hash ?? DUMMY_HASH);
    return u !== undefined && ok ? { name: u.name, role: u.role } : undefined;
  }

  async add(name: string, role: Role, password: string, now: Date): Promise<void> {
    this.refresh();
    if (!USER_NAME_RE.test(name)) throw new Error(`"${name}" is not a user name: letters, digits, space, . _ @ -, at most 64`);
    if (this.users.some((u) => u.name === name)) throw new Error(`a user "${name}" exists already; change the password with "yieldwatch user passwd"`);
    if (password.length < MIN_PASSWORD_LENGTH) throw new Error(`the password must have at least ${MIN_PASSWORD_LENGTH} characters`);
    this.write([...this.users, { name, role, hash: await hashPassword(password), created_at: now.toISOString() }]);
  }

  async passwd(name: string, password: string): Promise<void> {
    this.refresh();
    if (!this.users.some((u) => u.name === name)) throw new Error(`no user "${name}"`);
    if (password.length < MIN_PASSWORD_LENGTH) throw new Error(`the password must have at least ${MIN_PASSWORD_LENGTH} characters`);
    const hash = await hashPassword(password);
    this.write(this.users.map((u) => (u.name === name ? { ...u, hash } : u)));
  }

  remove(name: string): void {
    this.refresh();
    if (!this.users.some((u) => u.name === name)) throw new Error(`no user "${name}"`);
    this.write(this.users.filter((u) => u.name !== name));
  }

  /** Whole file or nothing: written beside it and renamed over it; readable by its owner only. */
  private write(users: UserRecord[]): void {
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, `${JSON.stringify({ users }, null, 2)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    this.users = users;
    this.readAtMtime = statSync(this.path).mtimeMs;
  }
}

const DUMMY_HASH = `scrypt$${N}$${R}$${P}$${Buffer.alloc(16).toString('base64url')}$${Buffer.alloc(KEY_BYTES).toString('base64url')}`;
