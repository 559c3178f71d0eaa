/**
 * A tiny seeded pseudo-random number generator and the few distributions the simulator needs.
 * Not for cryptography: its only job is that a seed repeats a demo run exactly on every platform,
 * which `Math.random` cannot do.
 */

/** A seeded source of uniform numbers in [0, 1) and the distributions built on it. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Exponential with the given rate (events per unit); mean 1 / rate. */
  exponential(rate: number): number;
  /** Standard normal (mean 0, standard deviation 1). */
  normal(): number;
}

/** Creates a mulberry32 generator (Tommy Ettinger's 32-bit mixer): fast, 2^32 period, good enough for simulation. */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  // Box-Muller yields two normals per pair of uniforms; keeping the spare halves the draws.
  let spare: number | undefined;
  return {
    next,
    exponential(rate: number): number {
      // 1 - u is in (0, 1], so the logarithm is finite.
      return -Math.log(1 - next()) / rate;
    },
    normal(): number {
      if (spare !== undefined) {
        const s = spare;
        spare = undefined;
        return s;
      }
      const r = Math.sqrt(-2 * Math.log(1 - next()));
      const theta = 2 * Math.PI * next();
      spare = r * Math.sin(theta);
      return r * Math.cos(theta);
    },
  };
}

/**
 * Derives a 32-bit seed from a base seed and a name (FNV-1a over the name, then a murmur3 finaliser),
 * so each simulated machine has its own stream and adding a machine never changes the others.
 */
export function deriveSeed(seed: number, name: string): number {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}
