import { randomBytes } from 'node:crypto';
import type { Role } from './roles.js';

interface Session {
  name: string;
  role: Role;
  /** The password hash at login: a new password (or a removed user) ends the session. */
  stamp: string;
  expiresAt: number;
  /** However busy a session is kept (a floor screen polls all day), it ends this long after its login. */
  endsAt: number;
}

/** The longest a session lives, used or not: a week of shifts, then a new login. */
const MAX_SESSION_MS = 7 * 24 * 3_600_000;

/** Sessions open at once at most: a flood of logins must not grow memory without bound (the oldest go first). */
const MAX_SESSIONS = 10_000;

/**
 * Browser sessions, in memory: a restart logs everyone out, which is what an agent that restarts
 * after an update should do. Each use extends a session by its lifetime (`api.sessionTtl`).
 */
export class Sessions {
  private readonly byId = new Map<string, Session>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  open(name: string, role: Role, stamp: string): string {
    const id = randomBytes(32).toString('base64url');
    if (this.byId.size >= MAX_SESSIONS) this.byId.delete(this.byId.keys().next().value!);
    const now = this.now();
    this.byId.set(id, { name, role, stamp, expiresAt: now + this.ttlMs, endsAt: now + MAX_SESSION_MS });
    return id;
  }

  /**
   * The session's user, its lifetime extended; undefined for an unknown or expired one, and for one
   * whose user is gone or has another password now (`current`: the users file as it is now). The
   * role is the one the file gives now.
   */
  use(id: string, current: (name: string) => { role: Role; hash: string } | undefined): { name: string; role: Role } | undefined {
    const s = this.byId.get(id);
    if (s === undefined) return undefined;
    const now = this.now();
    const user = current(s.name);
    if (s.expiresAt <= now || s.endsAt <= now || user === undefined || user.hash !== s.stamp) {
      this.byId.delete(id);
      return undefined;
    }
    s.expiresAt = now + this.ttlMs;
    return { name: s.name, role: user.role };
  }

  close(id: string): void {
    this.byId.delete(id);
  }

}
