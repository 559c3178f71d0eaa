/** Who may do what: a viewer reads; an operator also acknowledges alerts and records scrap; an admin may do everything. */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Who made a request: a user logged in with a session, or the holder of an API token. */
export interface Principal {
  name: string;
  role: Role;
  /** `session`: a browser with the session cookie (state changes need the CSRF token); `token`: `Authorization: Bearer`. */
  via: 'session' | 'token';
  /** The session's id (`via: 'session'`): what is limited per session, such as live streams. */
  session?: string | undefined;
}

/** True when `role` has at least the rights of `needed`. */
export function hasRole(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}
