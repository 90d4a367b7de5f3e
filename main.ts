/**
 * symbo-crm's entry point: parses the command line, loads the configuration,
 * and hands over to the command. Nothing else in the code base reads argv.
 */
import { parseArgs } from "node:util";
import { ConfigError, loadConfig, readEnvironment } from "./src/config/config.ts";
import { describeConfig } from "./src/cli/check_config_command.ts";
import { configWarnings } from "./src/config/config_warnings.ts";
import { runImportCommand } from "./src/cli/import_command.ts";
import { runAuditCommand } from "./src/cli/audit_command.ts";
import { runBackupCommand } from "./src/cli/backup_command.ts";
import { startServer } from "./src/cli/serve_command.ts";
import { USAGE, UsageError } from "./src/cli/usage.ts";
import { configureLogging } from "./src/log/logging.ts";
import { VERSION } from "./src/version.ts";

/** Runs one command line; returns the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: "string" },
        region: { type: "string" },
        map: { type: "string" },
        "dry-run": { type: "boolean" },
        strict: { type: "boolean" },
        prune: { type: "boolean" },
        "force-prune": { type: "boolean" },
        rejects: { type: "string" },
        encoding: { type: "string" },
        "id-from": { type: "string" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "V" },
      },
    });
  } catch (error) {
    return usageFailure(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.version) {
    console.log(`symbo-crm ${VERSION}`);
    return 0;
  }
  const [command = "serve", ...rest] = positionals;
  try {
    const { config, source } = await loadConfig({ path: values.config, env: readEnvironment() });
    configureLogging({ level: config.log.level });
    switch (command) {
      case "serve": {
        expectArgs(rest, 0, "serve");
        const server = await startServer(config, { handleSignals: true, source });
        await server.finished;
        return 0;
      }
      case "check-config":
        expectArgs(rest, 0, "check-config");
        for (const line of describeConfig(config, source)) console.log(line);
        for (const warning of await configWarnings(config, source)) {
          console.log(`  WARNING: ${warning}`);
        }
        return 0;
      case "import": {
        const [file] = expectArgs(rest, 1, "import FILE.csv");
        return await runImportCommand(config, {
          file,
          region: values.region,
          mapFile: values.map,
          dryRun: values["dry-run"] ?? false,
          strict: values.strict ?? false,
          prune: values.prune ?? false,
          forcePrune: values["force-prune"] ?? false,
          rejectsFile: values.rejects,
          encoding: values.encoding,
          idFrom: values["id-from"],
        });
      }
      case "audit": {
        const [action] = expectArgs(rest, 1, "audit verify|replay");
        if (action !== "verify" && action !== "replay") {
          throw new UsageError(
            `Unknown audit action "${action}": use "audit verify" or "audit replay".`,
          );
        }
        return await runAuditCommand(config, action);
      }
      case "backup": {
        const [out] = expectArgs(rest, 1, "backup OUT.db");
        return await runBackupCommand(config, out);
      }
      default:
        throw new UsageError(`Unknown command "${command}".`);
    }
  } catch (error) {
    if (error instanceof UsageError) return usageFailure(error.message);
    if (error instanceof ConfigError) {
      console.error(error.message);
      return 1;
    }
    console.error(`symbo-crm: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

function expectArgs(args: readonly string[], count: 1, usage: string): [string];
function expectArgs(args: readonly string[], count: 0, usage: string): [];
function expectArgs(args: readonly string[], count: number, usage: string): string[] {
  if (args.length !== count) {
    throw new UsageError(
      count === 0
        ? `"${usage}" takes no arguments (got: ${args.join(" ")}).`
        : `Expected: symbo-crm ${usage}.`,
    );
  }
  return [...args];
}

function usageFailure(message: string): number {
  console.error(`symbo-crm: ${message}\n\n${USAGE}`);
  return 2;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
