/**
 * Cron schedules as Kubernetes CronJobs read them (5 fields, UTC, Vixie semantics: when both
 * day-of-month and day-of-week are restricted, a day matching either fires), and the longest gap
 * between two firings, which is what "at least weekly" means. Pure.
 */

import { memoizeText } from "./memo";

export interface Cron {
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly daysOfMonth: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  /** 0 = Sunday. */
  readonly daysOfWeek: ReadonlySet<number>;
  readonly domRestricted: boolean;
  readonly dowRestricted: boolean;
}

export type CronResult = { ok: true; cron: Cron } | { ok: false; error: string };

const MACROS: Readonly<Record<string, string>> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};
const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  /** Offset of names[0] (months start at 1). */
  readonly nameBase?: number;
}

const FIELDS: readonly FieldSpec[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: MONTHS, nameBase: 1 },
  { name: "day of week", min: 0, max: 7, names: DAYS, nameBase: 0 },
];

function value(text: string, f: FieldSpec): number {
  const i = f.names?.indexOf(text.toLowerCase()) ?? -1;
  if (i >= 0) return i + (f.nameBase ?? 0);
  if (!/^\d+$/.test(text)) throw new Error(`${f.name}: ${JSON.stringify(text)} is not a number`);
  const n = Number(text);
  if (n < f.min || n > f.max) throw new Error(`${f.name}: ${n} is outside ${f.min}-${f.max}`);
  return n;
}

function field(text: string, f: FieldSpec): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(",")) {
    const [range, stepText, extra] = part.split("/");
    if (extra !== undefined || range === "")
      throw new Error(`${f.name}: ${JSON.stringify(part)} is malformed`);
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1)
      throw new Error(`${f.name}: step ${JSON.stringify(stepText)} must be a positive integer`);
    let lo: number;
    let hi: number;
    if (range === "*" || range === "?") [lo, hi] = [f.min, f.max];
    else if (range.includes("-")) {
      const [a, b] = range.split("-");
      [lo, hi] = [value(a, f), value(b, f)];
      if (lo > hi) throw new Error(`${f.name}: range ${range} runs backwards`);
    } else {
      lo = value(range, f);
      hi = stepText === undefined ? lo : f.max;
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

/** Parses a 5-field cron expression or a macro. Never throws. */
export function parseCron(expression: string): CronResult {
  const text = MACROS[expression.trim().toLowerCase()] ?? expression.trim();
  const parts = text.split(/\s+/);
  if (parts.length !== 5)
    return {
      ok: false,
      error: `expected 5 fields (minute hour day-of-month month day-of-week), got ${parts.length}`,
    };
  try {
    const [mi, h, dom, mon, dow] = parts.map((p, i) => field(p, FIELDS[i]));
    if (dow.has(7)) {
      dow.delete(7);
      dow.add(0);
    }
    const star = (p: string) => p === "*" || p === "?";
    return {
      ok: true,
      cron: {
        minutes: [...mi].sort((a, b) => a - b),
        hours: [...h].sort((a, b) => a - b),
        daysOfMonth: dom,
        months: mon,
        daysOfWeek: dow,
        domRestricted: !star(parts[2]),
        dowRestricted: !star(parts[4]),
      },
    };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

function dayMatches(c: Cron, d: Date): boolean {
  if (!c.months.has(d.getUTCMonth() + 1)) return false;
  const dom = c.daysOfMonth.has(d.getUTCDate());
  const dow = c.daysOfWeek.has(d.getUTCDay());
  if (c.domRestricted && c.dowRestricted) return dom || dow;
  return dom && dow;
}

const DAY = 86_400;
/** Eight years from a leap year: covers every month length, leap days and weekday alignment. */
const WINDOW_START = Date.UTC(2024, 0, 1) / 1000;
const WINDOW_DAYS = 8 * 366;

/**
 * The longest time between two consecutive firings, in seconds (Infinity when the schedule
 * never fires, e.g. `0 0 30 2 *`). Exact over an eight-year window.
 */
export function maxIntervalSeconds(c: Cron): number {
  const times = c.hours.flatMap((h) => c.minutes.map((m) => h * 3600 + m * 60));
  let within = 0;
  for (let i = 1; i < times.length; i++) within = Math.max(within, times[i] - times[i - 1]);
  let last: number | undefined;
  let max = 0;
  for (let day = 0; day < WINDOW_DAYS; day++) {
    const start = WINDOW_START + day * DAY;
    if (!dayMatches(c, new Date(start * 1000))) continue;
    if (last !== undefined) max = Math.max(max, start + times[0] - last);
    last = start + times[times.length - 1];
    max = Math.max(max, within);
  }
  return last === undefined ? Infinity : max;
}

/**
 * Parse result and longest gap of an expression, memoized by its text: every stack carries the
 * same few schedules, and the gap walks eight years of days.
 */
export const cronGap = memoizeText(
  (expression: string): { ok: true; gapSeconds: number } | { ok: false; error: string } => {
    const r = parseCron(expression);
    return r.ok ? { ok: true, gapSeconds: maxIntervalSeconds(r.cron) } : r;
  },
);

/** `maxIntervalSeconds` of an expression; undefined when it does not parse. */
export function scheduleInterval(expression: string): number | undefined {
  const r = parseCron(expression);
  return r.ok ? maxIntervalSeconds(r.cron) : undefined;
}
