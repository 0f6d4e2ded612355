/**
 * The skip policy (tests/requires.ts): a test that lacks a part of the host skips outside CI
 * and fails under CI=true; no test skips, or is left as a todo, by any other means.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCES = fileURLToPath(new URL('../../tests', import.meta.url));
const REQUIRES_JS = fileURLToPath(new URL('./requires.js', import.meta.url));

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'fixtures' ? [] : tsFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Ways node:test skips or defers a test other than `skip: requires(...)`. */
const OTHER_SKIPS = [/\bskip:(?!\s*requires\()/, /\btodo:/, /\b(?:it|test|describe|suite|t)\.(?:skip|todo)\(/, /\bt\.(?:skip|todo)\b/];

test('every conditional skip in tests/ goes through requires()', () => {
  const offenders: string[] = [];
  for (const file of tsFiles(SOURCES)) {
    if (file.endsWith('/requires.ts') || file.endsWith('/requires.test.ts')) continue;
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (OTHER_SKIPS.some((re) => re.test(line))) offenders.push(`${file}:${i + 1}: ${line.trim()}`);
      });
  }
  assert.ok(tsFiles(SOURCES).length > 50, `found the test sources at ${SOURCES}`);
  assert.deepEqual(offenders, []);
});

test('a missing part skips outside CI and fails under CI=true', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cstats-requires-'));
  try {
    const file = join(dir, 'probe.test.mjs');
    writeFileSync(
      file,
      `import { test } from 'node:test';
import { requires } from ${JSON.stringify(REQUIRES_JS)};
test('needs a unicorn', { skip: requires(false, 'a unicorn') }, () => {});
test('needs nothing', { skip: requires(true, 'the sky') }, () => {});
`,
    );
    const runWith = (ci: string | undefined) => {
      const env = { ...process.env };
      delete env.CI;
      delete env.NODE_TEST_CONTEXT; // else the child reports to this runner, not on stdout
      if (ci !== undefined) env.CI = ci;
      return spawnSync(process.execPath, ['--test', '--test-reporter=tap', file], { encoding: 'utf8', env });
    };
    const local = runWith(undefined);
    assert.equal(local.status, 0, local.stdout + local.stderr);
    assert.match(local.stdout, /# skipped 1/);
    assert.match(local.stdout, /# pass 1/);
    const ci = runWith('true');
    assert.notEqual(ci.status, 0, ci.stdout);
    assert.match(ci.stdout, /not ok \d+ - CI=true forbids skipping: a unicorn/);
    assert.match(ci.stdout, /# fail 1/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
