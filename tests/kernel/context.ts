/** StatContexts for controller-reader tests: in-memory files, or the fixture trees on disk. */
import type { StatContext, TickFacts } from '../../src/kernel/cgroup/common.js';
import { oneShotReader } from '../../src/kernel/file.js';

export interface TestContext {
  ctx: StatContext;
  errors: unknown[];
  /** Every path read, in order. */
  reads: string[];
  /** Paths read with a maxAgeReads above 0 (content that may be remembered), with it. */
  maxAges: Map<string, number>;
}

/** Files from a map: a string is the content, an Error is thrown on read, absent means no file. */
export function memoryContext(files: Record<string, string | Error>, tick?: TickFacts): TestContext {
  const errors: unknown[] = [];
  const reads: string[] = [];
  const maxAges = new Map<string, number>();
  const ctx: StatContext = {
    reader: {
      readAt(dir, name, maxAgeReads = 0) {
        const path = `${dir}/${name}`;
        reads.push(path);
        if (maxAgeReads > 0) maxAges.set(path, maxAgeReads);
        const content = files[path];
        if (content instanceof Error) throw content;
        return content;
      },
    },
    onError: (err) => errors.push(err),
    tick,
  };
  return { ctx, errors, reads, maxAges };
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
  return { ctx, errors, reads, maxAges: new Map() };
}

/** An error as node's fs raises it. */
export function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(code), { code });
}

export const U64_MAX = '18446744073709551615';
