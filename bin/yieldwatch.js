#!/usr/bin/env node
// The `yieldwatch` command. An installed package ships only the compiled dist/ and runs it. A
// checkout (its TypeScript sources lie beside this file) runs those through tsx, a dev
// dependency, so that `npx yieldwatch` after `npm install` needs no build and never runs a
// dist/ older than the sources.
import { existsSync } from 'node:fs';

const sources = new URL('../agent/src/cli.ts', import.meta.url);
const compiled = new URL('../dist/agent/src/cli.js', import.meta.url);

let tsx;
if (existsSync(sources)) {
  try {
    tsx = await import('tsx/esm/api');
  } catch {
    // Installed without dev dependencies (`npm install --omit=dev`): dist/ is the only way left.
  }
}
if (tsx !== undefined) {
  tsx.register();
  await import(sources.href);
} else if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  process.stderr.write('yieldwatch: neither dist/ (npm run build) nor tsx (npm install) is here to run the CLI.\n');
  process.exit(1);
}
