/**
 * aodh's time constraints: an alarm is evaluated only inside one of its windows, each a cron
 * expression for the window's start (minute hour day-of-month month day-of-week, in a time zone)
 * and a duration in seconds. Outside every window the alarm keeps its state, as aodh skips it.
 */
export interface TimeConstraint {
  name: string;
  start: string;
  durationS: number;
  timezone: string;
}

interface Cron {
  fields: Array<Set<number>>;
  /** Day-of-month and day-of-week both restricted: cron matches either (Vixie cron). */
  domOrDow: boolean;
}

const RANGES: Array<[number, number]> = [
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 7],
];

function parseField(text: string, [lo, hi]: [number, number], what: string): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    if (!m) throw new Error(`${what}: cannot read ${JSON.stringify(part)}`);
    const from = m[1] === '*' ? lo : Number(m[2]);
    const to = m[1] === '*' ? hi : m[3] !== undefined ? Number(m[3]) : m[4] !== undefined ? hi : from;
    const step = m[4] !== undefined ? Number(m[4]) : 1;
    if (from < lo || to > hi || from > to || step < 1) throw new Error(`${what}: ${JSON.stringify(part)} is outside ${lo}-${hi}`);
    for (let v = from; v <= to; v += step) out.add(v);
  }
  return out;
}

export function parseCron(text: string): Cron {
  const parts = text.trim().split(/\s+/);
  if (parts.length !== 5) throw new Error(`cron ${JSON.stringify(text)}: expected 5 fields (minute hour day month weekday)`);
  const names = ['minute', 'hour', 'day of month', 'month', 'day of week'];
  const fields = parts.map((p, i) => parseField(p, RANGES[i], names[i]));
  if (fields[4].has(7)) fields[4].add(0);
  return { fields, domOrDow: parts[2] !== '*' && parts[4] !== '*' };
}

/** The wall-clock fields of an instant in a time zone. */
function clock(ms: number, tz: string): { minute: number; hour: number; day: number; month: number; weekday: number } {
  const f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', minute: 'numeric', hour: 'numeric', day: 'numeric', month: 'numeric', weekday: 'short' });
  const parts = Object.fromEntries(f.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  return {
    minute: Number(parts.minute),
    hour: Number(parts.hour),
    day: Number(parts.day),
    month: Number(parts.month),
    weekday: ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(parts.weekday),
  };
}

function cronMatches(c: Cron, ms: number, tz: string): boolean {
  const t = clock(ms, tz);
  const [mi, h, dom, mon, dow] = c.fields;
  if (!mi.has(t.minute) || !h.has(t.hour) || !mon.has(t.month)) return false;
  return c.domOrDow ? dom.has(t.day) || dow.has(t.weekday) : dom.has(t.day) && dow.has(t.weekday);
}

export function validateTimezone(tz: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    throw new Error(`unknown time zone ${JSON.stringify(tz)}`);
  }
}

/**
 * Whether `ms` falls in a window: some minute within the last `durationS` seconds matches the
 * start expression. Answers are cached per minute, so a rule evaluated every second checks the
 * calendar once a minute.
 */
export class ConstraintWindow {
  private readonly crons: Array<{ c: Cron; tc: TimeConstraint }>;
  private cachedMinute = -1;
  private cached = true;

  constructor(constraints: readonly TimeConstraint[]) {
    this.crons = constraints.map((tc) => ({ c: parseCron(tc.start), tc }));
  }

  inside(ms: number): boolean {
    if (this.crons.length === 0) return true;
    const minute = Math.floor(ms / 60_000);
    if (minute === this.cachedMinute) return this.cached;
    this.cachedMinute = minute;
    this.cached = this.crons.some(({ c, tc }) => {
      const back = Math.floor(tc.durationS / 60);
      for (let i = 0; i <= back; i++) {
        const start = (minute - i) * 60_000;
        if (cronMatches(c, start, tc.timezone)) return ms - start <= tc.durationS * 1000;
      }
      return false;
    });
    return this.cached;
  }
}
