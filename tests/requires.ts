/**
 * The one way a test may depend on a part of the host (cgroup v1, root, a hybrid cgroup2 tree):
 * `{ skip: requires(available, 'what is missing') }`. Outside CI a missing part skips the test
 * with that reason; under `CI=true` it fails instead (a test named after the missing part is
 * registered in its place and throws), so that CI can never pass without the real part.
 * tests/requires.test.ts checks that no test skips by any other means.
 */
import { test } from 'node:test';

export const underCI = (): boolean => /^(1|true|yes)$/i.test(process.env.CI ?? '');

export function requires(available: boolean, missing: string): string | false {
  if (available) return false;
  if (underCI()) {
    test(`CI=true forbids skipping: ${missing}`, () => {
      throw new Error(`this host lacks what a test needs (${missing}); under CI=true that is a failure, not a skip`);
    });
  }
  return missing;
}
