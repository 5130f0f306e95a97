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
    ignores: ['src/**/*.test.ts', 'src/demo/**', 'src/sqlite/**', 'src/redis/**', 'src/postgres/**', 'src/amqp/**', 'src/nats/**', 'src/prometheus/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['ioredis', 'amqplib', 'nats', 'pg', 'prom-client', 'better-sqlite3'], message: 'Core has zero runtime dependencies; adapters live in their own subpath.' }] }],
    },
  },
);
