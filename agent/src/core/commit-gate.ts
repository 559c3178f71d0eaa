/**
 * How a source learns that what it delivered is on disk (agent/ARCHITECTURE.md, "The commit").
 *
 * A source that can have its input delivered again (MQTT QoS 1) must not acknowledge a message
 * before the state it changed is committed: a crash in between would lose it for good. It tells
 * the gate of every message it holds; the pipeline then commits within `kpi.commitInterval` of
 * the first one, or at once when `kpi.commitMaxMessages` wait, and after every successful commit
 * the gate calls back: everything delivered before that commit is in it. A source that cannot
 * have its input delivered again (OPC UA) holds its samples too, so that the commit interval
 * bounds what a crash loses.
 */
export interface CommitGate {
  /** One more message waits for the next commit. Hot path: synchronous and cheap. */
  hold(): void;
  /** Commits now (a source that stops, before it disconnects); false when the commit failed or the store is backing off. */
  commitNow(): boolean;
  /** Calls `fn` after every successful commit, synchronously and before anything else arrives (it must not throw); returns the unsubscribe. */
  onCommitted(fn: () => void): () => void;
  /**
   * Saves `state()` under `key` in every commit from now on, in the same transaction as the
   * effects it describes, and returns what the last successful commit saved under `key` (from an
   * earlier run too), or undefined. What a source must know after a crash: the MQTT source keeps
   * the packet ids it applied but may not have acknowledged (sources/mqtt/held-acks.ts). `state`
   * is called inside the commit: synchronous, it must not throw.
   */
  persist(key: string, state: () => string): string | undefined;
}
