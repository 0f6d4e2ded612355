/**
 * Logging with rate limiting per key: a file that is malformed every tick produces one warning,
 * then a reminder with a count at most once a minute, never a storm.
 */
export interface Logger {
  info(source: string, msg: string): void;
  warn(source: string, msg: string): void;
  /** Warns once per key, then at most once per minute with the number suppressed. */
  warnOnce(key: string, source: string, msg: string): void;
}

export function createLogger(write: (line: string) => void = (l) => process.stderr.write(l + '\n'), quiet = false): Logger {
  const seen = new Map<string, { lastMs: number; suppressed: number }>();
  const emit = (level: string, source: string, msg: string): void => {
    if (!quiet || level !== 'info') write(`${new Date().toISOString()} ${level} [${source}] ${msg}`);
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
