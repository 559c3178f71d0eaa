import js from '@eslint/js';
import boundaries from 'eslint-plugin-boundaries';
import tseslint from 'typescript-eslint';

/**
 * The agent's layers, lowest first, and what each may import (agent/ARCHITECTURE.md, "Layers").
 * A backwards import — type-only ones included — fails the lint.
 */
const LAYERS = [
  ['core', 'agent/src/core', []],
  ['kpi', 'agent/src/kpi', ['core']],
  ['alerts', 'agent/src/alerts', ['core', 'kpi']],
  ['store', 'agent/src/store', ['core']],
  ['pipeline', 'agent/src/pipeline', ['core', 'kpi', 'alerts', 'store']],
  ['observe', 'agent/src/observe', ['core']],
  ['connections', 'agent/src/connections', ['core', 'observe']],
  ['sources', 'agent/src/sources', ['core', 'observe', 'connections']],
  ['sinks', 'agent/src/sinks', ['core', 'observe', 'connections']],
  ['forward', 'agent/src/forward.ts', ['core', 'store']],
  ['simulator', 'agent/src/simulator', ['core']],
  ['config', 'agent/src/config', ['core', 'kpi', 'alerts', 'sources', 'sinks', 'simulator']],
  ['api', 'agent/src/api', ['core', 'store', 'observe']],
  ['readers', 'agent/src/readers', ['core', 'kpi', 'store', 'config', 'api', 'sinks']],
  ['composition', 'agent/src/{agent,central,cli,demo,replay}.ts', ['*']],
  ['wiring', 'agent/src/wiring', ['*']],
  ['reports', 'agent/src/reports', ['core', 'kpi', 'store', 'observe', 'config', 'api']],
  ['dashboard', 'dashboard', ['api', 'core']],
];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'data/', 'coverage/', 'dashboard/vendor/', 'config/**/data/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    files: ['agent/src/**/*.ts', 'dashboard/**/*.ts', 'dashboard/**/*.tsx'],
    ignores: ['**/*.test.ts'],
    plugins: { boundaries },
    settings: {
      'import/resolver': { typescript: { project: './tsconfig.json' } },
      'boundaries/include': ['agent/src/**/*.ts', 'dashboard/**/*.ts', 'dashboard/**/*.tsx'],
      'boundaries/ignore': ['**/*.test.ts'],
      'boundaries/elements': LAYERS.map(([type, pattern]) => ({ type, pattern, mode: pattern.endsWith('.ts') ? 'full' : 'folder' })),
    },
    rules: {
      'boundaries/element-types': [
        'error',
        {
          default: 'disallow',
          message: '${file.type} may not import ${dependency.type}: layers import downwards only (agent/ARCHITECTURE.md, "Layers")',
          rules: LAYERS.map(([type, , allow]) => ({ from: type, allow: allow.includes('*') ? ['*'] : [type, ...allow] })),
        },
      ],
      'boundaries/no-unknown-files': 'error',
    },
  },
  {
    // The launcher is plain JavaScript run by Node.js (its globals are not the browser's).
    files: ['bin/*.js'],
    languageOptions: { globals: { process: 'readonly', URL: 'readonly' } },
  },
  {
    files: ['test/**/*.ts', '**/*.test.ts'],
    rules: { 'no-console': 'off' },
  },
);
