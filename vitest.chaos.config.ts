import { defineConfig } from 'vitest/config';

/** `npm run test:chaos`: the chaos suite (test/chaos/README.md), apart from `npm test`. */
export default defineConfig({
  test: {
    include: ['test/chaos/**/*.chaos.ts'],
    testTimeout: 480_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
