// A point in time with nanosecond precision, as Panther keeps timestamps (Go time.Time), plus the
// calendar arithmetic and the `YYYY-MM-DD HH:MM:SS.fffffffff` UTC text format that Panther writes
// for every timestamp column and for p_event_time / p_parse_time.
//
// Calendar math is done with integers (Howard Hinnant's days-from-civil) rather than Date, because
// Date.UTC maps years 0-99 to 1900-1999 and Date has millisecond precision only.

export interface Instant {
  /** Whole seconds since the Unix epoch (may be negative). */
  readonly sec: number;
  /** Nanoseconds within the second, 0..999_999_999. */
  readonly nsec: number;
}

/** Years outside this range are rejected: Panther's text format has exactly four year digits. */
export const MIN_YEAR = 0;
export const MAX_YEAR = 9999;

/** Days since 1970-01-01 of a proleptic Gregorian date. Month 1-12. */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** The calendar date of a day number (inverse of daysFromCivil). */
export function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

export function daysInMonth(year: number, month: number): number {
  if (month === 2 && isLeapYear(year)) return 29;
  return MONTH_DAYS[month - 1] ?? 0;
}

export interface CivilTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  nsec: number;
  /** Offset east of UTC, in seconds. */
  offsetSec: number;
}

/** Validates the fields and converts to an Instant; returns an error sentence when a field is out of range. */
export function instantFromCivil(t: CivilTime): Instant | string {
  if (t.year < MIN_YEAR || t.year > MAX_YEAR) return `year ${t.year} is out of range`;
  if (t.month < 1 || t.month > 12) return `month ${t.month} is out of range`;
  if (t.day < 1 || t.day > daysInMonth(t.year, t.month)) return `day ${t.day} is out of range`;
  if (t.hour > 23) return `hour ${t.hour} is out of range`;
  if (t.minute > 59) return `minute ${t.minute} is out of range`;
  if (t.second > 59) return `second ${t.second} is out of range`;
  const days = daysFromCivil(t.year, t.month, t.day);
  const sec = days * 86400 + t.hour * 3600 + t.minute * 60 + t.second - t.offsetSec;
  return checkRange({ sec, nsec: t.nsec });
}

const MIN_SEC = daysFromCivil(MIN_YEAR, 1, 1) * 86400;
const MAX_SEC = daysFromCivil(MAX_YEAR + 1, 1, 1) * 86400 - 1;

/** Rejects instants whose year cannot be written in Panther's four-digit format. */
export function checkRange(i: Instant): Instant | string {
  if (!Number.isFinite(i.sec) || i.sec < MIN_SEC || i.sec > MAX_SEC)
    return "the time is out of range (years 0000-9999)";
  return i;
}

/** An instant from whole and fractional units since the epoch, e.g. (1720804090123, 1e3) for milliseconds. */
export function instantFromUnits(value: number, unitsPerSecond: number): Instant {
  let sec = Math.floor(value / unitsPerSecond);
  let nsec = Math.round((value - sec * unitsPerSecond) * (1e9 / unitsPerSecond));
  // Rounding a fraction such as 0.9999999999 can reach a full second.
  if (nsec >= 1e9) {
    sec += 1;
    nsec -= 1e9;
  }
  return { sec, nsec };
}

export function instantFromMs(ms: number): Instant {
  return instantFromUnits(ms, 1000);
}

export function instantToMs(i: Instant): number {
  return i.sec * 1000 + Math.floor(i.nsec / 1e6);
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function pad(n: number, width: number): string {
  const s = String(n);
  return s.length >= width ? s : "0".repeat(width - s.length) + s;
}

/** Panther's timestamp text: UTC, `YYYY-MM-DD HH:MM:SS.fffffffff` (nine fraction digits). */
export function formatPantherTime(i: Instant): string {
  const days = Math.floor(i.sec / 86400);
  const secOfDay = i.sec - days * 86400;
  const { year, month, day } = civilFromDays(days);
  const hour = Math.floor(secOfDay / 3600);
  const minute = Math.floor((secOfDay % 3600) / 60);
  const second = secOfDay % 60;
  return `${pad(year, 4)}-${pad2(month)}-${pad2(day)} ${pad2(hour)}:${pad2(minute)}:${pad2(second)}.${pad(i.nsec, 9)}`;
}
