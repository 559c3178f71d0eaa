import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validate, ValidationSeverity, type ValidatorSettings } from 'dockerfile-utils';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../agent/src/core/package-root.js';

// No Docker engine runs here: the image is not built by the tests. They lint the file with
// dockerfile-utils (the checks of the Docker language server) with every optional check an
// error, and hold it to the rules the deploy guide and docker-compose.yml rely on.

const DOCKERFILE = readFileSync(join(packageRoot(), 'deploy', 'Dockerfile'), 'utf8');
const STRICT: ValidatorSettings = {
  deprecatedMaintainer: ValidationSeverity.ERROR,
  directiveCasing: ValidationSeverity.ERROR,
  emptyContinuationLine: ValidationSeverity.ERROR,
  instructionCasing: ValidationSeverity.ERROR,
  instructionCmdMultiple: ValidationSeverity.ERROR,
  instructionEntrypointMultiple: ValidationSeverity.ERROR,
  instructionHealthcheckMultiple: ValidationSeverity.ERROR,
  instructionJSONInSingleQuotes: ValidationSeverity.ERROR,
  instructionWorkdirRelative: ValidationSeverity.ERROR,
};

/** TARGETARCH of linux/amd64, linux/arm64 and linux/arm/v7, the platforms the image is built for. */
const PLATFORM_ARCHS = ['amd64', 'arm64', 'arm'];

interface Instruction {
  keyword: string;
  args: string;
}

/** The instructions of each stage, continuation lines joined, comments dropped. */
function stages(text: string): Instruction[][] {
  const out: Instruction[][] = [];
  const logical = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  for (const line of logical) {
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (m === null || line.trimStart().startsWith('#')) continue;
    const ins = { keyword: m[1]!.toUpperCase(), args: m[2]!.trim() };
    if (ins.keyword === 'FROM') out.push([]);
    out.at(-1)?.push(ins);
  }
  return out;
}

/** What the image must be, whatever else changes: the findings, empty when it is. */
function ownRules(text: string): string[] {
  const findings: string[] = [];
  const all = stages(text);
  const names = new Set<string>();
  for (const stage of all) {
    const from = stage[0]!.args.split(/\s+/).filter((w) => !w.startsWith('--'));
    const [image, as, name] = from;
    // A stage per target platform (`node-${TARGETARCH}`): each of the three must be a stage of this file.
    const perPlatform = PLATFORM_ARCHS.map((a) => image!.replace('${TARGETARCH}', a));
    if (image!.includes('${TARGETARCH}')) {
      for (const stage of perPlatform) if (!names.has(stage)) findings.push(`FROM ${image}: no stage ${stage}`);
    }
    // An exact release (24.22.3, optionally with a variant) or a digest: a rebuild gets the same base.
    else if (!names.has(image!) && !/:\d+\.\d+\.\d+(-[\w.-]+)?$|@sha256:[0-9a-f]{64}$/.test(image!)) findings.push(`FROM ${image} is not pinned to an exact version`);
    if (as?.toUpperCase() === 'AS' && name !== undefined) names.add(name);
    for (const ins of stage) {
      if (ins.keyword === 'ADD' && /\b(https?|ftp):\/\/|git@/.test(ins.args)) findings.push(`ADD of a URL: ${ins.args}`);
    }
  }
  const final = all.at(-1) ?? [];
  const user = final.filter((i) => i.keyword === 'USER').at(-1)?.args;
  if (user === undefined || /^(root|0)(:|$)/.test(user)) findings.push(`the image runs as ${user ?? 'root (no USER)'}`);
  const health = final.filter((i) => i.keyword === 'HEALTHCHECK').at(-1)?.args;
  if (health === undefined || /^NONE$/i.test(health) || !health.includes('/readyz')) findings.push('no HEALTHCHECK on /readyz');
  if (!/yieldwatch/.test(final.find((i) => i.keyword === 'ENTRYPOINT')?.args ?? '')) findings.push('the entrypoint is not the yieldwatch CLI');
  if (!final.some((i) => i.keyword === 'VOLUME' && i.args.includes('/var/lib/yieldwatch'))) findings.push('no volume /var/lib/yieldwatch');
  return findings;
}

describe('deploy/Dockerfile', () => {
  it('has no finding of the Dockerfile linter (dockerfile-utils, every check an error)', () => {
    expect(validate(DOCKERFILE, STRICT).map((d) => `line ${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
    // The linter sees what it should: the same file with a second HEALTHCHECK and a lower-case instruction fails.
    expect(validate(`${DOCKERFILE}\nhealthcheck CMD true\n`, STRICT).length).toBeGreaterThanOrEqual(2);
  });

  it('pins every base image, runs as a non-root user, checks /readyz, adds no URL, and has the CLI as entrypoint with the data volume', () => {
    expect(ownRules(DOCKERFILE)).toEqual([]);
    // Each rule catches its own breach.
    expect(ownRules(DOCKERFILE.replace(/node:24\.\d+\.\d+-bookworm-slim AS node-arm64/, 'node:24-bookworm-slim AS node-arm64'))).toEqual(['FROM node:24-bookworm-slim is not pinned to an exact version']);
    expect(ownRules(DOCKERFILE.replace(/^FROM \S+ AS node-arm$/m, ''))).toEqual(['FROM node-${TARGETARCH}: no stage node-arm', 'FROM node-${TARGETARCH}: no stage node-arm']);
    expect(ownRules(DOCKERFILE.replace(/^USER node$/m, 'USER root'))).toEqual(['the image runs as root']);
    expect(ownRules(DOCKERFILE.replace(/^HEALTHCHECK[^]*?\]\n/m, ''))).toEqual(['no HEALTHCHECK on /readyz']);
    expect(ownRules(`${DOCKERFILE}\nADD https://example.com/x.tgz /tmp/\n`)).toEqual(['ADD of a URL: https://example.com/x.tgz /tmp/']);
  });

  it('copies into the packing stage every folder the npm package ships, so the image holds what `npm pack` gives', () => {
    const { files } = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { files: string[] };
    const pack = stages(DOCKERFILE).find((st) => /\bAS pack$/i.test(st[0]!.args))!;
    const copied = pack.filter((i) => i.keyword === 'COPY').flatMap((i) => i.args.split(/\s+/).slice(0, -1).map((p) => p.replace(/^\.\//, '').replace(/\/$/, '')));
    // dist/ is built in that stage from the sources (tsconfig.build.json), not copied.
    const shipped = files.filter((f) => !f.startsWith('!') && !f.startsWith('dist')).map((f) => f.split('/')[0]!);
    expect(shipped.filter((f) => !copied.includes(f))).toEqual([]);
  });
});
