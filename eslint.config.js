import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

// Layer boundaries (docs/architecture.md): routers → services → ports → storage/keys.
const storageOrKeys = {
  group: ['**/storage/**', '**/ca/keys/**', 'knex', 'knex-pglite', 'pg', '@electric-sql/pglite'],
  message: 'Only src/storage touches the database and only ca/keys holds private keys; go through a service or a port.',
};

// Sizes a newcomer can read (docs/architecture.md, "Rules the tools enforce").
const sizeLimits = { 'max-lines': ['error', { max: 400 }], 'max-lines-per-function': ['error', { max: 80 }] };
const noAsNever = { selector: 'TSAsExpression > TSNeverKeyword.typeAnnotation', message: 'No `as never`: give the value its real type.' };
// "Now" comes from the injected Clock (src/lifecycle/clock.ts); durations from performance.now().
const noWallClock = [
  { selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']", message: 'Take the time from the injected Clock, or measure durations with performance.now().' },
  { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'Take the time from the injected Clock (clock.now()).' },
];

export default tseslint.config(
  { ignores: ['dist/**', 'data/**', 'node_modules/**', 'coverage/**', 'bench/results/**', 'test-artifacts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node }, ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  {
    files: ['src/web/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [storageOrKeys] }] },
  },
  {
    // Scripts served to browsers by the pages (same-origin files, no bundler).
    files: ['src/web/static/**/*.js'],
    languageOptions: { globals: { ...globals.browser }, sourceType: 'script' },
  },
  {
    // The identity provider reaches the service only through oidc/ports.ts and its own settings
    // (docs/identity.md): no import of src/, no router, no SQL. It mounts oidc-provider (koa-mount)
    // and mounts no routes of its own.
    files: ['oidc/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/src/**', '@koa/router', 'koa-router', 'knex', 'knex-pglite', 'pg', '@electric-sql/pglite'],
              message: 'oidc/ imports nothing of src/: declare what it needs in oidc/ports.ts (implemented by src/storage, wired in src/service).',
            },
          ],
        },
      ],
    },
  },
  {
    // The CA domain imports nothing of the service (docs/architecture.md): no Koa, no knex, no
    // src/ (its errors are ca/errors.ts, mapped to HTTP by src/errors), no oidc/; it reaches
    // storage through the ports it declares (ca/ports.ts), which src/storage implements.
    files: ['ca/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['koa', '@koa/*', 'knex', 'pg', 'knex-pglite', '@electric-sql/pglite', '**/src/**', '**/oidc/**'],
              message: 'ca/ is a pure domain: no HTTP, no SQL, nothing of src/ or oidc/ (declare a port in ca/ports.ts).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/**/*.ts', 'oidc/**/*.ts', 'ca/**/*.ts', 'migrations/**/*.ts', 'bench/**/*.ts', 'bin/**/*.js', 'test/support/**/*.ts'],
    rules: sizeLimits,
  },
  {
    // A test file's describe callback groups specifications, each short: only the file size applies.
    files: ['test/**/*.test.ts'],
    rules: { 'max-lines': sizeLimits['max-lines'] },
  },
  {
    files: ['src/**/*.ts', 'oidc/**/*.ts', 'ca/**/*.ts'],
    // The clock itself, and the DVCQG simulator (a stand-in for another system, on real time).
    ignores: ['src/lifecycle/clock.ts', 'src/dev/dvcqg-simulator.ts'],
    rules: { 'no-restricted-syntax': ['error', noAsNever, ...noWallClock] },
  },
  {
    files: ['bench/**/*.ts', 'src/dev/dvcqg-simulator.ts'],
    rules: { 'no-restricted-syntax': ['error', noAsNever] },
  },
);
