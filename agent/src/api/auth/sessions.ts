import { randomBytes } from 'node:crypto';
import type { Role } from './roles.js';

interface Session {
  name: string;
  role: Role;
  expiresAt: number;
}

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

  open(name: string, role: Role): string {
    const id = randomBytes(32).toString('base64url');
    if (this.byId.size >= MAX_SESSIONS) this.byId.delete(this.byId.keys().next().value!);
    this.byId.set(id, { name, role, expiresAt: this.now() + this.ttlMs });
    return id;
  }

  /** The session's user, its lifetime extended; undefined for an unknown or expired one. */
  use(id: string): { name: string; role: Role } | undefined {
    const s = this.byId.get(id);
    if (s === undefined) return undefined;
    const now = this.now();
    if (s.expiresAt <= now) {
      this.byId.delete(id);
      return undefined;
    }
    s.expiresAt = now + this.ttlMs;
    return { name: s.name, role: s.role };
  }

  close(id: string): void {
    this.byId.delete(id);
  }

  /** Ends every session of a user (removed, or a new password). */
  closeUser(name: string): void {
    for (const [id, s] of this.byId) if (s.name === name) this.byId.delete(id);
  }
}
