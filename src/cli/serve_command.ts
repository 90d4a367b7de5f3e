/**
 * `symbo-crm serve`: the one place the running service is wired together —
 * store, audit log, signing keys, tokens, metrics, routes — then served, with a
 * startup banner and a graceful shutdown on SIGTERM/SIGINT.
 */
import type { AuditLog } from "../audit/audit_log.ts";
import { openAuditLog } from "../audit/audit_log.ts";
import { createEventApplier } from "../calls/event_applier.ts";
import { callRoutes } from "../admin/call_routes.ts";
import { contactRoutes } from "../admin/contact_routes.ts";
import { importRoute } from "../admin/import_route.ts";
import { clientAddress, createAllowlist } from "../http/ip_allowlist.ts";
import type { Config } from "../config/config.ts";
import { ensureLookupToken } from "../config/lookup_token.ts";
import { countContacts, lookupBodyReader } from "../contacts/contact_store.ts";
import { toRegion } from "../contacts/phone.ts";
import { createApp, type Route } from "../http/app.ts";
import { errorResponse } from "../http/http_error.ts";
import { logger, maskPhone } from "../log/logging.ts";
import { Metrics } from "../ops/metrics.ts";
import { opsRoutes } from "../ops/ops_routes.ts";
import { redactUrl, type Store } from "../store/open_store.ts";
import { openConfiguredStore } from "./open_configured_store.ts";
import { createLookupHandler } from "../symbo/lookup_route.ts";
import { importSigningKeys } from "../symbo/signature.ts";
import { createWebhookHandler } from "../symbo/webhook_route.ts";
import { VERSION } from "../version.ts";

/** A running server. */
export interface RunningServer {
  readonly url: string;
  readonly store: Store;
  readonly audit: AuditLog;
  /** Stops accepting, finishes in-flight requests, closes the audit log and store. */
  shutdown(): Promise<void>;
  /** Resolves when the server has stopped. */
  readonly finished: Promise<void>;
}

/** Options that only the entry point and tests set. */
export interface ServeOptions {
  readonly clock?: () => Date;
  /** Where the banner goes (stderr by default). */
  readonly print?: (line: string) => void;
  /** Install SIGTERM/SIGINT handlers (the CLI does; in-process tests do not). */
  readonly handleSignals?: boolean;
}

/** Opens everything and serves. */
export async function startServer(
  config: Config,
  options: ServeOptions = {},
): Promise<RunningServer> {
  const clock = options.clock ?? (() => new Date());
  const print = options.print ?? ((line: string) => console.error(line));
  const log = logger("http");
  const store = await openConfiguredStore(config);
  const audit = await openAuditLog({
    dir: config.audit.dir,
    clock,
    onWarning: (message) => logger("audit").warn(message),
  });

  const signingKeys = await importSigningKeys(config.symbo.webhook_secrets);
  let lookupTokens = config.symbo.lookup_tokens;
  let generatedToken: { token: string; created: boolean; path: string } | null = null;
  if (lookupTokens.length === 0) {
    generatedToken = await ensureLookupToken(config.data_dir);
    lookupTokens = [generatedToken.token];
  }

  const defaultRegion = toRegion(config.contacts.default_region);
  const lookupLog = logger("lookup");
  const metrics = new Metrics();
  const lookups = metrics.counter("symbo_crm_lookups_total", "Contact lookups by result.", [
    "result",
  ]);
  const webhooks = metrics.counter("symbo_crm_webhooks_total", "Webhook deliveries by outcome.", [
    "outcome",
  ]);
  metrics.gauge("symbo_crm_contacts", "Contacts in the store.", () => countContacts(store.reader));
  metrics.gauge("symbo_crm_calls", "Calls in the store.", async () => {
    const row = await store.reader.first("SELECT COUNT(*) AS n FROM calls");
    return row ? Number(row.n) : 0;
  });

  const lookup = createLookupHandler({
    reader: store.reader,
    readBodyNow: store.driver ? lookupBodyReader(store.driver) : undefined,
    lookupTokens,
    signingKeys,
    defaultRegion,
    onResult: (result, number) => {
      lookups.inc(result);
      // Numbers are personal data: only their last four digits reach the log.
      if (lookupLog.isEnabledFor("debug")) {
        lookupLog.debug("Lookup {result} for {number}", { result, number: maskPhone(number) });
      }
    },
    onUnavailable: (error) =>
      logger("lookup").warn("Lookup answered 503, the store is unavailable: {error}", {
        error: String(error),
      }),
  });
  const webhook = createWebhookHandler({
    signingKeys,
    audit,
    // Over the network each event costs a few round trips inside the batch's
    // transaction; smaller batches keep it well under sqld's 5 s lock-steal timeout.
    apply: createEventApplier(store.write, { maxBatch: store.mode === "file" ? 256 : 32 }),
    maxBodyBytes: config.symbo.max_body_bytes,
    clock,
    log: logger("webhook"),
    onOutcome: (outcome) => webhooks.inc(outcome),
  });

  const routes: Route[] = [
    { method: "GET", path: "/symbo/lookup", handler: lookup, timeout: false, direct: true },
    { method: "GET", path: "/symbo/webhook", handler: lookup, timeout: false },
    { method: "POST", path: "/symbo/webhook", handler: webhook },
    importRoute(store, config.admin.tokens, defaultRegion, config.admin.max_import_bytes),
    ...contactRoutes(store, config.admin.tokens, defaultRegion),
    ...callRoutes(store, config.admin.tokens),
    ...opsRoutes({
      metrics,
      metricsToken: config.metrics.token,
      checks: [
        { name: "store", check: () => store.ping() },
        { name: "audit", check: () => checkWritable(config.audit.dir) },
      ],
    }),
  ];
  const allowlist = createAllowlist(config.symbo.allowed_ips);
  const app = createApp({
    routes,
    metrics,
    log,
    requestTimeoutMs: config.server.request_timeout_ms,
    symboAccess: config.symbo.allowed_ips.length === 0
      ? undefined
      : (request, peer) =>
        allowlist.allows(clientAddress(request, peer, config.server.trust_proxy)),
  });

  const listening = Promise.withResolvers<Deno.NetAddr>();
  const tls = config.server.tls
    ? {
      cert: await Deno.readTextFile(config.server.tls.cert_file),
      key: await Deno.readTextFile(config.server.tls.key_file),
    }
    : undefined;
  const server = Deno.serve(
    {
      hostname: config.server.hostname,
      port: config.server.port,
      ...tls,
      onListen: (addr) => listening.resolve(addr),
      onError: (error) => {
        log.error("Unhandled server error: {error}", { error: String(error) });
        return errorResponse(500, "internal_error", "The server could not handle this request.");
      },
    },
    config.symbo.allowed_ips.length > 0
      // Reading the peer address costs every request several microseconds: only when it is used.
      ? (request, info) => app.fetch(request, { remoteAddr: info.remoteAddr })
      : (request) => app.fetch(request, {}),
  );
  const addr = await listening.promise;
  const scheme = tls ? "https" : "http";
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  const url = `${scheme}://${host}:${addr.port}`;

  let stopping: Promise<void> | null = null;
  const shutdown = () => {
    stopping ??= (async () => {
      // In-flight requests get shutdown_timeout_ms to finish; a webhook cut off
      // after its audit line is still recovered by `audit replay`.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          logger("server").warn(
            "In-flight requests did not finish within {ms} ms; stopping anyway.",
            {
              ms: config.server.shutdown_timeout_ms,
            },
          );
          resolve();
        }, config.server.shutdown_timeout_ms);
      });
      await Promise.race([server.shutdown(), deadline]);
      clearTimeout(timer);
      await audit.close();
      store.close();
    })();
    return stopping;
  };
  if (options.handleSignals) {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      Deno.addSignalListener(signal, () => {
        logger("server").info("Received {signal}; finishing in-flight requests and stopping.", {
          signal,
        });
        void shutdown();
      });
    }
  }

  const banner = [
    `symbo-crm ${VERSION} listening on ${url}`,
    `  store:    ${redactUrl(store.url)} (${store.mode})`,
    `  audit:    ${config.audit.dir}`,
    `  webhook:  ${
      signingKeys.length > 0
        ? `POST ${url}/symbo/webhook (${signingKeys.length} secret${
          signingKeys.length > 1 ? "s" : ""
        })`
        : "NOT CONFIGURED: set symbo.webhook_secrets or SYMBO_WEBHOOK_SECRETS (answers 503 until then)"
    }`,
    `  lookup:   GET ${url}/symbo/lookup?number=… (${
      generatedToken
        ? `generated token in ${generatedToken.path}`
        : `${lookupTokens.length} token(s)`
    })`,
    `  admin:    ${
      config.admin.tokens.length > 0 ? "on" : "off (set admin.tokens or ADMIN_TOKENS)"
    }`,
    `  tls:      ${tls ? "on" : "off"}; ip allowlist: ${
      config.symbo.allowed_ips.length > 0 ? "on" : "off"
    }`,
  ];
  if (generatedToken?.created) {
    banner.push(
      "",
      `  Generated a lookup token (shown only this once; kept in ${generatedToken.path}):`,
      `    ${generatedToken.token}`,
    );
  }
  print(banner.join("\n"));

  const finished = server.finished.then(() => shutdown());
  return { url, store, audit, shutdown, finished };
}

async function checkWritable(dir: string): Promise<void> {
  const probe = `${dir}/.readyz-${crypto.randomUUID()}`;
  await Deno.writeTextFile(probe, "", { mode: 0o600 });
  await Deno.remove(probe);
}
