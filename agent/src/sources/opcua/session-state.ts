/**
 * Where the source's connection to its server stands. One named state replaces the set of
 * flags it once took to say this; every change goes through `nextState`, so an event that
 * makes no sense in a state (a late callback of an old session, a build while one runs) is
 * ignored in one place.
 */
export type SessionState =
  /** Not started, or stopped: every callback is ignored. */
  | 'stopped'
  /** The first connect: node-opcua retries it with back-off; a refused server certificate is retried by the source. */
  | 'connecting'
  /** Creating the session, the subscription and the monitored items; one build at a time. */
  | 'building'
  /** Subscribed: data and keep-alives flow (some items may be refused). */
  | 'subscribed'
  /** The connection was lost: node-opcua repairs it, until data or a keep-alive flows again. */
  | 'restoring'
  /** A build failed: the next one waits for the back-off. */
  | 'backoff';

export type SessionEvent =
  | 'start'
  /** Create (or re-create) the session and subscription. */
  | 'build'
  | 'built'
  | 'build_failed'
  | 'connection_lost'
  /** Data, a keep-alive or a restored session after an outage. */
  | 'flowing'
  | 'stop';

const TRANSITIONS: { readonly [S in SessionState]: Partial<Record<SessionEvent, SessionState>> } = {
  stopped: { start: 'connecting', stop: 'stopped' },
  connecting: { build: 'building', connection_lost: 'connecting', stop: 'stopped' },
  // A connection lost during a build is the build's to handle: it ends built or failed.
  building: { built: 'subscribed', build_failed: 'backoff', connection_lost: 'building', stop: 'stopped' },
  subscribed: { build: 'building', connection_lost: 'restoring', flowing: 'subscribed', stop: 'stopped' },
  restoring: { build: 'building', connection_lost: 'restoring', flowing: 'subscribed', stop: 'stopped' },
  backoff: { build: 'building', connection_lost: 'restoring', stop: 'stopped' },
};

/** The state after `event`, or undefined when the event does not apply in `state` (the caller ignores it). */
export function nextState(state: SessionState, event: SessionEvent): SessionState | undefined {
  return TRANSITIONS[state][event];
}

/** States in which the watchdog may rebuild a silent subscription or retry refused items. */
export function watched(state: SessionState): boolean {
  return state === 'subscribed' || state === 'restoring' || state === 'backoff';
}
