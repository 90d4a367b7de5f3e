/**
 * Prometheus naming rules for our metrics, as `promtool check metrics` applies
 * them (client_golang's promlint), for machines without promtool: counters end
 * in `_total` and nothing else does, units are base units (seconds, bytes),
 * names are snake_case, every metric has help.
 */

/** Units promlint asks to replace by a base unit, by the word as it appears in a name. */
const NON_BASE_UNITS: Readonly<Record<string, string>> = {
  milliseconds: "seconds",
  microseconds: "seconds",
  nanoseconds: "seconds",
  minutes: "seconds",
  hours: "seconds",
  days: "seconds",
  weeks: "seconds",
  ms: "seconds",
  kilobytes: "bytes",
  megabytes: "bytes",
  gigabytes: "bytes",
  bits: "bytes",
  percent: "ratio",
  celsius: "kelvin",
};

/** One metric family from `# HELP` and `# TYPE` lines. */
export interface MetricFamily {
  readonly name: string;
  readonly type: string;
  readonly help: string;
}

/** The metric families declared in a Prometheus text exposition. */
export function metricFamilies(text: string): MetricFamily[] {
  const help = new Map<string, string>();
  const families: MetricFamily[] = [];
  for (const line of text.split("\n")) {
    const helpMatch = /^# HELP (\S+) ?(.*)$/.exec(line);
    if (helpMatch) help.set(helpMatch[1]!, helpMatch[2] ?? "");
    const typeMatch = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (typeMatch) {
      families.push({
        name: typeMatch[1]!,
        type: typeMatch[2]!,
        help: help.get(typeMatch[1]!) ?? "",
      });
    }
  }
  return families;
}

/** What is wrong with a family's name, type or help (empty when nothing). */
export function namingProblems(family: MetricFamily): string[] {
  const problems: string[] = [];
  const { name, type } = family;
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) problems.push(`${name}: not snake_case`);
  if (type === "counter" && !name.endsWith("_total")) {
    problems.push(`${name}: a counter's name ends in _total`);
  }
  if (type !== "counter" && name.endsWith("_total")) {
    problems.push(`${name}: a ${type} must not end in _total`);
  }
  for (const word of name.split("_")) {
    const base = NON_BASE_UNITS[word];
    if (base) problems.push(`${name}: use base unit "${base}" instead of "${word}"`);
  }
  if (family.help.trim() === "") problems.push(`${name}: no help text`);
  return problems;
}
