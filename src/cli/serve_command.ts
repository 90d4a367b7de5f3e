/**
 * `symbo-crm serve`: the one place the running service is wired together —
 * store, audit log, signing keys, tokens, metrics, routes — then served, with a
 * startup banner and a graceful shutdown on SIGTERM/SIGINT.
 */
import type { AuditLog } from "../audit/audit_log.ts";
import { openAuditLog } from "../audit/audit_log.ts";
import { AuditMaintenance } from "../audit/audit_maintenance.ts";
import { steadyClock } from "../audit/audit_clock.ts";
import type { AppliedThrough } from "../audit/audit_retention.ts";
import { auditInstanceId } from "../audit/audit_instance.ts";
import { AuditBodyReader } from "../audit/audit_line_lookup.ts";
import { checkAuditReadiness, redactPaths } from "../audit/audit_readiness.ts";
import {
  DELIVERY_SNAPSHOT_FILE,
  DeliveryIndex,
  deliverySnapshots,
  restoreDeliveries,
} from "../audit/delivery_index.ts";
import { Applier } from "../calls/applier.ts";
import { callRoutes } from "../admin/call_routes.ts";
import { contactRoutes } from "../admin/contact_routes.ts";
import { DEFAULT_IMPORT_WAIT_MS, importRoutes } from "../admin/import_route.ts";
import { createImportJobs } from "../contacts/import_jobs.ts";
import { resetImportSpoolDir } from "../contacts/import_spool_dir.ts";
import { markInterruptedImports } from "../contacts/import_history.ts";
import { messageOf } from "../error_message.ts";
import { SourceRunner } from "../contacts/sources/source_runner.ts";
import { sourceHttpOver } from "../contacts/sources/source_http.ts";
import { sourceRoutes } from "../admin/source_routes.ts";
import { contactBatchRoute } from "../admin/contact_batch_route.ts";
import { withDeadline } from "../deadline.ts";
import { openApiDocument } from "../admin/openapi.ts";
import { unknownNumberRoutes } from "../admin/unknown_number_routes.ts";
import { consoleRoutes } from "../console/console_routes.tsx";
import { createLoginLimiter } from "../console/login_limiter.ts";
import { createSessionSigner, ensureSessionKey } from "../console/session.ts";
import { fileRevocations } from "../console/session_revocations.ts";
import { createUnknownNumbersRecorder } from "../contacts/unknown_numbers.ts";
import { createHourlyCounters } from "../ops/hourly_counters.ts";
import { createWebhookRejections } from "../ops/webhook_rejections.ts";
import { consoleErrorPage } from "../console/error_pages.tsx";
import { clientAddress, createAllowlist } from "../http/ip_allowlist.ts";
import { cameOverHttps } from "../http/request_scheme.ts";
import type { Config, ConfigSource } from "../config/config.ts";
import { configWarnings } from "../config/config_warnings.ts";
import { BodyBudget } from "../http/body_guard.ts";
import { ensureLookupToken } from "../config/lookup_token.ts";
import { countContacts, lookupBodyReader } from "../contacts/contact_store.ts";
import { countedRows } from "../store/row_counts.ts";
import { toRegion } from "../contacts/phone.ts";
import { boundedText, type ConnectionInfo, createApp, type Route } from "../http/app.ts";
import { errorResponse } from "../http/http_error.ts";
import { superviseServer } from "../http/serve_supervisor.ts";
import { logger, maskPhone } from "../log/logging.ts";
import { Metrics } from "../ops/metrics.ts";
import { opsRoutes } from "../ops/ops_routes.ts";
import { localPathOf, redactUrl, type Store } from "../store/open_store.ts";
import { openConfiguredStore } from "./open_configured_store.ts";
import { createLookupHandler } from "../symbo/lookup_route.ts";
import { importSigningKeys } from "../symbo/signature.ts";
import { createWebhookHandler } from "../symbo/webhook_route.ts";
import { VERSION } from "../version.ts";
import { endpointRoutes } from "../admin/endpoint_routes.ts";
import { createHttpClient } from "../outbound/http_client.ts";
import { outboundBacklog } from "../outbound/outbound_queries.ts";
import { OutboundSender } from "../outbound/sender.ts";
import { startCheckpointer } from "../store/checkpointer.ts";

/** A running server. */
export interface RunningServer {
  readonly url: string;
  readonly store: Store;
  readonly audit: AuditLog;
  readonly applier: Applier;
  readonly sender: OutboundSender;
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
  /**
   * The applier's position, which audit retention never removes past. Without
   * one, retention keeps every day (nothing is known to be applied).
   */
  readonly appliedThrough?: AppliedThrough;
  /**
   * Whether the banner goes to an interactive terminal (default: stderr is
   * one). Only then is a generated lookup token shown: journald and log
   * collectors keep stderr, and the token is a credential.
   */
  readonly interactive?: boolean;
  /** Where the configuration came from (for the file-permission warnings). */
  readonly source?: ConfigSource;
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
  // Day files, compaction and retention do not follow a forward step of the wall clock.
  const auditClock = steadyClock(clock, { onStep: (message) => logger("audit").warn(message) });
  const audit = await openAuditLog({
    dir: config.audit.dir,
    clock: auditClock,
    onWarning: (message) => logger("audit").warn(message),
  });

  const signingKeys = await importSigningKeys(config.symbo.webhook_secrets);
  // Lines signed with a retired secret were genuine when they arrived: they still apply.
  const verifyKeys = [
    ...signingKeys,
    ...await importSigningKeys(config.symbo.retired_webhook_secrets),
  ];
  let lookupTokens = config.symbo.lookup_tokens;
  let generatedToken: { token: string; created: boolean; path: string } | null = null;
  if (lookupTokens.length === 0) {
    generatedToken = await ensureLookupToken(config.data_dir);
    lookupTokens = [generatedToken.token];
  }

  const defaultRegion = toRegion(config.contacts.default_region);
  const lookupLog = logger("lookup");
  const metrics = new Metrics({ processMetrics: true });
  const lookups = metrics.counter("symbo_crm_lookups_total", "Contact lookups by result.", [
    "result",
  ]);
  const webhooks = metrics.counter("symbo_crm_webhooks_total", "Webhook deliveries by outcome.", [
    "outcome",
  ]);
  const eventFlags = metrics.counter(
    "symbo_crm_event_flags_total",
    "Applied webhook events flagged: id_conflict (a reused event id), future_timestamp.",
    ["flag"],
  );
  // Counted by triggers (store/row_counts.ts): one indexed read per scrape,
  // where a COUNT(*) over a million contacts held lookups for 90–370 ms.
  metrics.gauge(
    "symbo_crm_contacts",
    "Contacts in the store.",
    () => countContacts(store.reader),
  );
  metrics.gauge("symbo_crm_calls", "Calls in the store.", () => countedRows(store.reader, "calls"));
  // A local store's WAL is checkpointed by a worker thread, not by commits on this one.
  const storePath = store.mode === "file" ? localPathOf(store.url) : null;
  const checkpointer = storePath === null
    ? null
    : await startCheckpointer({ path: storePath, write: store.write, log: logger("store") });
  if (checkpointer !== null) {
    metrics.gauge(
      "symbo_crm_store_wal_frames",
      "Frames in the store's WAL at the last checkpoint (0 once it was truncated).",
      () => checkpointer.status().walFrames,
    );
    metrics.gauge(
      "symbo_crm_store_checkpointer_running",
      "1 while the WAL is checkpointed off the request thread; 0 when the writer does it itself.",
      () => checkpointer.status().running ? 1 : 0,
    );
  }

  // The console's data, recorded in memory on the request path and written by
  // background flushers (started below, stopped on shutdown).
  const unknownNumbers = createUnknownNumbersRecorder({
    write: store.write,
    defaultRegion,
    maxRows: config.contacts.unknown_numbers_max_rows,
    retentionDays: config.contacts.unknown_numbers_retention_days,
    clock: options.clock,
    log: logger("unknown-numbers"),
  });
  const hourly = createHourlyCounters({
    write: store.write,
    clock: options.clock,
    log: logger("counters"),
  });
  const rejections = createWebhookRejections({ write: store.write, log: logger("counters") });
  metrics.gauge(
    "symbo_crm_unknown_numbers_buffered",
    "Unknown numbers recorded in memory, not yet written to the store.",
    () => unknownNumbers.stats().buffered,
  );
  metrics.counterOf(
    "symbo_crm_unknown_numbers_dropped_total",
    "Unknown-number lookups not recorded because the buffer was full (since start).",
    () => unknownNumbers.stats().dropped,
  );
  const sessionKey = await ensureSessionKey(config.data_dir);
  const sessionTtlMs = config.console.session_ttl_minutes * 60_000;

  const lookup = createLookupHandler({
    reader: store.reader,
    readBodyNow: store.driver ? lookupBodyReader(store.driver) : undefined,
    lookupTokens,
    signingKeys,
    defaultRegion,
    onResult: (result, number) => {
      lookups.inc(result);
      if (result === "miss") {
        unknownNumbers.record(number);
        hourly.inc("lookup_unknown");
      } else if (result === "hit") {
        hourly.inc("lookup_found");
      }
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
  const appliedLines = metrics.counter(
    "symbo_crm_applier_lines_total",
    "Audit lines the applier handled, by outcome.",
    ["outcome"],
  );
  const instance = await auditInstanceId(config.audit.dir);
  // Calls sent to the CRM (DESIGN §11): the applier records the outbox in its
  // transactions; this loop delivers it through the one outbound client.
  const outboundClient = createHttpClient({
    allowPrivateNetworks: config.outbound.allow_private_networks,
    allowHttp: config.outbound.allow_http,
    maxIdlePerOrigin: config.outbound.concurrency_per_endpoint,
    connectTimeoutMs: config.outbound.connect_timeout_ms,
    answerTimeoutMs: config.outbound.answer_timeout_ms,
    userAgent: `symbo-crm/${VERSION}`,
  });
  const outboundAttempts = metrics.counter(
    "symbo_crm_outbound_deliveries_total",
    "Outbound delivery attempts by endpoint and outcome.",
    ["endpoint", "outcome"],
  );
  const attemptLatency = metrics.histogram(
    "symbo_crm_outbound_attempt_duration_seconds",
    "Outbound delivery attempt latency by outcome.",
    ["outcome"],
  );
  // Endpoint ids are few (outbound.max_endpoints) but deleted ones must not
  // add series forever: past a bound, further ids count as "other".
  const endpointLabels = new Set<string>();
  const endpointLabel = (id: string) => {
    if (endpointLabels.has(id) || endpointLabels.size < 2 * config.outbound.max_endpoints) {
      endpointLabels.add(id);
      return id;
    }
    return "other";
  };
  const sender = new OutboundSender({
    write: store.write,
    client: outboundClient,
    instance,
    log: logger("outbound"),
    clock,
    concurrency: config.outbound.concurrency,
    concurrencyPerEndpoint: config.outbound.concurrency_per_endpoint,
    retry: { scheduleSeconds: config.outbound.retry_schedule_seconds },
    disableAfterMs: config.outbound.disable_after_days * 86_400_000,
    keepMs: config.outbound.keep_days * 86_400_000,
    pollMs: config.outbound.poll_interval_ms,
    // Longer than an attempt can take, so a claim never expires under a live sender.
    attemptTimeoutMs: config.outbound.connect_timeout_ms + config.outbound.answer_timeout_ms,
    leaseMs: 2 * (config.outbound.connect_timeout_ms + config.outbound.answer_timeout_ms) + 10_000,
    userAgent: `symbo-crm/${VERSION}`,
    onAttempt: (endpointId, outcome, seconds) => {
      outboundAttempts.inc(endpointLabel(endpointId), outcome);
      attemptLatency.observe(seconds, outcome);
    },
  });
  let backlogCache: { at: number; value: Awaited<ReturnType<typeof outboundBacklog>> } | null =
    null;
  // One read for the three gauges of a scrape.
  const backlog = async (maxAgeMs = 1_000) => {
    const at = Date.now();
    if (backlogCache === null || at - backlogCache.at > maxAgeMs) {
      backlogCache = { at, value: await outboundBacklog(store.reader, clock().getTime()) };
    }
    return backlogCache.value;
  };
  metrics.gauge(
    "symbo_crm_outbound_pending",
    "Outbound messages waiting to be delivered (or retried).",
    async () => (await backlog()).pending,
  );
  metrics.gauge(
    "symbo_crm_outbound_oldest_pending_seconds",
    "Age in seconds of the oldest outbound message still pending (0 when none).",
    async () => (await backlog()).oldest_pending_seconds,
  );
  metrics.gauge(
    "symbo_crm_outbound_endpoints_disabled",
    "Outbound endpoints disabled (by hand, or after failing for outbound.disable_after_days).",
    async () => (await backlog()).endpoints_disabled,
  );
  metrics.gauge(
    "symbo_crm_outbound_in_flight",
    "Outbound delivery attempts in flight.",
    () => sender.status().in_flight,
  );
  const applier = new Applier({
    write: store.write,
    reader: store.reader,
    auditDir: config.audit.dir,
    instance,
    verifyKeys,
    tip: () => audit.lastSeq,
    clock,
    log: logger("applier"),
    // Over the network each event costs a few round trips inside the batch's
    // transaction; smaller batches keep it well under sqld's 5 s lock-steal timeout.
    // Locally a batch runs on this thread (0.25–0.4 ms an event): batches are
    // sized to ~3 ms each, so a catch-up (after an import) delays a lookup by
    // a few ms at most (64-line batches held it up to 24 ms).
    maxBatch: store.mode === "file" ? 64 : 32,
    batchTargetMs: store.mode === "file" ? 3 : undefined,
    lagWarningSeconds: config.symbo.apply_lag_warning_seconds,
    onLine: (outcome) => {
      appliedLines.inc(outcome);
      if (outcome === "applied") sender.inbound();
    },
    onFlag: (flag) => eventFlags.inc(flag),
  });
  metrics.gauge(
    "symbo_crm_applier_lag_events",
    "Audited webhook events not yet applied to the store.",
    () => Promise.resolve(applier.status().lag_events),
  );
  metrics.gauge(
    "symbo_crm_applier_lag_seconds",
    "Age in seconds of the oldest audited event not yet applied (0 when caught up).",
    () => Promise.resolve(applier.status().lag_seconds),
  );
  metrics.gauge(
    "symbo_crm_applier_stopped",
    "1 when the applier stopped at an audit line that does not verify.",
    () => Promise.resolve(applier.status().state === "stopped" ? 1 : 0),
  );
  const auditMaintenance = new AuditMaintenance({
    dir: config.audit.dir,
    compress: config.audit.compress,
    keepDays: config.audit.keep_days,
    archiveDir: config.audit.archive_dir,
    // Retention never removes a day past what the applier recorded as applied.
    appliedThrough: options.appliedThrough ??
      (() => {
        const position = applier.status().position;
        return Promise.resolve(position === null ? null : { file: "", seq: position.seq });
      }),
    // chain-start.json is signed with the current webhook secret, or retention removes nothing.
    signingKey: signingKeys[0] ?? null,
    trustKeys: verifyKeys,
    clock: auditClock,
    log: {
      info: (message) => logger("audit").info(message),
      warn: (message) => logger("audit").warn(message),
    },
  });
  metrics.counterOf(
    "symbo_crm_audit_compression_saved_bytes_total",
    "Bytes saved by compressing closed audit days.",
    () => auditMaintenance.stats.savedBytes,
  );
  metrics.counterOf(
    "symbo_crm_audit_files_compressed_total",
    "Closed audit days (one file each) compressed.",
    () => auditMaintenance.stats.compressedDays,
  );
  metrics.counterOf(
    "symbo_crm_audit_files_removed_total",
    "Audit days (one file each) archived or deleted by retention.",
    () => auditMaintenance.stats.removedDays,
  );
  metrics.gauge(
    "symbo_crm_audit_maintenance_last_run_timestamp_seconds",
    "When audit compression and retention last ran (0: not yet).",
    () => (auditMaintenance.stats.lastRunAt?.getTime() ?? 0) / 1000,
  );
  metrics.gauge(
    "symbo_crm_audit_maintenance_last_run_ok",
    "1 when the last audit compression and retention run had no failure, else 0.",
    () => auditMaintenance.stats.lastRunOk ? 1 : 0,
  );
  // The re-delivery window survives a restart: from the snapshot written at the
  // last stop (and every few minutes) plus the lines after it, else from the audit files.
  const deliveries = new DeliveryIndex();
  const deliverySnapshot = `${config.data_dir}/${DELIVERY_SNAPSHOT_FILE}`;
  await restoreDeliveries(config.audit.dir, deliverySnapshot, deliveries);
  const deliveryFlush = deliverySnapshots(config.audit.dir, deliverySnapshot, deliveries);
  const webhook = createWebhookHandler({
    signingKeys,
    audit,
    applier,
    deliveries,
    applyWaitMs: config.symbo.apply_wait_ms,
    maxBodyBytes: config.symbo.max_body_bytes,
    clock,
    log: logger("webhook"),
    onOutcome: (outcome) => {
      webhooks.inc(outcome);
      hourly.inc("webhook");
    },
    onRejected: (reason, bytes, request, connection) => {
      hourly.inc(`rejected_${reason}`);
      const addr = connection.remoteAddr;
      const peer = addr && "hostname" in addr ? addr.hostname : null;
      rejections.record({
        at: clock().getTime(),
        reason,
        bytes,
        source: clientAddress(request, peer, config.server.trust_proxy) ?? peer,
      });
    },
  });

  // Uploads are spooled here (owner-only: it holds contact data) and imported as
  // jobs; what a crashed process left there is removed now.
  const importTempDir = await resetImportSpoolDir(config.data_dir);
  const importJobs = createImportJobs({
    store,
    defaultRegion,
    maxBytes: config.admin.max_import_bytes,
    tempDir: importTempDir,
    clock,
    log: logger("import"),
    idleMs: config.server.request_timeout_ms,
    uploadTimeoutMs: config.admin.import_upload_timeout_ms,
    maxPruneFraction: config.contacts.max_prune_fraction,
  });
  // Import history (issue 21): a job the last process left running was interrupted.
  await markInterruptedImports(store.write, clock()).catch((error) =>
    logger("import").warn("The import history could not be updated at start: {error}", {
      error: messageOf(error),
    })
  );

  // Scheduled contact sources (issue 19): downloads spool under the data folder, owner-only.
  const sourceRuns = metrics.counter(
    "symbo_crm_source_runs_total",
    "Contact source runs by source and outcome.",
    ["source", "outcome"],
  );
  const sourceRows = metrics.counter(
    "symbo_crm_source_rows_total",
    "Contacts changed by source runs, by source and kind (inserted, updated, pruned).",
    ["source", "kind"],
  );
  // Sources fetch through the one outbound client (the address guard at connect time):
  // one guarded, one for the sources that allow private networks (and so plain http).
  const sourceClient = (allowPrivateNetworks: boolean) =>
    createHttpClient({
      allowPrivateNetworks,
      allowHttp: allowPrivateNetworks,
      // A CRM may think a while before its export starts; each source's timeout_ms bounds the whole.
      answerTimeoutMs: Math.max(60_000, ...config.contacts.sources.map((s) => s.timeout_ms)),
      maxIdlePerOrigin: 1,
      userAgent: `symbo-crm/${VERSION}`,
    });
  const sourceClients = { guarded: sourceClient(false), privateNetworks: sourceClient(true) };
  const sources = new SourceRunner({
    store,
    jobs: importJobs,
    sources: config.contacts.sources,
    spoolDir: `${config.data_dir}/sources-spool`,
    maxBytes: config.admin.max_import_bytes,
    instance,
    http: sourceHttpOver(sourceClients),
    clock,
    log: logger("sources"),
    onRun: (name, outcome, counts) => {
      sourceRuns.inc(name, outcome);
      if (counts) {
        for (const kind of ["inserted", "updated", "pruned"] as const) {
          for (let i = 0; i < counts[kind]; i++) sourceRows.inc(name, kind);
        }
      }
    },
  });
  metrics.labelledGauge(
    "symbo_crm_source_last_success_timestamp_seconds",
    "When each contact source last succeeded (imported or unchanged); absent until it has.",
    ["source"],
    async () =>
      (await sources.statuses()).flatMap((s) =>
        s.last_success_at === null
          ? []
          : [[[s.name], Date.parse(s.last_success_at) / 1000] as [string[], number]]
      ),
  );
  metrics.gauge(
    "symbo_crm_sources_failing",
    "Contact sources that have not succeeded for 3 of their periods.",
    () => sources.warnings().length,
  );

  /** Who a request comes from (behind a trusted proxy: the address it forwarded). */
  const clientOf = (request: Request, connection: ConnectionInfo) => {
    const addr = connection.remoteAddr;
    const peer = addr && "hostname" in addr ? addr.hostname : null;
    return clientAddress(request, peer, config.server.trust_proxy) ?? "unknown";
  };

  // Event bodies live only in the audit log; one reader (its per-day index) serves the API and the console.
  const eventBodies = new AuditBodyReader(config.audit.dir, instance);
  const routes: Route[] = [
    { method: "GET", path: "/symbo/lookup", handler: lookup, timeout: false, direct: true },
    { method: "GET", path: "/symbo/webhook", handler: lookup, timeout: false },
    {
      method: "POST",
      path: "/symbo/webhook",
      handler: (request, _params, connection) => webhook(request, connection),
      onBodyRefused: (request, connection) => webhook.refusedBusy(request, connection),
    },
    ...importRoutes(
      importJobs,
      config.admin.tokens,
      config.admin.max_import_bytes,
      // Answer within the request timeout: a longer import answers 202 with its job.
      Math.min(DEFAULT_IMPORT_WAIT_MS, Math.floor(config.server.request_timeout_ms / 2)),
    ),
    contactBatchRoute(store, config.admin.tokens, defaultRegion, config.contacts.batch_max_bytes),
    ...contactRoutes(store, config.admin.tokens, defaultRegion),
    ...sourceRoutes(sources, store.reader, config.admin.tokens),
    ...callRoutes(store, config.admin.tokens, eventBodies),
    ...unknownNumberRoutes(store.reader, config.admin.tokens),
    ...endpointRoutes({
      store,
      adminTokens: config.admin.tokens,
      policy: {
        allowHttp: config.outbound.allow_http,
        allowPrivateNetworks: config.outbound.allow_private_networks,
      },
      maxEndpoints: config.outbound.max_endpoints,
      secretGraceMs: config.outbound.secret_grace_hours * 3_600_000,
      clock,
      onQueued: () => sender.wake(),
    }),
    ...consoleRoutes({
      store,
      adminTokens: config.admin.tokens,
      sessions: await createSessionSigner(
        sessionKey,
        sessionTtlMs,
        fileRevocations(config.data_dir),
      ),
      sessionTtlMs,
      limiter: createLoginLimiter(),
      secure: (request) =>
        config.server.tls !== undefined || cameOverHttps(request, config.server.trust_proxy),
      clientOf,
      auditDir: config.audit.dir,
      dataDir: config.data_dir,
      defaultRegion,
      webhookSecrets: signingKeys.length,
      maxImportBytes: config.admin.max_import_bytes,
      openApi: openApiDocument(),
      importJobs,
      uploadIdleMs: config.server.request_timeout_ms,
      sources,
      eventBodies,
      applierStatus: () => {
        const status = applier.status();
        return {
          state: status.problem === null ? status.state : `${status.state}: ${status.problem}`,
          lagEvents: status.lag_events,
          lagSeconds: status.lag_seconds,
        };
      },
      // The applier checks every line it reads (chain and signature): when it stopped
      // at one, the chain is broken now; otherwise the console's own "Verify now" tells.
      auditLastVerified: () => {
        const status = applier.status();
        return status.state === "stopped"
          ? { at: clock().getTime(), ok: false, problem: status.problem ?? undefined }
          : null;
      },
      outbound: {
        policy: {
          allowHttp: config.outbound.allow_http,
          allowPrivateNetworks: config.outbound.allow_private_networks,
        },
        maxEndpoints: config.outbound.max_endpoints,
        onQueued: () => sender.wake(),
      },
      flushActivity: async () => {
        await unknownNumbers.flush();
        await hourly.flush();
        await rejections.flush();
      },
      timeZone: config.console.time_zone,
      silence: {
        silenceMinutes: config.console.webhook_silence_minutes,
        workingHours: config.console.working_hours,
        workingDays: config.console.working_days,
      },
      clock,
      log: logger("console"),
    }),
    ...opsRoutes({
      metrics,
      metricsPublic: config.metrics.public,
      metricsTokens: [
        ...config.admin.tokens,
        ...(config.metrics.token !== undefined ? [config.metrics.token] : []),
      ],
      checks: [
        // Reported, not deciding: a busy or away store is lag while webhooks are
        // still acknowledged (DESIGN §5.2); lookups answer 503 on their own.
        { name: "store", check: () => store.ping(), decidesReadiness: false },
        { name: "audit", check: () => checkAuditReadiness(audit, config.audit.dir) },
        {
          name: "outbound",
          decidesReadiness: false,
          check: async () => {
            const { endpoints_disabled } = await backlog(0);
            const { problem } = sender.status();
            if (problem !== null) throw new Error(`deliveries wait for the store: ${problem}`);
            if (endpoints_disabled > 0) {
              throw new Error(`${endpoints_disabled} endpoint(s) disabled`);
            }
          },
        },
      ],
      details: () => {
        const status = applier.status();
        return {
          applier: {
            state: status.state,
            lag_events: status.lag_events,
            lag_seconds: status.lag_seconds,
            position: status.position === null
              ? null
              : { seq: status.position.seq, hash: status.position.hash },
            ...(status.problem === null ? {} : { problem: redactPaths(status.problem) }),
          },
          // Reported, not deciding: a CRM export that fails is not a reason to refuse webhooks.
          sources: { failing: sources.warnings() },
          // Reported, never deciding: a CRM that is down is its own problem.
          outbound: { ...sender.status(), ...backlogCache?.value },
        };
      },
    }),
  ];
  const allowlist = createAllowlist(config.symbo.allowed_ips);
  const bodyBudget = new BodyBudget(config.server.max_body_bytes_in_flight, {
    // A quarter of the budget per client address, never less than one largest webhook.
    perClientBytes: Math.max(
      Math.floor(config.server.max_body_bytes_in_flight / 4),
      config.symbo.max_body_bytes,
    ),
  });
  metrics.gauge(
    "symbo_crm_body_in_flight_bytes",
    "Request body bytes held now (server.max_body_bytes_in_flight, plus the small bodies' lane).",
    () => bodyBudget.inFlight,
  );
  const app = createApp({
    routes,
    metrics,
    log,
    requestTimeoutMs: config.server.request_timeout_ms,
    bodyBudget,
    bodyStallMs: config.server.body_stall_timeout_ms,
    bodyMinBytesPerSecond: config.server.body_min_bytes_per_second,
    clientOf,
    notFound: (request) =>
      new URL(request.url).pathname.startsWith("/console/")
        ? consoleErrorPage(404, "The console has no page at this address.")
        : null,
    symboAccess: config.symbo.allowed_ips.length === 0
      ? undefined
      : (request, peer) =>
        allowlist.allows(clientAddress(request, peer, config.server.trust_proxy)),
  });

  unknownNumbers.start();
  hourly.start();
  rejections.start();
  deliveryFlush.start();
  const tls = config.server.tls
    ? {
      cert: await Deno.readTextFile(config.server.tls.cert_file),
      key: await Deno.readTextFile(config.server.tls.key_file),
    }
    : undefined;
  const handler: Deno.ServeHandler<Deno.NetAddr> = config.symbo.allowed_ips.length > 0
    // Reading the peer address costs every request several microseconds: only when it is used.
    ? (request, info) => app.fetch(request, { remoteAddr: info.remoteAddr })
    // (a getter: read only by the console's login rate limit)
    : (request, info) =>
      app.fetch(request, {
        get remoteAddr() {
          return info.remoteAddr;
        },
      });
  const acceptErrors = metrics.counter(
    "symbo_crm_accept_errors_total",
    "Connections the server failed to accept (e.g. too many open files); it listens again.",
  );
  // An accept error (EMFILE) ends Deno.serve's listener: the supervisor listens
  // again instead of letting it end the process (http/serve_supervisor.ts).
  const server = superviseServer({
    port: config.server.port,
    listen: (port) =>
      Deno.serve(
        {
          hostname: config.server.hostname,
          port,
          ...tls,
          onListen: () => {},
          onError: (error) => {
            log.error("Unhandled server error: {error}", { error: boundedText(String(error)) });
            return errorResponse(
              500,
              "internal_error",
              "The server could not handle this request.",
            );
          },
        },
        handler,
      ),
    onAcceptError: () => acceptErrors.inc(),
    warn: (message, properties) => logger("server").warn(message, properties),
  });
  const addr = server.addr;
  applier.start();
  sender.start();
  await sources.start();
  // The banner says where the applier stands; a long catch-up goes on behind it.
  await Promise.race([applier.settled, new Promise((resolve) => setTimeout(resolve, 2_000))]);
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
      await auditMaintenance.stop();
      await applier.stop();
      await sender.stop();
      outboundClient.close();
      // A source's import in progress finishes like any import job (bounded below), or is rolled back with the process.
      await withDeadline(sources.stop(), config.server.shutdown_timeout_ms, () => {});
      sourceClients.guarded.close();
      sourceClients.privateNetworks.close();
      await unknownNumbers.stop().catch(() => {});
      await hourly.stop().catch(() => {});
      await rejections.stop().catch(() => {});
      // A running import finishes (or is cut off and rolled back with the process).
      await withDeadline(importJobs.close(), config.server.shutdown_timeout_ms, () => {});
      await Deno.remove(importTempDir, { recursive: true }).catch(() => {});
      await audit.close();
      await deliveryFlush.stop().catch((error) => {
        logger("webhook").warn("Could not write the re-delivery snapshot: {error}", {
          error: String(error),
        });
      });
      await checkpointer?.stop();
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
    `  audit:    ${config.audit.dir} (${
      config.audit.compress ? "closed days gzip'd" : "uncompressed"
    }; ${
      config.audit.keep_days === null
        ? "kept forever"
        : `kept ${config.audit.keep_days} days, then ${
          config.audit.archive_dir === null ? "deleted" : `moved to ${config.audit.archive_dir}`
        }`
    })`,
    `  applier:  ${describeApplier(applier)}`,
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
    `  console:  ${
      config.admin.tokens.length > 0 ? `${url}/console/ (sign in with an admin token)` : "off"
    }`,
    `  sources:  ${
      config.contacts.sources.length === 0
        ? "none (contacts.sources)"
        : config.contacts.sources.map((source) =>
          `${source.name} (${source.url !== undefined ? "url" : "folder"}, ${
            source.every !== undefined ? `every ${source.every}` : `cron ${source.cron}`
          }${source.prune ? ", prune" : ""})`
        ).join(", ")
    }`,
    `  tls:      ${tls ? "on" : "off"}; ip allowlist: ${
      config.symbo.allowed_ips.length > 0 ? "on" : "off"
    }`,
  ];
  if (generatedToken?.created) {
    banner.push(
      ...generatedTokenLines(generatedToken, options.interactive ?? Deno.stderr.isTerminal()),
    );
  }
  const warnings = await configWarnings(config, options.source ?? { file: null, envOverrides: [] });
  if (warnings.length > 0) {
    banner.push("", ...warnings.map((warning) => `  WARNING: ${warning}`));
  }
  print(banner.join("\n"));
  for (const warning of warnings) logger("config").warn("{warning}", { warning });
  auditMaintenance.start();

  const finished = server.finished.then(() => shutdown());
  return { url, store, audit, applier, sender, shutdown, finished };
}

function describeApplier(applier: Applier): string {
  const status = applier.status();
  if (status.state === "stopped") {
    return `STOPPED: ${status.problem ?? "unknown reason"} (webhooks are still accepted)`;
  }
  const at = `seq ${status.position?.seq ?? 0}`;
  return status.lag_events === 0
    ? `caught up at ${at}`
    : `${status.state.replaceAll("_", " ")} at ${at}, ${status.lag_events} event(s) behind`;
}

/**
 * The banner's lines about a lookup token generated on this start: the token
 * itself only on an interactive terminal, else where to read it.
 */
export function generatedTokenLines(
  generated: { readonly token: string; readonly path: string },
  interactive: boolean,
): string[] {
  return interactive
    ? [
      "",
      `  Generated a lookup token (shown only this once; kept in ${generated.path}):`,
      `    ${generated.token}`,
    ]
    : [
      "",
      `  Generated a lookup token; it is not printed here because stderr is not a terminal (logs keep it).`,
      `  Read it from ${generated.path} (owner-only).`,
    ];
}
