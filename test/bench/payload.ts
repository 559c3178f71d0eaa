/**
 * The bench machines' payloads, written in place into pre-encoded buffers so the load
 * generator spends almost no CPU per message (it shares two cores with the broker and the
 * consumer under test).
 *
 * A payload is the simulator's JSON (agent/src/simulator/publisher.ts, `counterPayload`),
 * compact and with a fixed width: every counter starts at a value with as many digits as it
 * will still have at the end of the run, so a message is a byte-for-byte patch of a template and
 * the MQTT header (remaining length) never changes. `material_in_kg` is written with 4 decimals
 * (0.1 g), like a PLC's fixed-point value. The simulator's constant `"state":"running"` field is
 * left out: no consumer maps it.
 */
import { PART_MASS_KG, PROCESS_LOSS, type CounterTotals } from './common.js';

/** A template payload; the digits are overwritten for every message. */
export const PAYLOAD_TEMPLATE = '{"good":00000000,"scrap":0000000,"rework":0000000,"material_in_kg":000000.0000,"ts":0000000000000}';

const GOOD_DIGITS = 8;
const SCRAP_DIGITS = 7;
const REWORK_DIGITS = 7;
/** `material_in_kg` in units of 0.1 g: 6 integer and 4 decimal digits. */
const KG_UNITS_DIGITS = 10;
const KG_UNITS_PER_KG = 10_000;
const TS_DIGITS = 13;

function fieldEnd(key: string, digits: number): number {
  const at = PAYLOAD_TEMPLATE.indexOf(`"${key}":`);
  if (at < 0) throw new Error(`The payload template lacks "${key}".`);
  return at + key.length + 3 + digits;
}

/** Offsets (in the payload) just past each number. */
const GOOD_END = fieldEnd('good', GOOD_DIGITS);
const SCRAP_END = fieldEnd('scrap', SCRAP_DIGITS);
const REWORK_END = fieldEnd('rework', REWORK_DIGITS);
const KG_END = fieldEnd('material_in_kg', KG_UNITS_DIGITS + 1);
const TS_END = fieldEnd('ts', TS_DIGITS);

/** Writes the non-negative integer `v` as exactly `digits` decimal digits ending before `end`. */
function writeDigits(buf: Buffer, end: number, v: number, digits: number): void {
  for (let i = end - 1; i >= end - digits; i--) {
    const q = Math.floor(v / 10);
    buf[i] = 48 + (v - q * 10);
    v = q;
  }
}

/** Per-message increments, drawn once from a seeded generator (xorshift32) and cycled. */
const TABLE_SIZE = 1 << 16;
const MAX_PARTS_PER_MESSAGE = 5;
const MAX_KG_UNITS_PER_MESSAGE = Math.ceil(MAX_PARTS_PER_MESSAGE * PART_MASS_KG * (1 + PROCESS_LOSS) * 1.03 * KG_UNITS_PER_KG);

function incrementTables(seed: number): { good: Uint8Array; scrap: Uint8Array; rework: Uint8Array; kgUnits: Uint32Array } {
  let x = seed >>> 0 || 1;
  const rnd = (): number => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
  const good = new Uint8Array(TABLE_SIZE);
  const scrap = new Uint8Array(TABLE_SIZE);
  const rework = new Uint8Array(TABLE_SIZE);
  const kgUnits = new Uint32Array(TABLE_SIZE);
  for (let i = 0; i < TABLE_SIZE; i++) {
    // 0 to 3 good parts per message (mean 1.5), 3 % scrap and 1 % rework messages.
    const u = rnd();
    good[i] = u < 0.1 ? 0 : u < 0.5 ? 1 : u < 0.85 ? 2 : 3;
    scrap[i] = rnd() < 0.03 ? 1 : 0;
    rework[i] = rnd() < 0.01 ? 1 : 0;
    const parts = good[i]! + scrap[i]! + rework[i]!;
    // Material per part varies by ±2 % (sprue, trim), as the simulator's does.
    kgUnits[i] = Math.round(parts * PART_MASS_KG * (1 + PROCESS_LOSS) * (0.98 + 0.04 * rnd()) * KG_UNITS_PER_KG);
  }
  return { good, scrap, rework, kgUnits };
}

/**
 * Cumulative PLC counters of `machines` machines that never reset, advanced one message at a
 * time. Remembers each machine's first and last published values, so `totals()` is what a
 * correct consumer's window sums must add up to (agent/src/kpi/README.md, "Conservation").
 */
export class CounterStream {
  private readonly good: Float64Array;
  private readonly scrap: Float64Array;
  private readonly rework: Float64Array;
  private readonly kgUnits: Float64Array;
  private readonly first: Float64Array[];
  private readonly started: Uint8Array;
  private readonly inc: ReturnType<typeof incrementTables>;
  private cursor = 0;

  /** Throws when `maxMessages` could push a counter past its fixed width. */
  constructor(
    private readonly machines: number,
    maxMessages: number,
    seed = 0x9e3779b9,
  ) {
    this.good = new Float64Array(machines);
    this.scrap = new Float64Array(machines);
    this.rework = new Float64Array(machines);
    this.kgUnits = new Float64Array(machines);
    this.started = new Uint8Array(machines);
    this.inc = incrementTables(seed);
    // Counters as a long-running PLC shows them; each keeps its number of digits for the run.
    for (let m = 0; m < machines; m++) {
      this.good[m] = 10_000_000 + m * 1_000_003;
      this.scrap[m] = 1_000_000 + m * 30_011;
      this.rework[m] = 1_000_000 + m * 10_007;
      this.kgUnits[m] = 1_000_000_000 + m * 50_000_000;
    }
    this.first = [new Float64Array(machines), new Float64Array(machines), new Float64Array(machines), new Float64Array(machines)];
    const perMachine = Math.ceil(maxMessages / machines);
    const fits =
      this.good[machines - 1]! + perMachine * 3 < 10 ** GOOD_DIGITS &&
      this.scrap[machines - 1]! + perMachine < 10 ** SCRAP_DIGITS &&
      this.rework[machines - 1]! + perMachine < 10 ** REWORK_DIGITS &&
      this.kgUnits[machines - 1]! + perMachine * MAX_KG_UNITS_PER_MESSAGE < 10 ** KG_UNITS_DIGITS;
    if (!fits) throw new Error(`${maxMessages} messages over ${machines} machines would overflow the fixed-width payload counters; use fewer messages.`);
  }

  /** Advances machine `m` by one message and writes its payload into `buf` at `at`, stamped `ts` (epoch ms, 13 digits). */
  next(m: number, buf: Buffer, at: number, ts: number): void {
    const k = this.cursor;
    this.cursor = (k + 7919) & (TABLE_SIZE - 1);
    const good = (this.good[m] = this.good[m]! + this.inc.good[k]!);
    const scrap = (this.scrap[m] = this.scrap[m]! + this.inc.scrap[k]!);
    const rework = (this.rework[m] = this.rework[m]! + this.inc.rework[k]!);
    const kg = (this.kgUnits[m] = this.kgUnits[m]! + this.inc.kgUnits[k]!);
    if (this.started[m] === 0) {
      this.started[m] = 1;
      this.first[0]![m] = good;
      this.first[1]![m] = scrap;
      this.first[2]![m] = rework;
      this.first[3]![m] = kg;
    }
    writeDigits(buf, at + GOOD_END, good, GOOD_DIGITS);
    writeDigits(buf, at + SCRAP_END, scrap, SCRAP_DIGITS);
    writeDigits(buf, at + REWORK_END, rework, REWORK_DIGITS);
    const frac = kg % KG_UNITS_PER_KG;
    writeDigits(buf, at + KG_END, frac, 4);
    writeDigits(buf, at + KG_END - 5, (kg - frac) / KG_UNITS_PER_KG, 6);
    writeDigits(buf, at + TS_END, ts, TS_DIGITS);
  }

  /** Sum over machines of (last − first published value): what the consumers' windows must add up to. */
  totals(): CounterTotals {
    const t: CounterTotals = { good: 0, scrap: 0, rework: 0, material_in_kg: 0 };
    let kgUnits = 0;
    for (let m = 0; m < this.machines; m++) {
      if (this.started[m] === 0) continue;
      t.good += this.good[m]! - this.first[0]![m]!;
      t.scrap += this.scrap[m]! - this.first[1]![m]!;
      t.rework += this.rework[m]! - this.first[2]![m]!;
      kgUnits += this.kgUnits[m]! - this.first[3]![m]!;
    }
    t.material_in_kg = kgUnits / KG_UNITS_PER_KG;
    return t;
  }
}
