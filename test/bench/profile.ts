/**
 * Summarises a V8 CPU profile (`.cpuprofile`, as the meter writes for `--profile` runs): the
 * functions with the most self time, the same grouped by package or agent folder, and the
 * functions with the most inclusive time. Percentages are of the busy time (idle excluded).
 *
 * Usage on its own: node --import tsx test/bench/profile.ts FILE.cpuprofile [TOP]
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileRow {
  name: string;
  /** Package, agent folder or V8 category. */
  area: string;
  ms: number;
  /** Share of the busy (non-idle) time, %. */
  pct: number;
}

export interface ProfileSummary {
  file: string;
  busyMs: number;
  idleMs: number;
  self: ProfileRow[];
  areas: ProfileRow[];
  inclusive: ProfileRow[];
}

const SPECIAL = /^\((idle|program|garbage collector|root)\)$/;

/** "mqtt", "agent/src/kpi", "node:internal/streams", "(garbage collector)"… */
export function areaOf(fn: string, url: string): string {
  if (url === '') return SPECIAL.test(fn) ? fn : '(native)';
  const nm = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (nm) return nm[1]!;
  const agent = /\/agent\/src\/(.+)\/[^/]+$/.exec(url);
  if (agent) return `agent/src/${agent[1]}`;
  if (/\/agent\/src\/[^/]+$/.test(url)) return 'agent/src';
  if (url.includes('/test/bench/')) return 'test/bench (bare consumer, meter)';
  if (url.startsWith('node:internal/')) return `node:internal/${url.slice('node:internal/'.length).split('/')[0]!.replace(/\.js$/, '')}`;
  if (url.startsWith('node:')) return url;
  return url;
}

function shortUrl(url: string): string {
  const i = url.search(/\/(node_modules|agent|test)\//);
  return i >= 0 ? url.slice(i + 1) : url.replace(/^file:\/\//, '');
}

function keyOf(n: ProfileNode): string {
  const { functionName, url, lineNumber } = n.callFrame;
  const name = functionName === '' ? '(anonymous)' : functionName;
  if (url === '') return name;
  // tsx compiles TypeScript to one line per file, so a line number there says nothing.
  return /\.ts$/.test(url) ? `${name} ${shortUrl(url)}` : `${name} ${shortUrl(url)}:${lineNumber + 1}`;
}

/** Reads and summarises one profile; `top` rows per list. */
export function summarizeProfile(file: string, top = 25): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  for (const n of p.nodes) byId.set(n.id, n);
  const selfUs = new Map<number, number>();
  // The time until the next sample belongs to this sample's function (as Chrome DevTools counts it).
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i + 1] ?? 0;
    selfUs.set(p.samples[i]!, (selfUs.get(p.samples[i]!) ?? 0) + dt);
  }
  let idleUs = 0;
  let totalUs = 0;
  const selfByKey = new Map<string, { us: number; area: string }>();
  const areaUs = new Map<string, number>();
  for (const n of p.nodes) {
    const us = selfUs.get(n.id) ?? 0;
    totalUs += us;
    if (n.callFrame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const area = areaOf(n.callFrame.functionName, n.callFrame.url);
    const k = keyOf(n);
    const e = selfByKey.get(k) ?? { us: 0, area };
    e.us += us;
    selfByKey.set(k, e);
    areaUs.set(area, (areaUs.get(area) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;

  // Inclusive time per function, counting a recursive function once per stack.
  const inclusiveByKey = new Map<string, { us: number; area: string }>();
  const root = p.nodes[0]!;
  const onStack = new Map<string, number>();
  const walk = (n: ProfileNode): number => {
    const k = keyOf(n);
    onStack.set(k, (onStack.get(k) ?? 0) + 1);
    let us = n.callFrame.functionName === '(idle)' ? 0 : (selfUs.get(n.id) ?? 0);
    for (const c of n.children ?? []) {
      const child = byId.get(c);
      if (child) us += walk(child);
    }
    const depth = onStack.get(k)!;
    onStack.set(k, depth - 1);
    if (depth === 1 && !SPECIAL.test(n.callFrame.functionName)) {
      const e = inclusiveByKey.get(k) ?? { us: 0, area: areaOf(n.callFrame.functionName, n.callFrame.url) };
      e.us += us;
      inclusiveByKey.set(k, e);
    }
    return us;
  };
  walk(root);

  const rows = (m: Map<string, { us: number; area: string }>): ProfileRow[] =>
    [...m]
      .map(([name, e]) => ({ name, area: e.area, ms: e.us / 1000, pct: busyUs > 0 ? (100 * e.us) / busyUs : 0 }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top);
  return {
    file,
    busyMs: busyUs / 1000,
    idleMs: idleUs / 1000,
    self: rows(selfByKey),
    areas: rows(new Map([...areaUs].map(([a, us]) => [a, { us, area: a }]))),
    inclusive: rows(inclusiveByKey),
  };
}

/** The summary as text. */
export function formatProfile(s: ProfileSummary, title: string): string {
  const fmt = (r: ProfileRow): string => `  ${r.pct.toFixed(1).padStart(5)} %  ${r.ms.toFixed(0).padStart(7)} ms  ${r.name}`;
  return [
    `${title}: ${s.busyMs.toFixed(0)} ms busy on the main thread, ${s.idleMs.toFixed(0)} ms idle (${s.file})`,
    ' self time by area (package, agent folder, V8 category):',
    ...s.areas.map((r) => `  ${r.pct.toFixed(1).padStart(5)} %  ${r.ms.toFixed(0).padStart(7)} ms  ${r.name}`),
    ' self time by function:',
    ...s.self.map(fmt),
    ' inclusive time by function:',
    ...s.inclusive.map(fmt),
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const file = process.argv[2];
  if (file === undefined) {
    console.error('usage: node --import tsx test/bench/profile.ts FILE.cpuprofile [TOP]');
    process.exit(1);
  }
  console.log(formatProfile(summarizeProfile(file, Number(process.argv[3] ?? 25)), 'profile'));
}
