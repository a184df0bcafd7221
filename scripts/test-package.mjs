// Runs one package's tests with node's test runner: every src/**/*.test.ts and test/**/*.test.ts,
// printed with the spec reporter and counted into .test-results/summary.json for the root summary.
import { spawnSync } from 'node:child_process';
import { globSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const extra = process.argv.slice(2);
const files = [...globSync('src/**/*.test.ts'), ...globSync('test/**/*.test.ts')].sort();
if (files.length === 0) {
  console.error('no test files found (src/**/*.test.ts, test/**/*.test.ts)');
  process.exit(1);
}
mkdirSync('.test-results', { recursive: true });
const args = [
  '--test',
  `--test-concurrency=${process.env.HERALD_TEST_CONCURRENCY ?? '2'}`,
  `--test-timeout=${process.env.HERALD_TEST_TIMEOUT_MS ?? '180000'}`,
  '--test-reporter=spec',
  '--test-reporter-destination=stdout',
  `--test-reporter=${join(here, 'test-summary-reporter.mjs')}`,
  '--test-reporter-destination=.test-results/summary.json',
  ...extra,
  ...files,
];
const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(r.status ?? 1);
