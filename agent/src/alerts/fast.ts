/**
 * The `fast` rule's sliding count: good and scrap parts of the last `size` parts of one
 * machine, fed with every accepted increment (hot path: no allocation once the ring is full,
 * no I/O). Increments arrive in chunks (a counter moved by 3 good and 1 scrap); a chunk is
 * dropped from the tail only when the parts after it still cover `size`.
 */
export class SlidingParts {
  private readonly good: Float64Array;
  private readonly scrap: Float64Array;
  private head = 0;
  private len = 0;
  /** Sums over the chunks in the ring. */
  parts = 0;
  scrapParts = 0;

  constructor(
    readonly size: number,
    capacity = Math.max(64, size * 2),
  ) {
    this.good = new Float64Array(capacity);
    this.scrap = new Float64Array(capacity);
  }

  /** Adds one increment; returns true when the window covers at least `size` parts. */
  add(good: number, scrap: number): boolean {
    if (good <= 0 && scrap <= 0) return this.parts >= this.size;
    const cap = this.good.length;
    if (this.len === cap) this.dropOldest();
    const i = (this.head + this.len) % cap;
    this.good[i] = good;
    this.scrap[i] = scrap;
    this.len++;
    this.parts += good + scrap;
    this.scrapParts += scrap;
    while (this.len > 1) {
      const oldest = this.good[this.head]! + this.scrap[this.head]!;
      if (this.parts - oldest < this.size) break;
      this.dropOldest();
    }
    return this.parts >= this.size;
  }

  /** Scrap rate over the covered parts (at least `size` of them once `add` returned true). */
  rate(): number {
    return this.parts > 0 ? this.scrapParts / this.parts : 0;
  }

  private dropOldest(): void {
    const h = this.head;
    this.parts -= this.good[h]! + this.scrap[h]!;
    this.scrapParts -= this.scrap[h]!;
    this.head = (h + 1) % this.good.length;
    this.len--;
  }
}
