/**
 * Wall-clock time in an IANA time zone, with no library: Intl gives the offset of any
 * instant; a local time maps to the instant whose local reading it is.
 */
export type LocalDateTime = { year: number; month: number; day: number; hour: number; minute: number };

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export function isTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false; // RangeError: not an IANA zone Intl knows
  }
}

/** The local reading of an instant (seconds dropped). */
export function toLocal(instant: Date, timeZone: string): LocalDateTime & { weekday: number } {
  const parts = Object.fromEntries(
    formatter(timeZone)
      .formatToParts(instant)
      .filter((p) => p.type !== 'literal')
      .map((p) => [p.type, Number(p.value)]),
  ) as Record<string, number>;
  const local = { year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour!, minute: parts.minute! };
  return { ...local, weekday: new Date(Date.UTC(local.year, local.month - 1, local.day)).getUTCDay() };
}

function offsetMs(instant: number, timeZone: string): number {
  const l = toLocal(new Date(instant), timeZone);
  const seconds = new Date(instant).getUTCSeconds();
  return Date.UTC(l.year, l.month - 1, l.day, l.hour, l.minute, seconds) - (instant - (instant % 1000));
}

/**
 * The instant a local time names. A time skipped by a DST change moves forward by the gap
 * (02:30 on a spring-forward night is 03:30); a time that occurs twice is its first
 * occurrence.
 */
export function fromLocal(local: LocalDateTime, timeZone: string): Date {
  const wall = Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute);
  const candidates = new Set<number>();
  for (const probe of [wall - 86_400_000, wall, wall + 86_400_000]) candidates.add(wall - offsetMs(probe, timeZone));
  const exact = [...candidates].filter((t) => wall - offsetMs(t, timeZone) === t).sort((a, b) => a - b);
  if (exact.length > 0) return new Date(exact[0]!);
  // Skipped: use the offset before the gap, which lands after it.
  return new Date(wall - offsetMs(wall - 86_400_000, timeZone));
}

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** The local calendar date `n` days after the given one. */
export function addDays(date: { year: number; month: number; day: number }, n: number) {
  const d = new Date(Date.UTC(date.year, date.month - 1, date.day + n));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), weekday: d.getUTCDay() };
}
