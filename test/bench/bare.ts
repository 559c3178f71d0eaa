/**
 * The yardstick: the least an honest consumer of these counters must do per message — parse
 * the JSON, find the machine from the topic, turn each cumulative counter into an increment
 * (value − previous value) and add it to the machine's 60 s window. No validation, no event-time
 * rules, no reset or rollover handling, no persistence. Used by the `bare` consumer and the
 * `bare` microbench. Imports nothing, so its process carries no agent module.
 */
import { WINDOW_MS, type CounterTotals } from './common.js';

interface BarePayload {
  good: number;
  scrap: number;
  rework: number;
  material_in_kg: number;
  ts: number;
}

interface BareWindow {
  good: number;
  scrap: number;
  rework: number;
  material_in_kg: number;
}

interface BareMachine {
  has: boolean;
  good: number;
  scrap: number;
  rework: number;
  material_in_kg: number;
  windows: Map<number, BareWindow>;
}

export class BareWindows {
  private readonly machines = new Map<string, BareMachine>();

  /** Parses one message and adds its increments to its machine's window. */
  add(topic: string, payload: Buffer): void {
    const p = JSON.parse(payload.toString('utf8')) as BarePayload;
    const machine = topic.slice(0, topic.lastIndexOf('/'));
    let m = this.machines.get(machine);
    if (m === undefined) {
      m = { has: false, good: 0, scrap: 0, rework: 0, material_in_kg: 0, windows: new Map() };
      this.machines.set(machine, m);
    }
    const ts = typeof p.ts === 'number' ? p.ts : Date.now();
    const start = ts - (ts % WINDOW_MS);
    let w = m.windows.get(start);
    if (w === undefined) {
      w = { good: 0, scrap: 0, rework: 0, material_in_kg: 0 };
      m.windows.set(start, w);
    }
    if (m.has) {
      w.good += p.good - m.good;
      w.scrap += p.scrap - m.scrap;
      w.rework += p.rework - m.rework;
      w.material_in_kg += p.material_in_kg - m.material_in_kg;
    }
    m.has = true;
    m.good = p.good;
    m.scrap = p.scrap;
    m.rework = p.rework;
    m.material_in_kg = p.material_in_kg;
  }

  /** Sum of every window (the conservation check). */
  totals(): CounterTotals {
    const t: CounterTotals = { good: 0, scrap: 0, rework: 0, material_in_kg: 0 };
    for (const m of this.machines.values()) {
      for (const w of m.windows.values()) {
        t.good += w.good;
        t.scrap += w.scrap;
        t.rework += w.rework;
        t.material_in_kg += w.material_in_kg;
      }
    }
    return t;
  }

  windowCount(): number {
    let n = 0;
    for (const m of this.machines.values()) n += m.windows.size;
    return n;
  }
}
