/**
 * Structured logging: LogTape with one sink writing JSON lines to stderr (or
 * any sink a test hands in). Phone numbers are masked before they are logged;
 * secrets and bodies are never passed to a logger.
 */
import {
  configureSync,
  getLogger,
  jsonLinesFormatter,
  type Logger,
  type LogLevel,
  type Sink,
} from "@logtape/logtape";

export type { Logger, Sink };

const encoder = new TextEncoder();

/** A sink that writes each record as one JSON line to stderr. */
export function stderrJsonSink(): Sink {
  return (record) => {
    Deno.stderr.writeSync(encoder.encode(jsonLinesFormatter(record)));
  };
}

/** Configures logging for the process (call once, from main). */
export function configureLogging(options: { level: LogLevel; sink?: Sink }): void {
  configureSync({
    reset: true,
    sinks: { main: options.sink ?? stderrJsonSink() },
    loggers: [
      { category: ["symbo-crm"], lowestLevel: options.level, sinks: ["main"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["main"] },
    ],
  });
}

/** The logger of one part of the service, e.g. `logger("http")`. */
export function logger(...category: string[]): Logger {
  return getLogger(["symbo-crm", ...category]);
}

/** Masks a phone number to its last four digits: `+18005551212` → `***1212`. */
export function maskPhone(value: string | null | undefined): string {
  if (!value) return "";
  const digits = value.replace(/\D/g, "");
  return digits.length <= 4 ? "***" : `***${digits.slice(-4)}`;
}
