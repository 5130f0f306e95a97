import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test-output/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', queueMicrotask: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', URL: 'readonly', performance: 'readonly', structuredClone: 'readonly', Buffer: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // Core never imports an adapter or a runtime dependency. Adapter subpaths
    // (sluice/sqlite, sluice/redis, ...) take the user's client; they are listed here.
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.test.ts', 'src/tools/demo/**', 'src/adapters/sqlite/**', 'src/adapters/redis/**', 'src/adapters/postgres/**', 'src/adapters/amqp/**', 'src/adapters/nats/**', 'src/adapters/prometheus/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['ioredis', 'amqplib', 'nats', 'pg', 'prom-client', 'better-sqlite3'], message: 'Core has zero runtime dependencies; adapters live in their own subpath.' }] }],
    },
  },
  {
    // The dashboard's page script runs in the browser (bundled by scripts/build-client.mjs):
    // browser globals instead of Node's, and nothing from Node or the server at run time.
    files: ['src/tools/dashboard/browser/**/*.ts'],
    languageOptions: {
      globals: {
        process: 'off', Buffer: 'off', setImmediate: 'off',
        window: 'readonly', document: 'readonly', EventSource: 'readonly', MessageEvent: 'readonly', ResizeObserver: 'readonly', requestAnimationFrame: 'readonly',
        HTMLElement: 'readonly', HTMLCanvasElement: 'readonly', uPlot: 'readonly',
      },
    },
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['node:*', '../*'], allowTypeImports: true, message: 'Browser code: only types may come from the server side.' }] }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
);
