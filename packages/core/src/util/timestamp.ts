/**
 * The instant an RFC 3339 timestamp names, in epoch milliseconds, or `undefined` for anything
 * else. A date-time must carry its zone (`Z` or `±hh:mm`): without one, `Date.parse` takes the
 * local time of whichever server reads it, and instances in other zones disagree. A bare date
 * (`YYYY-MM-DD`) is midnight UTC, as `Date.parse` reads it everywhere.
 *
 * @example timestampMs('2027-01-01T00:00:00Z') // 1798761600000
 * @example timestampMs('2027-01-01T00:00') // undefined: local time of which server?
 */
export function timestampMs(text: string): number | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?([Zz]|[+-](\d{2}):(\d{2})))?$/.exec(text);
  if (match === null) return undefined;
  const [, year, month, day, hour = '0', minute = '0', second = '0', , offsetHours = '0', offsetMinutes = '0'] = match;
  const y = Number(year);
  const mo = Number(month);
  const d = Number(day);
  // Date.UTC rolls 30 February over into March: a day it moved did not exist.
  const date = new Date(Date.UTC(y, mo - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return undefined;
  if (Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59 || Number(offsetHours) > 23 || Number(offsetMinutes) > 59) return undefined;
  const ms = Date.parse(text.toUpperCase());
  return Number.isNaN(ms) ? undefined : ms;
}

/** What `timestampMs` accepts, for messages. */
export const TIMESTAMP_FORMS = 'an ISO 8601 date-time with a zone (Z or ±hh:mm), or a date YYYY-MM-DD (UTC)';
