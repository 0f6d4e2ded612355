/**
 * Logging with rate limiting per key: a file that is malformed every tick produces one warning,
 * then a reminder with a count at most once a minute, never a storm.
 *
 * One line per event, always: line breaks inside a message (a stack trace) become " | " and
 * other control characters are escaped, so neither journald nor a terminal ever sees colour
 * codes or a line that did not come from the agent. When stderr is journald's stream
 * (systemd sets JOURNAL_STREAM to its device:inode), each line starts with the syslog
 * priority ("<4>" warning, "<6>" info) that journald reads as the entry's level, and carries no
 * timestamp of its own: journald stamps every entry.
 */
import { fstatSync } from 'node:fs';

export interface Logger {
  info(source: string, msg: string): void;
  warn(source: string, msg: string): void;
  /** Warns once per key, then at most once per minute with the number suppressed. */
  warnOnce(key: string, source: string, msg: string): void;
}

/** Whether file descriptor `fd` is the stream systemd connected to journald (JOURNAL_STREAM). */
export function isJournalStream(fd = 2, env: NodeJS.ProcessEnv = process.env): boolean {
  const m = /^(\d+):(\d+)$/.exec(env.JOURNAL_STREAM ?? '');
  if (!m) return false;
  try {
    const st = fstatSync(fd, { bigint: true });
    return st.dev === BigInt(m[1]) && st.ino === BigInt(m[2]);
  } catch {
    return false;
  }
}

const PRIORITY: Record<string, number> = { warn: 4, info: 6 };

/** A message as one line of printable text: breaks become " | ", other controls \xNN. */
export function oneLine(msg: string): string {
  return msg.replace(/\s*(?:\r\n|\r|\n)\s*/g, ' | ').replace(/[\x00-\x08\x0b-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function createLogger(write: (line: string) => void = (l) => process.stderr.write(l + '\n'), quiet = false, journald = isJournalStream()): Logger {
  const seen = new Map<string, { lastMs: number; suppressed: number }>();
  const emit = (level: string, source: string, msg: string): void => {
    if (quiet && level === 'info') return;
    const text = `${level} [${source}] ${oneLine(msg)}`;
    write(journald ? `<${PRIORITY[level]}>${text}` : `${new Date().toISOString()} ${text}`);
  };
  return {
    info: (s, m) => emit('info', s, m),
    warn: (s, m) => emit('warn', s, m),
    warnOnce(key, source, msg) {
      const now = Date.now();
      const st = seen.get(key);
      if (!st) {
        seen.set(key, { lastMs: now, suppressed: 0 });
        emit('warn', source, msg);
      } else if (now - st.lastMs >= 60_000) {
        emit('warn', source, st.suppressed > 0 ? `${msg} (${st.suppressed} more like it in the last minute)` : msg);
        st.lastMs = now;
        st.suppressed = 0;
      } else {
        st.suppressed++;
      }
      if (seen.size > 10_000) seen.clear();
    },
  };
}
