/**
 * Times as the console shows them: one format everywhere
 * (`2026-12-03 14:05:09 Europe/Berlin`), in the display time zone the
 * operator chose (a console setting; its default is `console.time_zone`).
 * Pages read the zone from a JSX context the route sets once per answer.
 */
import { createContext, useContext } from "hono/jsx";

/** The display time zone of the page being rendered. */
export const DisplayZone = createContext<string>("UTC");

/** The zone of the page being rendered (inside a component). */
export function useDisplayZone(): string {
  return useContext(DisplayZone);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterOf(zone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(zone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat("en-CA", {
      timeZone: zone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hourCycle: "h23",
      weekday: "short",
    });
    if (formatters.size > 50) formatters.clear();
    formatters.set(zone, formatter);
  }
  return formatter;
}

/** A moment's calendar fields in `zone`. */
export interface ZonedParts {
  readonly date: string;
  readonly time: string;
  /** `mon` … `sun`. */
  readonly weekday: string;
  /** Minutes since local midnight. */
  readonly minuteOfDay: number;
}

/** The calendar fields of `ms` in `zone`. */
export function zonedParts(ms: number, zone: string): ZonedParts {
  const parts: Record<string, string> = {};
  for (const part of formatterOf(zone).formatToParts(new Date(ms))) parts[part.type] = part.value;
  const hour = Number(parts.hour) % 24;
  return {
    date: `${parts.year}-${parts.month}-${parts.day}`,
    time: `${String(hour).padStart(2, "0")}:${parts.minute}:${parts.second}`,
    weekday: (parts.weekday ?? "").slice(0, 3).toLowerCase(),
    minuteOfDay: hour * 60 + Number(parts.minute),
  };
}

/** `YYYY-MM-DD HH:MM:SS zone`, or "never". */
export function formatTimeIn(ms: number | null | undefined, zone: string): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "never";
  const p = zonedParts(ms, zone);
  return `${p.date} ${p.time} ${zone}`;
}

/** Epoch ms of local midnight starting `date` (`YYYY-MM-DD`) in `zone`. */
export function zonedDayStart(date: string, zone: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return undefined;
  const utc = Date.parse(`${date}T00:00:00Z`);
  if (!Number.isFinite(utc)) return undefined;
  // Two corrections settle any offset (including a DST change that day).
  let guess = utc;
  for (let i = 0; i < 2; i++) {
    const p = zonedParts(guess, zone);
    const shown = Date.parse(`${p.date}T${p.time}Z`);
    guess += utc - shown;
  }
  return guess;
}

/** A duration in words: "42 s", "3 min 05 s", "1 h 02 min". */
export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms) || ms < 0) return "";
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
}
