/** The command-line usage text and the usage error (exit code 2). */

export const USAGE = `symbo-crm — the bridge between your CRM and the Symbo dialer

Usage:
  symbo-crm serve   [--config FILE]                 (default when no command is given)
  symbo-crm import  FILE.csv [--config FILE] [--region CC] [--map MAP.json]
                    [--dry-run] [--strict] [--prune] [--force-prune] [--rejects OUT.csv]
                    [--encoding LABEL] [--id-from COLUMN]
  symbo-crm audit verify [--config FILE]            check the audit log's hash chain
  symbo-crm audit replay [--config FILE]            rebuild calls from the audit log
  symbo-crm backup  OUT.db [--config FILE]          consistent online copy of the store
  symbo-crm check-config [--config FILE]
  symbo-crm --help | --version

Configuration: --config FILE, else $SYMBO_CRM_CONFIG, else ./config.json, else defaults.
Exit codes: 0 done, 1 failed, 2 usage error.`;

/** A command-line mistake: printed with the usage, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}
