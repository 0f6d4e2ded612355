/** StatContexts for controller-reader tests: in-memory files, or the fixture trees on disk. */
import type { StatContext } from '../../src/kernel/cgroup/read-file.js';
import { oneShotReader } from '../../src/kernel/kept-file.js';

export interface TestContext {
  ctx: StatContext;
  errors: unknown[];
  /** Every path read, in order. */
  reads: string[];
}

/** Files from a map: a string is the content, an Error is thrown on read, absent means no file. */
export function memoryContext(files: Record<string, string | Error>): TestContext {
  const errors: unknown[] = [];
  const reads: string[] = [];
  const ctx: StatContext = {
    reader: {
      readAt(dir, name) {
        const path = `${dir}/${name}`;
        reads.push(path);
        const content = files[path];
        if (content instanceof Error) throw content;
        return content;
      },
    },
    onError: (err) => errors.push(err),
  };
  return { ctx, errors, reads };
}

/** Real files on disk (fixture trees under tests/fixtures, or this machine's /proc and /sys). */
export function diskContext(): TestContext {
  const errors: unknown[] = [];
  const reads: string[] = [];
  const ctx: StatContext = {
    reader: {
      readAt(dir, name) {
        const path = `${dir}/${name}`;
        reads.push(path);
        return oneShotReader.read(path);
      },
    },
    onError: (err) => errors.push(err),
  };
  return { ctx, errors, reads };
}

/** An error as node's fs raises it. */
export function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(code), { code });
}

export const U64_MAX = '18446744073709551615';
