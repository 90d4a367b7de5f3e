/**
 * The operator console's routes (DESIGN §9): login/logout, the session and
 * CSRF checks, and each page's handler, which gathers the page's data through
 * the domain queries (`calls/`, `contacts/`, `audit/`) and renders it. Every
 * HTML answer carries a strict Content-Security-Policy: scripts and styles
 * only from our own embedded assets, nothing inline.
 */
import { statfs } from "node:fs/promises";
import type { CountryCode } from "libphonenumber-js";
import { unknownNumbersCsvResponse } from "../admin/unknown_number_routes.ts";
import { auditFiles, auditLinesBySeq } from "../audit/audit_browse.ts";
import { auditDayPage, findAuditSeq, isDayFileName } from "../audit/audit_day_pages.ts";
import { verifyAuditLog } from "../audit/audit_verify.ts";
import type { AuditBodySource } from "../audit/audit_line_lookup.ts";
import {
  EventBodyUnavailableError,
  getCallEventBody,
  getCallWithHistory,
  HistoryCursorError,
} from "../calls/call_queries.ts";
import { listRepNames, RepNameError, repNamesOf, saveRepName } from "../calls/rep_names.ts";
import { namesOf } from "./call_view.ts";
import { SettingsPage } from "./pages/settings.tsx";
import { countCalls, searchCalls } from "../calls/call_search.ts";
import { callFacets, callsPerDay, lastEventReceivedAt } from "../calls/call_stats.ts";
import { toLookupBody } from "../contacts/contact.ts";
import { countContactSearch, searchContacts } from "../contacts/contact_search.ts";
import { getContact } from "../contacts/contact_store.ts";
import { listUnknownNumbers } from "../contacts/unknown_numbers.ts";
import { messageOf } from "../error_message.ts";
import type { ConnectionInfo, Route } from "../http/app.ts";
import { matchesAny } from "../http/constant_time.ts";
import { errorResponse, HttpError, jsonResponse, SECURITY_HEADERS } from "../http/http_error.ts";
import type { Logger } from "../log/logging.ts";
import { recentHourlyCounts } from "../ops/hourly_counters.ts";
import { recentRejections } from "../ops/webhook_rejections.ts";
import { deliveryCards, type SilencePolicy } from "./delivery_health.ts";
import { DisplayZone, formatTimeIn } from "./display_time.ts";
import { displayZone, saveDisplayZone } from "./console_settings.ts";
import { WebhookRejectionsPage } from "./pages/webhook_rejections.tsx";
import { consoleErrorPage } from "./error_pages.tsx";
import type { HourlyCounts } from "../ops/hourly_counters.ts";
import type { Store } from "../store/open_store.ts";
import type { JSX } from "hono/jsx/jsx-runtime";
import { ASSETS } from "./assets.ts";
import { HTML_HEADERS } from "./console_headers.ts";
import {
  type ImportJob,
  type ImportJobs,
  type ImportRerun,
  ImportSubmitError,
  type SpooledUpload,
} from "../contacts/import_jobs.ts";
import { submitError } from "../admin/import_route.ts";
import { withDeadline } from "../deadline.ts";
import { multipartBoundary, partText, readMultipart } from "../http/multipart_stream.ts";
import { clientClosed } from "../http/body_guard.ts";
import type { SourceRunner } from "../contacts/sources/source_runner.ts";
import { listRuns } from "../contacts/sources/source_runs.ts";
import { SourcesPage } from "./pages/sources.tsx";
import { formatAge } from "./layout.tsx";
import type { LoginLimiter } from "./login_limiter.ts";
import { safeNext } from "./login_next.ts";
import { ApiReferencePage } from "./pages/api_reference.tsx";
import { AuditFilePage, auditLineHref, AuditPage, type VerifyResult } from "./pages/audit.tsx";
import { CallDetailPage } from "./pages/call_detail.tsx";
import { CallsPage } from "./pages/calls.tsx";
import { callFilterForm, callSearchOf, formQuery } from "./call_filters.ts";
import { callsCsvResponse } from "./calls_csv.ts";
import { csvLine } from "../csv/csv_cell.ts";
import { ContactPage, ContactsPage } from "./pages/contacts.tsx";
import { ImportJobPage, ImportPage } from "./pages/import.tsx";
import {
  getImportHistoryJob,
  IMPORT_HISTORY_KEEP,
  type ImportJobView,
  listImportHistory,
} from "../contacts/import_history.ts";
import { HeaderMapError, type UserMap } from "../contacts/csv_headers.ts";
import { mappingFromForm } from "./import_mapping_form.ts";
import { LoginPage } from "./pages/login.tsx";
import { type OverviewCheck, OverviewPage } from "./pages/overview.tsx";
import { UnknownNumbersPage } from "./pages/unknown_numbers.tsx";
import { type OutboundConsoleDeps, outboundConsoleRoutes } from "./outbound_console_routes.tsx";
import {
  cookieHeader,
  LOGIN_COOKIE,
  readCookie,
  type Session,
  SESSION_COOKIE,
  type SessionSigner,
} from "./session.ts";

/** The applier's state as the overview shows it (provided by the inbox's applier). */
export interface ApplierStatus {
  readonly state: string;
  readonly lagEvents: number;
  readonly lagSeconds: number;
}

/** What the console needs. */
export interface ConsoleDeps {
  readonly store: Store;
  readonly adminTokens: readonly string[];
  readonly sessions: SessionSigner;
  readonly sessionTtlMs: number;
  readonly limiter: LoginLimiter;
  /**
   * Whether a request came over HTTPS (TLS here, or a trusted proxy's
   * `X-Forwarded-Proto`): its cookies are then marked `Secure`.
   */
  readonly secure: (request: Request) => boolean;
  /** Who a request comes from, for the login rate limit. */
  readonly clientOf: (request: Request, connection: ConnectionInfo) => string;
  readonly auditDir: string;
  readonly dataDir: string;
  readonly defaultRegion: CountryCode | undefined;
  readonly webhookSecrets: number;
  readonly maxImportBytes: number;
  readonly openApi: Record<string, unknown>;
  readonly importJobs?: ImportJobs | undefined;
  /** How long the import form may send nothing (its file: the import jobs' own limits). */
  readonly uploadIdleMs?: number | undefined;
  /** The scheduled contact sources (issue 19). */
  readonly sources?: SourceRunner | undefined;
  /** Where event bodies are read from (the audit log; the store keeps none). */
  readonly eventBodies?: AuditBodySource | undefined;
  readonly applierStatus?: (() => ApplierStatus) | undefined;
  /** When the audit chain was last verified and whether it held (by the inbox's verifier). */
  readonly auditLastVerified?:
    | (() => { at: number; ok: boolean; problem?: string | undefined } | null)
    | undefined;
  /** Writes the buffered unknown numbers and counters, so a page shows what just happened. */
  readonly flushActivity?: (() => Promise<void>) | undefined;
  /** The outbound pages (endpoints, messages); absent, they are not served. */
  readonly outbound?: Omit<OutboundConsoleDeps, "store" | "clock"> | undefined;
  /** The display time zone until the operator chooses one (`console.time_zone`). */
  readonly timeZone?: string | undefined;
  /** When a quiet webhook turns the overview amber (`console.webhook_silence_minutes` …). */
  readonly silence?: Omit<SilencePolicy, "zone"> | undefined;
  readonly clock?: () => Date;
  readonly log?: Logger;
}

const PAGE_SIZE = 50;
// Snapshots on one page of a call (each body cut too, so the page stays bounded in bytes).
const HISTORY_PAGE_SIZE = 100;
const MAX_FORM_BYTES = 64 * 1024;
/** The import form's fields besides the file: how many, and how long each. */
const MAX_UPLOAD_FIELDS = 32;
const MAX_UPLOAD_FIELD_BYTES = 1024;

/** How reading the console's import form ended. */
type UploadOutcome =
  | { readonly kind: "started"; readonly job: ImportJob }
  | { readonly kind: "csrf" }
  | { readonly kind: "no_file" }
  | { readonly kind: "refused"; readonly error: ImportSubmitError };

// An audit day's page: lines, and the characters shown of each (a line can be megabytes).
const AUDIT_PAGE_LINES = 50;
const AUDIT_LINE_CHARS = 2000;

type Handler = (
  request: Request,
  params: Readonly<Record<string, string>>,
  session: Session,
) => Promise<Response> | Response;

/** The console's routes, including `GET /api/openapi.json`. */
export function consoleRoutes(deps: ConsoleDeps): Route[] {
  const clock = deps.clock ?? (() => new Date());
  const now = () => clock().getTime();
  let lastVerify: VerifyResult | null = null;

  /** A page that needs a session; POSTs also need the session's CSRF token. */
  const signedIn = (handler: Handler, options: { form?: "multipart" } = {}) =>
  async (
    request: Request,
    params: Readonly<Record<string, string>>,
  ): Promise<Response> => {
    const session = await deps.sessions.verify(readCookie(request, SESSION_COOKIE), now());
    if (!session) {
      if (request.method !== "GET") {
        return consoleErrorPage(
          401,
          "Your console session ended (it expired or you logged out), so this form was not sent. Sign in and try again.",
          { signInHref: "/console/login" },
        );
      }
      const url = new URL(request.url);
      return redirect(`/console/login?next=${encodeURIComponent(url.pathname + url.search)}`);
    }
    // A multipart upload is checked by its handler once the form is parsed.
    if (request.method === "POST" && options.form !== "multipart") {
      // A clone: the handler may read the form too (forms are at most 64 KiB).
      const csrf = (await readForm(request.clone()))?.get("csrf");
      if (typeof csrf !== "string" || csrf !== session.csrf) return csrfRefused();
    }
    return handler(request, params, session);
  };

  const fallbackZone = deps.timeZone ?? "UTC";
  const zoneNow = () => displayZone(deps.store.reader, fallbackZone).catch(() => fallbackZone);
  const html = async (element: unknown, status = 200, headers: Record<string, string> = {}) => {
    const zone = await zoneNow();
    return new Response(
      "<!doctype html>" +
        await renderToString(
          <DisplayZone.Provider value={zone}>{element as JSX.Element}</DisplayZone.Provider>,
        ),
      { status, headers: { ...HTML_HEADERS, ...headers } },
    );
  };

  const loginPage = async (
    request: Request,
    status: number,
    error?: string,
    next?: string,
    headers: Record<string, string> = {},
  ) => {
    const challenge = await deps.sessions.loginChallenge();
    return html(<LoginPage csrf={challenge.csrf} error={error} next={next} />, status, {
      ...headers,
      "set-cookie": cookieHeader(LOGIN_COOKIE, challenge.cookie, {
        maxAgeSeconds: 3600,
        secure: deps.secure(request),
      }),
    });
  };

  const routes: Route[] = [
    ...ASSETS.map((asset): Route => ({
      method: "GET",
      path: asset.path,
      handler: () =>
        new Response(asset.body, {
          headers: {
            ...SECURITY_HEADERS,
            "content-type": asset.type,
            "cache-control": "public, max-age=31536000, immutable",
          },
        }),
    })),
    {
      method: "GET",
      path: "/api/openapi.json",
      // The document describes routes, not data: anyone may read it.
      handler: () => jsonResponse(200, deps.openApi),
    },
    { method: "GET", path: "/console", handler: () => redirect("/console/") },
    {
      method: "GET",
      path: "/console/login",
      handler: (request) =>
        loginPage(request, 200, undefined, safeNext(new URL(request.url).searchParams.get("next"))),
    },
    {
      method: "POST",
      path: "/console/login",
      handler: async (request, _params, connection) => {
        const client = deps.clientOf(request, connection);
        const wait = deps.limiter.retryAfterMs(client, now());
        if (wait > 0) {
          const seconds = String(Math.ceil(wait / 1000));
          return loginPage(
            request,
            429,
            `Too many wrong tokens were tried; try again in ${seconds} s.`,
            undefined,
            { "retry-after": seconds },
          );
        }
        const form = await readForm(request);
        const csrf = form?.get("csrf");
        const valid = await deps.sessions.checkLogin(
          readCookie(request, LOGIN_COOKIE),
          typeof csrf === "string" ? csrf : undefined,
        );
        if (!form || !valid) return csrfRefused();
        const next = safeNext(stringField(form, "next"));
        if (deps.adminTokens.length === 0) {
          return loginPage(
            request,
            503,
            "The console is off: set admin.tokens (or ADMIN_TOKENS) to enable it.",
            next,
          );
        }
        const token = stringField(form, "token")?.trim() ?? "";
        if (!matchesAny(token, deps.adminTokens)) {
          deps.limiter.fail(client, now());
          deps.log?.warn("Console login refused: wrong admin token");
          return loginPage(request, 401, "That is not a valid admin token.", next);
        }
        deps.limiter.succeed(client);
        const { cookie } = await deps.sessions.create(now());
        return redirect(next, [
          cookieHeader(SESSION_COOKIE, cookie, {
            maxAgeSeconds: deps.sessionTtlMs / 1000,
            secure: deps.secure(request),
          }),
          cookieHeader(LOGIN_COOKIE, "", { maxAgeSeconds: 0, secure: deps.secure(request) }),
        ]);
      },
    },
    {
      method: "POST",
      path: "/console/logout",
      handler: signedIn(async (request, _params, session) => {
        await deps.sessions.revoke(session, now());
        return redirect("/console/login", [
          cookieHeader(SESSION_COOKIE, "", { maxAgeSeconds: 0, secure: deps.secure(request) }),
        ]);
      }),
    },
    {
      method: "GET",
      path: "/console/",
      handler: signedIn(async (_request, _params, session) => {
        await deps.flushActivity?.();
        const hourly = await recentHourlyCounts(deps.store.reader, now(), 48);
        return html(
          <OverviewPage
            csrf={session.csrf}
            data={{
              checks: await overviewChecks(deps, now(), lastVerify, hourly, await zoneNow()),
              callsPerDay: await callsPerDay(deps.store.reader, now(), 14),
              hourly,
            }}
          />,
        );
      }),
    },
    {
      method: "GET",
      path: "/console/sources",
      handler: signedIn(async (request, _params, session) => {
        const url = new URL(request.url);
        const statuses = (await deps.sources?.statuses()) ?? [];
        const wanted = url.searchParams.get("name");
        const selected = statuses.find((s) => s.name === wanted)?.name ??
          statuses[0]?.name ?? null;
        const runs = selected === null ? [] : await listRuns(deps.store.reader, selected, 50);
        const notice = url.searchParams.get("started");
        return html(
          <SourcesPage
            csrf={session.csrf}
            sources={statuses}
            selected={selected}
            runs={runs}
            notice={notice && /^\d+$/.test(notice) ? `Run ${notice} started.` : undefined}
          />,
        );
      }),
    },
    {
      method: "GET",
      path: "/console/webhooks/rejected",
      handler: signedIn(async (request, _params, session) => {
        await deps.flushActivity?.();
        const raw = new URL(request.url).searchParams.get("before") ?? "";
        const before = /^\d{1,15}$/.test(raw) ? Number(raw) : null;
        const { rows, total } = await recentRejections(deps.store.reader, PAGE_SIZE, before);
        const last = rows.at(-1);
        return html(
          <WebhookRejectionsPage
            csrf={session.csrf}
            rows={rows}
            total={total}
            nextHref={rows.length === PAGE_SIZE && last
              ? `/console/webhooks/rejected?before=${last.id}`
              : null}
          />,
        );
      }),
    },
    {
      method: "POST",
      path: "/console/sources/:name/run",
      handler: signedIn(async (_request, params, _session) => {
        const name = params.name ?? "";
        const started = await deps.sources?.runNow(name) ?? "unknown";
        if (started === "unknown") return notFoundPage("No source has this name.");
        const query = new URLSearchParams({ name });
        if (started !== "running") query.set("started", String(started.runId));
        return redirect(`/console/sources?${query}`);
      }),
    },
    {
      method: "GET",
      path: "/console/calls",
      handler: signedIn(async (request, _params, session) => {
        const url = new URL(request.url);
        const form = callFilterForm(url);
        const zone = await zoneNow();
        const { search, error } = callSearchOf(form, now(), zone, deps.defaultRegion);
        const page = await searchCalls(
          deps.store.reader,
          search,
          PAGE_SIZE,
          url.searchParams.get("after"),
        );
        const query = formQuery(form);
        const nextParams = new URLSearchParams(query);
        if (page.next) nextParams.set("after", page.next);
        const choices = await callFacets(deps.store.reader);
        const facets = {
          ...choices,
          userNames: await repNamesOf(deps.store.reader, choices.users),
        };
        return html(
          <CallsPage
            csrf={session.csrf}
            data={{
              form,
              facets,
              calls: page.calls,
              names: await namesOf(deps.store.reader, page.calls),
              total: await countCalls(deps.store.reader, search),
              csvHref: `/console/calls.csv${query.size > 0 ? `?${query}` : ""}`,
              nextHref: page.next ? `/console/calls?${nextParams}` : null,
              error,
            }}
          />,
        );
      }),
    },
    {
      method: "GET",
      path: "/console/calls.csv",
      handler: signedIn(async (request) => {
        const zone = await zoneNow();
        const form = callFilterForm(new URL(request.url));
        const { search } = callSearchOf(form, now(), zone, deps.defaultRegion);
        return callsCsvResponse(deps.store.reader, search, zone);
      }),
    },
    {
      method: "GET",
      path: "/console/calls/:id",
      handler: signedIn(async (request, params, session) => {
        const raw = new URL(request.url).searchParams.get("events_cursor");
        const read = (cursor: string | null) =>
          getCallWithHistory(deps.store.client, params.id ?? "", deps.eventBodies, {
            limit: HISTORY_PAGE_SIZE,
            cursor,
          });
        let found;
        try {
          found = await read(raw);
        } catch (error) {
          // A cursor this server did not hand out shows the newest events.
          if (!(error instanceof HistoryCursorError)) throw error;
          found = await read(null);
        }
        if (!found) return notFoundPage("No call has this id.");
        const wanted = found.events.flatMap((e) =>
          e.audit_seq === null ? [] : [{ seq: e.audit_seq, receivedAt: Date.parse(e.received_at) }]
        );
        const auditLines = await auditLinesBySeq(deps.auditDir, wanted).catch(() => []);
        return html(
          <CallDetailPage
            csrf={session.csrf}
            data={found}
            auditLines={auditLines}
            names={await namesOf(deps.store.reader, [found.call])}
          />,
        );
      }),
    },
    {
      method: "GET",
      path: "/console/calls/:id/events/:key/body",
      // Every event body with the console session (issue 21): the exact text Symbo
      // signed, as a download of plain text (never rendered as HTML).
      handler: signedIn(async (_request, params) => {
        let body: string | null;
        try {
          body = await getCallEventBody(
            deps.store.client,
            params.id ?? "",
            params.key ?? "",
            deps.eventBodies,
          );
        } catch (error) {
          if (!(error instanceof EventBodyUnavailableError)) throw error;
          return notFoundPage(`This event's body cannot be read here: ${error.message}.`, 410);
        }
        if (body === null) return notFoundPage("This call has no such event.");
        return new Response(body, {
          headers: {
            ...SECURITY_HEADERS,
            "content-type": "text/plain; charset=utf-8",
            "content-disposition": `inline; filename="event-body.json"`,
            "x-content-type-options": "nosniff",
          },
        });
      }),
    },
    {
      method: "GET",
      path: "/console/settings",
      handler: signedIn((request, _params, session) => settingsPage(request, session)),
    },
    {
      method: "POST",
      path: "/console/settings/time-zone",
      handler: signedIn(async (request, _params, session) => {
        const form = await readForm(request);
        const zone = stringField(form ?? new URLSearchParams(), "time_zone")?.trim() ?? "";
        const saved = await saveDisplayZone(deps.store.write, zone);
        return saved
          ? redirect("/console/settings?saved=time_zone")
          : settingsPage(request, session, {
            error: `"${zone.slice(0, 64)}" is not a time zone this server knows.`,
            status: 400,
          });
      }),
    },
    {
      method: "POST",
      path: "/console/settings/reps",
      handler: signedIn(async (request, _params, session) => {
        const form = await readForm(request) ?? new URLSearchParams();
        try {
          await saveRepName(
            deps.store.write,
            stringField(form, "user_id") ?? "",
            stringField(form, "name") ?? "",
          );
        } catch (error) {
          if (!(error instanceof RepNameError)) throw error;
          return settingsPage(request, session, { error: error.message, status: 400 });
        }
        return redirect("/console/settings?saved=reps#reps");
      }),
    },
    {
      method: "GET",
      path: "/console/contacts",
      handler: signedIn(async (request, _params, session) => {
        const url = new URL(request.url);
        const q = (url.searchParams.get("q") ?? "").trim().slice(0, 200);
        const raw = url.searchParams.get("offset") ?? "0";
        const offset = /^\d{1,6}$/.test(raw) ? Number(raw) : 0;
        const contacts = q === ""
          ? null
          : await searchContacts(deps.store.reader, q, PAGE_SIZE, deps.defaultRegion, offset);
        const total = q === ""
          ? 0
          : await countContactSearch(deps.store.reader, q, deps.defaultRegion);
        return html(
          <ContactsPage
            csrf={session.csrf}
            q={q}
            contacts={contacts}
            total={total}
            offset={offset}
            limit={PAGE_SIZE}
          />,
        );
      }),
    },
    {
      method: "GET",
      path: "/console/contacts/:external_id",
      handler: signedIn(async (_request, params, session) => {
        const id = params.external_id ?? "";
        const found = await getContact(deps.store.reader, id);
        if (!found) return notFoundPage("No contact has this external id.");
        const calls = await searchCalls(deps.store.reader, { contact: id }, PAGE_SIZE, null);
        return html(
          <ContactPage
            csrf={session.csrf}
            contact={toLookupBody(found.contact)}
            updatedAt={found.updatedAt}
            calls={calls.calls}
            names={await namesOf(deps.store.reader, calls.calls)}
            moreCallsHref={calls.next ? `/console/calls?contact=${encodeURIComponent(id)}` : null}
          />,
        );
      }),
    },
    {
      method: "GET",
      path: "/console/unknown-numbers",
      handler: signedIn(async (request, _params, session) => {
        const url = new URL(request.url);
        const raw = url.searchParams.get("offset") ?? "0";
        const offset = /^\d{1,7}$/.test(raw) ? Number(raw) : 0;
        await deps.flushActivity?.();
        // The same ranges and dates as the call list, on when a number was last dialed.
        const form = callFilterForm(url);
        const { search, error } = callSearchOf(
          { ...form, by: "received", number: "" },
          now(),
          await zoneNow(),
          deps.defaultRegion,
        );
        const page = await listUnknownNumbers(deps.store.reader, PAGE_SIZE, offset, {
          from: search.from,
          to: search.to,
        });
        return html(
          <UnknownNumbersPage
            csrf={session.csrf}
            page={page}
            offset={offset}
            limit={PAGE_SIZE}
            range={{ range: form.range, from: form.from, to: form.to }}
            error={error}
          />,
        );
      }),
    },
    {
      method: "GET",
      path: "/console/unknown-numbers.csv",
      handler: signedIn(() => unknownNumbersCsvResponse(deps.store.reader)),
    },
    {
      method: "GET",
      path: "/console/audit",
      handler: signedIn(async (request, _params, session) => {
        const raw = new URL(request.url).searchParams.get("seq");
        let seqError: string | undefined;
        if (raw !== null) {
          const seq = /^\d{1,12}$/.test(raw.trim()) ? Number(raw.trim()) : null;
          const at = seq === null ? null : await findAuditSeq(deps.auditDir, seq).catch(() => null);
          if (at) return redirect(auditLineHref(at.file, at.lineNumber));
          seqError = seq === null
            ? "An audit seq is a whole number."
            : `No audit day holds seq ${seq} (retention may have removed it).`;
        }
        return html(
          <AuditPage
            csrf={session.csrf}
            files={await auditFiles(deps.auditDir)}
            verified={lastVerify}
            seqError={seqError}
          />,
          seqError ? 404 : 200,
        );
      }),
    },
    {
      method: "POST",
      path: "/console/audit/verify",
      handler: signedIn(async () => {
        const at = now();
        try {
          lastVerify = { at, report: await verifyAuditLog(deps.auditDir), error: null };
        } catch (error) {
          lastVerify = { at, report: null, error: messageOf(error) };
        }
        return redirect("/console/audit#verify-result");
      }),
    },
    {
      method: "GET",
      path: "/console/audit/:file",
      handler: signedIn(async (request, params, session) => {
        let file = params.file ?? "";
        if (!isDayFileName(file)) return notFoundPage("No audit file has this name.");
        // An old link to a day since closed (compressed) finds it under its new name.
        const day = (await auditFiles(deps.auditDir)).find((f) =>
          f.name.startsWith(file.slice(0, 10))
        );
        if (day) file = day.name;
        const search = new URL(request.url).searchParams;
        const number = (name: string) => {
          const value = search.get(name) ?? "";
          return /^\d{1,9}$/.test(value) ? Math.max(1, Number(value)) : null;
        };
        // `from` is the older links' name for it.
        const line = number("line") ?? number("from");
        const before = line !== null ? line + AUDIT_PAGE_LINES / 2 : number("before");
        try {
          const page = await auditDayPage(
            deps.auditDir,
            file,
            before,
            AUDIT_PAGE_LINES,
            AUDIT_LINE_CHARS,
          );
          return html(<AuditFilePage csrf={session.csrf} file={file} page={page} mark={line} />);
        } catch (error) {
          if (error instanceof Deno.errors.NotFound) {
            return notFoundPage("No audit file has this name.");
          }
          throw error;
        }
      }),
    },
    {
      method: "GET",
      path: "/console/api",
      handler: signedIn((_request, _params, session) =>
        html(<ApiReferencePage csrf={session.csrf} document={deps.openApi} />)
      ),
    },
    ...importRoutes(),
    ...(deps.outbound
      ? outboundConsoleRoutes(
        { signedIn, html, redirect, readForm, csrfRefused, notFound: notFoundPage },
        { ...deps.outbound, store: deps.store, clock },
      )
      : []),
  ];
  return routes;

  function importRoutes(): Route[] {
    const jobs = deps.importJobs;
    const region = deps.defaultRegion ?? "";
    return [
      {
        method: "GET",
        path: "/console/import",
        handler: signedIn(async (_request, _params, session) =>
          html(
            <ImportPage
              csrf={session.csrf}
              jobs={jobs ? await importList(jobs) : null}
              maxBytes={deps.maxImportBytes}
              defaultRegion={region}
            />,
          )
        ),
      },
      {
        method: "POST",
        path: "/console/import",
        // Streamed to the import spool as it arrives, never held (the whole form used
        // to be buffered against the shared body budget: files over ~32 MiB failed).
        // The spool bounds the file's size, idleness and total time; `importUpload`
        // bounds the fields around it.
        timeout: false,
        streamsBody: true,
        handler: signedIn(async (request, _params, session) => {
          if (!jobs) {
            return errorResponse(503, "imports_unavailable", "Import jobs are not wired in.");
          }
          const page = async (status: number, error: string) =>
            html(
              <ImportPage
                csrf={session.csrf}
                jobs={await importList(jobs)}
                maxBytes={deps.maxImportBytes}
                defaultRegion={region}
                error={error}
              />,
              status,
            );
          const declared = Number(request.headers.get("content-length") ?? "NaN");
          if (Number.isFinite(declared) && declared > deps.maxImportBytes + MAX_FORM_BYTES) {
            await request.body?.cancel().catch(() => {});
            return page(413, "The file is larger than admin.max_import_bytes.");
          }
          const boundary = multipartBoundary(request.headers.get("content-type"));
          if (boundary === null || request.body === null) {
            return errorResponse(400, "invalid_form", "The upload is not a multipart form.");
          }
          const outcome = await importUpload(jobs, request.body, boundary, session.csrf);
          switch (outcome.kind) {
            case "started":
              return redirect(`/console/import/${encodeURIComponent(outcome.job.id)}`);
            case "csrf":
              return csrfRefused();
            case "no_file":
              return page(400, "Choose a CSV file to upload.");
            case "refused": {
              const error = outcome.error;
              if (error.code === "client_closed") throw submitError(error);
              const status = error.code === "too_large"
                ? 413
                : error.code === "stalled"
                ? 408
                : 409;
              return page(status, `The import could not start: ${error.message}`);
            }
          }
        }, { form: "multipart" }),
      },
      {
        method: "GET",
        path: "/console/import/:id",
        handler: signedIn(async (_request, params, session) => {
          const job = await findImportJob(params.id ?? "");
          if (!job) {
            return notFoundPage(
              "No import job has this id (the history keeps the newest 100 imports).",
            );
          }
          return html(<ImportJobPage csrf={session.csrf} job={job} />);
        }),
      },
      {
        method: "POST",
        path: "/console/import/:id/apply",
        // Applies the dry run's kept upload with the dry run's options: no second file.
        handler: signedIn(async (request, params, session) => {
          const job = await findImportJob(params.id ?? "");
          if (!job) return notFoundPage("No import job has this id.");
          const jobPage = (status: number, error: string) =>
            html(<ImportJobPage csrf={session.csrf} job={job} error={error} />, status);
          if (!jobs || !job.dryRun || job.state !== "succeeded") {
            return jobPage(409, "Only a finished dry run can be applied.");
          }
          const form = await readForm(request);
          const check = job.pruneCheck;
          const confirmed = check?.exceedsGuard === true &&
            form?.get("confirm_prune") === String(check.wouldDelete);
          if (check?.exceedsGuard && !confirmed) {
            return jobPage(
              422,
              `Not applied: the prune would delete ${check.wouldDelete} of the ${check.storedBefore} ` +
                `stored contacts, more than contacts.max_prune_fraction allows. Tick “I checked the ` +
                `file: delete ${check.wouldDelete} of the ${check.storedBefore} contacts” to confirm, ` +
                "or upload a complete file.",
            );
          }
          return await rerunImport(jobs, job.id, { dryRun: false, forcePrune: confirmed }, jobPage);
        }),
      },
      {
        method: "POST",
        path: "/console/import/:id/mapping",
        // The mapping editor: the dry run again, on the same upload, with the new `--map`.
        handler: signedIn(async (request, params, session) => {
          const job = await findImportJob(params.id ?? "");
          if (!job) return notFoundPage("No import job has this id.");
          const jobPage = (status: number, error: string) =>
            html(<ImportJobPage csrf={session.csrf} job={job} error={error} />, status);
          if (!jobs || !job.dryRun || job.state === "running" || !job.headerRow) {
            return jobPage(409, "Only a finished dry run's mapping can be changed.");
          }
          const form = await readForm(request);
          if (!form) return jobPage(400, "The mapping form could not be read; reload the page.");
          let userMap: UserMap | null;
          try {
            userMap = mappingFromForm(job.headerRow, form, job.options.userMap);
          } catch (error) {
            if (error instanceof HeaderMapError) return jobPage(400, error.message);
            throw error;
          }
          return await rerunImport(jobs, job.id, { dryRun: true, userMap }, jobPage);
        }),
      },
      {
        method: "GET",
        path: "/console/import/:id/status",
        handler: signedIn((_request, params) => {
          const job = jobs?.get(params.id ?? "");
          return job
            ? jsonResponse(200, job)
            : errorResponse(404, "not_found", "No import job has this id.");
        }),
      },
      {
        method: "GET",
        path: "/console/import/:id/warnings.csv",
        // Every warning the job's summary holds (the page shows the first 20).
        handler: signedIn(async (_request, params) => {
          const warnings = (await findImportJob(params.id ?? ""))?.summary?.warnings;
          if (!warnings || warnings.length === 0) {
            return notFoundPage("This import job has no warnings.");
          }
          const body = csvLine(["line", "warning"]) +
            warnings.map((w) => csvLine([w.line, w.message])).join("");
          return new Response(body, {
            headers: {
              ...SECURITY_HEADERS,
              "content-type": "text/csv; charset=utf-8",
              "content-disposition": 'attachment; filename="warnings.csv"',
            },
          });
        }),
      },
      {
        method: "GET",
        path: "/console/import/:id/rejects.csv",
        handler: signedIn((_request, params) => {
          // Every rejected row (the page shows the first 20): the job's rejects file,
          // streamed (bounded by the upload it came from).
          const body = jobs?.rejectsCsv(params.id ?? "");
          if (!body) {
            return notFoundPage(
              "This import job has no rejected rows file (it had none, or it is no longer kept: " +
                "the newest 20 imports keep theirs while the server runs).",
            );
          }
          return new Response(body, {
            headers: {
              ...SECURITY_HEADERS,
              "content-type": "text/csv; charset=utf-8",
              "content-disposition": 'attachment; filename="rejects.csv"',
            },
          });
        }),
      },
    ];
  }

  /** The newest imports: the history in the store, with the live jobs' latest state. */
  async function importList(jobs: ImportJobs): Promise<ImportJobView[]> {
    const byId = new Map<string, ImportJobView>();
    const stored = await listImportHistory(deps.store.reader).catch((error) => {
      deps.log?.warn("The import history could not be read: {error}", { error: messageOf(error) });
      return [];
    });
    for (const job of stored) byId.set(job.id, job);
    for (const job of jobs.list()) byId.set(job.id, job);
    return [...byId.values()]
      .sort((a, b) => b.startedAt.localeCompare(a.startedAt))
      .slice(0, IMPORT_HISTORY_KEEP);
  }

  /** A live job, else one of the history. */
  async function findImportJob(id: string): Promise<ImportJobView | undefined> {
    const live = deps.importJobs?.get(id);
    if (live) return live;
    if (id === "" || id.length > 100) return undefined;
    const stored = await getImportHistoryJob(deps.store.reader, id);
    // Rejects files live with the process's newest jobs only.
    return stored ? { ...stored, hasRejects: false } : undefined;
  }

  /** Starts a dry run's re-run (Apply, or a new mapping) and goes to it; a refusal is said on the dry run's page. */
  async function rerunImport(
    jobs: ImportJobs,
    id: string,
    changes: ImportRerun,
    jobPage: (status: number, error: string) => Promise<Response>,
  ): Promise<Response> {
    try {
      const next = await jobs.rerun(id, changes);
      return redirect(`/console/import/${encodeURIComponent(next.id)}`);
    } catch (error) {
      if (!(error instanceof ImportSubmitError)) throw error;
      const status = error.code === "upload_gone" ? 410 : error.code === "busy" ? 409 : 400;
      return jobPage(status, `Nothing was imported: ${error.message}`);
    }
  }

  /**
   * Reads the console's upload form as it arrives: the CSRF field must come
   * before the file (the page puts it first), the file is spooled (holding
   * the import slot), the fields after it are read within `uploadIdleMs`, then
   * the import starts. Any other way out discards the spooled file.
   */
  async function importUpload(
    jobs: ImportJobs,
    body: ReadableStream<Uint8Array>,
    boundary: string,
    csrf: string,
  ): Promise<UploadOutcome> {
    const idleMs = deps.uploadIdleMs ?? 30_000;
    const abort = new AbortController();
    const parts = readMultipart(body, boundary, abort.signal);
    const fields = new Map<string, string>();
    let upload: SpooledUpload | null = null;
    let fileName = "";
    let trailingDeadline = Infinity;
    /** One step of reading the form, bounded in time (the file itself is bounded by the spool). */
    const step = <T,>(reading: Promise<T>): Promise<T> => {
      // A read that fails is the client going away (a 499, not an error of ours).
      const work = reading.catch((error) => {
        throw error instanceof HttpError ? error : clientClosed();
      });
      work.catch(() => {});
      const ms = Math.max(0, Math.min(idleMs, trailingDeadline - Date.now()));
      return withDeadline(work, ms, () => {
        abort.abort();
        throw new HttpError(
          408,
          "upload_stalled",
          `The form sent nothing for ${idleMs} ms and was given up; nothing was imported.`,
        );
      });
    };
    try {
      for (;;) {
        const next = await step(parts.next());
        if (next.done) break;
        const part = next.value;
        if (part.filename === null) {
          if (fields.size >= MAX_UPLOAD_FIELDS) {
            throw new HttpError(400, "invalid_form", "The form has too many fields.");
          }
          fields.set(part.name, await step(partText(part, MAX_UPLOAD_FIELD_BYTES)));
          continue;
        }
        if (part.name !== "file" || upload !== null) {
          await part.body.cancel();
          continue;
        }
        if (fields.get("csrf") !== csrf) {
          await part.body.cancel();
          return { kind: "csrf" };
        }
        fileName = part.filename;
        try {
          upload = await jobs.spool(part.body);
        } catch (error) {
          if (error instanceof ImportSubmitError) return { kind: "refused", error };
          throw error;
        }
        // The slot is held from here: the rest of the form must follow promptly.
        trailingDeadline = Date.now() + idleMs;
      }
      if (fields.get("csrf") !== csrf) return { kind: "csrf" };
      if (upload === null || upload.size === 0) return { kind: "no_file" };
      const text = (name: string) => {
        const value = fields.get(name)?.trim();
        return value === undefined || value === "" ? undefined : value.slice(0, 100);
      };
      const started = upload;
      upload = null; // start() owns the spooled file from here, whatever it answers
      try {
        const job = await started.start({
          fileName: fileName.slice(0, 200) || "upload.csv",
          dryRun: fields.has("dry_run"),
          // A prune past the guard is confirmed on the dry run's page (Apply), not here.
          prune: fields.has("prune"),
          strict: fields.has("strict"),
          ...optional("region", text("region")),
          ...optional("encoding", text("encoding")),
          ...optional("idFrom", text("id_from")),
        });
        return { kind: "started", job };
      } catch (error) {
        if (error instanceof ImportSubmitError) return { kind: "refused", error };
        throw error;
      }
    } finally {
      await upload?.discard();
      abort.abort();
    }
  }

  async function settingsPage(
    request: Request,
    session: Session,
    options: { error?: string; status?: number } = {},
  ): Promise<Response> {
    const url = new URL(request.url);
    const saved = url.searchParams.get("saved");
    const reps = await listRepNames(deps.store.reader);
    const named = new Set(reps.map((r) => r.user_id));
    const users = (await callFacets(deps.store.reader)).users;
    return html(
      <SettingsPage
        csrf={session.csrf}
        zone={await zoneNow()}
        defaultZone={fallbackZone}
        zones={Intl.supportedValuesOf("timeZone")}
        reps={reps}
        unnamed={users.filter((id) => !named.has(id)).slice(0, 50)}
        userId={(url.searchParams.get("user_id") ?? "").slice(0, 200)}
        message={saved === "time_zone"
          ? "The display time zone is saved."
          : saved === "reps"
          ? "The rep name is saved."
          : undefined}
        error={options.error}
      />,
      options.status ?? 200,
    );
  }

  function notFoundPage(message: string, status = 404): Promise<Response> {
    return consoleErrorPage(status, message);
  }
}

/** The overview's checks. */
async function overviewChecks(
  deps: ConsoleDeps,
  now: number,
  lastVerify: VerifyResult | null,
  hourly: readonly HourlyCounts[],
  zone: string,
): Promise<OverviewCheck[]> {
  const checks: OverviewCheck[] = [];
  checks.push(
    deps.webhookSecrets > 0
      ? { label: "Webhook", value: `configured (${deps.webhookSecrets} secret(s))`, state: "ok" }
      : {
        label: "Webhook",
        value: "not configured",
        state: "bad",
        detail: "Set symbo.webhook_secrets; webhooks answer 503 until then.",
      },
  );
  let storeOk = true;
  try {
    await deps.store.ping();
    checks.push({ label: "Store", value: "reachable", state: "ok" });
  } catch (error) {
    storeOk = false;
    checks.push({ label: "Store", value: "unreachable", state: "bad", detail: messageOf(error) });
  }
  const last = storeOk ? await lastEventReceivedAt(deps.store.reader).catch(() => null) : null;
  const lastRejection = storeOk
    ? (await recentRejections(deps.store.reader, 1).catch(() => null))?.rows[0] ?? null
    : null;
  checks.push(
    ...deliveryCards({
      now,
      lastVerified: last,
      hourly,
      lastRejection,
      policy: {
        silenceMinutes: 60,
        workingHours: "08:00-18:00",
        workingDays: ["mon", "tue", "wed", "thu", "fri"],
        ...deps.silence,
        zone,
      },
    }),
  );
  const applier = deps.applierStatus?.();
  checks.push(
    applier
      ? {
        label: "Applier lag",
        value: `${applier.lagEvents} events, ${Math.round(applier.lagSeconds)} s`,
        state: applier.state.startsWith("stopped")
          ? "bad"
          : applier.lagEvents === 0
          ? "ok"
          : applier.lagSeconds > 60
          ? "bad"
          : "warn",
        detail: applier.state,
      }
      : { label: "Applier lag", value: "unknown", state: "unknown", detail: "Not reported." },
  );
  for (const warning of deps.sources?.warnings() ?? []) {
    checks.push({
      label: `Source ${warning.name}`,
      value: "failing",
      state: "warn",
      detail: warning.message,
    });
  }
  const fromConsole = lastVerify?.report
    ? {
      at: lastVerify.at,
      ok: lastVerify.report.ok,
      problem: lastVerify.report.firstProblem
        ? `audit file ${lastVerify.report.firstProblem.file} line ${lastVerify.report.firstProblem.line}: ${lastVerify.report.firstProblem.problem}`
        : undefined,
    }
    : null;
  const verified: { at: number; ok: boolean; problem?: string | undefined } | null =
    deps.auditLastVerified?.() ?? fromConsole;
  checks.push(
    verified
      ? {
        label: "Audit chain last verified",
        value: verified.ok ? formatAge(verified.at, now) : "BROKEN",
        state: verified.ok ? "ok" : "bad",
        detail: verified.ok
          ? formatTimeIn(verified.at, zone)
          : `${formatTimeIn(verified.at, zone)}: ${verified.problem ?? "see the Audit page"}`,
        href: verified.ok ? undefined : brokenLineHref(verified.problem) ?? "/console/audit",
      }
      : {
        label: "Audit chain last verified",
        value: "unknown",
        state: "unknown",
        detail: "Verify it on the Audit page.",
      },
  );
  try {
    const fs = await statfs(deps.dataDir);
    const free = Number(fs.bavail) * Number(fs.bsize);
    checks.push({
      label: "Free disk (data folder)",
      value: formatBytes(free),
      state: free < 100 * 2 ** 20 ? "bad" : free < 2 ** 30 ? "warn" : "ok",
      detail: deps.dataDir,
    });
  } catch (error) {
    checks.push({
      label: "Free disk (data folder)",
      value: "unknown",
      state: "unknown",
      detail: messageOf(error),
    });
  }
  return checks;
}

/** The console page of the line an audit problem names (`audit file X line N: …`), or null. */
function brokenLineHref(problem: string | undefined): string | null {
  const match = /audit file (\S+?):? line (\d+)/.exec(problem ?? "");
  return match?.[1] && match[2] ? auditLineHref(match[1], Number(match[2])) : null;
}

function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

function redirect(location: string, setCookies: readonly string[] = []): Response {
  const headers = new Headers({ ...SECURITY_HEADERS, location });
  for (const cookie of setCookies) headers.append("set-cookie", cookie);
  return new Response(null, { status: 303, headers });
}

function csrfRefused(): Promise<Response> {
  return consoleErrorPage(
    403,
    "This form is out of date (its CSRF token is missing or not this session's): reload the page and try again.",
  );
}

/** A url-encoded form body under a small limit, or null when it is not one. */
async function readForm(request: Request): Promise<URLSearchParams | null> {
  const type = request.headers.get("content-type") ?? "";
  if (!type.startsWith("application/x-www-form-urlencoded")) return null;
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > MAX_FORM_BYTES) return null;
  const text = await request.text();
  if (text.length > MAX_FORM_BYTES) return null;
  return new URLSearchParams(text);
}

function stringField(form: URLSearchParams | FormData, name: string): string | undefined {
  const value = form.get(name);
  return typeof value === "string" ? value : undefined;
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}

/** Renders a JSX element (Hono's, sync or async) to its HTML text. */
async function renderToString(element: unknown): Promise<string> {
  return String(await (element as { toString(): string | Promise<string> }).toString());
}
