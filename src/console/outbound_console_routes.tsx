/**
 * The console's outbound pages (DESIGN §9, §11): endpoints with their health,
 * register one (its secret shown once), an endpoint's messages with filters,
 * a message's attempts, and the Resend, Replay and Enable/Disable buttons.
 * Forms carry the session's CSRF token like every console form; the data and
 * the actions are the admin API's own functions (`outbound/`).
 */
import type { Route } from "../http/app.ts";
import {
  checkEndpointUrl,
  createEndpoint,
  DEFAULT_EVENT_TYPES,
  EndpointError,
  getEndpoint,
  listEndpoints,
  OUTBOUND_EVENT_TYPES,
  type OutboundEventType,
  updateEndpoint,
  type UrlPolicy,
} from "../outbound/endpoints.ts";
import { endpointHealth, getMessage, listMessages } from "../outbound/outbound_queries.ts";
import {
  MESSAGE_STATUSES,
  replayEndpoint,
  ResendError,
  resendMessage,
} from "../outbound/outbox.ts";
import { clientExecutor } from "../store/sql.ts";
import type { Store } from "../store/open_store.ts";
import type { Session } from "./session.ts";
import {
  EndpointDetailPage,
  EndpointsPage,
  type Flash,
  MessageDetailPage,
} from "./pages/endpoints.tsx";

type Handler = (
  request: Request,
  params: Readonly<Record<string, string>>,
  session: Session,
) => Promise<Response> | Response;

/** The console's shared plumbing, handed in by `consoleRoutes`. */
export interface ConsoleKit {
  /** Wraps a handler that needs a session; `form: "multipart"` leaves the CSRF check to it. */
  readonly signedIn: (
    handler: Handler,
    options?: { form?: "multipart" },
  ) => Route["handler"];
  readonly html: (element: unknown, status?: number) => Promise<Response>;
  readonly redirect: (location: string) => Response;
  readonly readForm: (request: Request) => Promise<URLSearchParams | null>;
  readonly csrfRefused: () => Promise<Response>;
  readonly notFound: (message: string) => Promise<Response>;
}

/** What the outbound pages need. */
export interface OutboundConsoleDeps {
  readonly store: Store;
  readonly policy: UrlPolicy;
  readonly maxEndpoints: number;
  readonly clock: () => Date;
  /** Told when messages may have become due. */
  readonly onQueued?: () => void;
}

const PAGE_SIZE = 50;

const DONE: Readonly<Record<string, string>> = {
  resent: "The message is queued to be sent again.",
  enabled: "The endpoint is enabled; its pending messages are sent again.",
  disabled: "The endpoint is disabled; its messages wait.",
};

/** The outbound routes of the console. */
export function outboundConsoleRoutes(kit: ConsoleKit, deps: OutboundConsoleDeps): Route[] {
  const db = clientExecutor(deps.store.client);
  const now = () => deps.clock().getTime();

  /** A POST handler whose form (with its CSRF token checked) it reads itself. */
  const withForm = (
    handler: (form: URLSearchParams, ...args: Parameters<Handler>) => ReturnType<Handler>,
  ) =>
    kit.signedIn(async (request, params, session) => {
      const form = await kit.readForm(request);
      if (!form || form.get("csrf") !== session.csrf) return kit.csrfRefused();
      return handler(form, request, params, session);
    }, { form: "multipart" });

  const endpointsPage = async (session: Session, flash?: Flash, status = 200) => {
    const at = now();
    const endpoints = [];
    for (const endpoint of await listEndpoints(db)) {
      endpoints.push({ ...endpoint, health: await endpointHealth(db, endpoint.id, at) });
    }
    return kit.html(
      <EndpointsPage csrf={session.csrf} endpoints={endpoints} flash={flash} />,
      status,
    );
  };

  return [
    {
      method: "GET",
      path: "/console/endpoints",
      handler: kit.signedIn((_request, _params, session) => endpointsPage(session)),
    },
    {
      method: "POST",
      path: "/console/endpoints",
      handler: withForm(async (form, _request, _params, session) => {
        const types = form.getAll("types").filter((type): type is OutboundEventType =>
          (OUTBOUND_EVENT_TYPES as readonly string[]).includes(type)
        );
        try {
          const url = checkEndpointUrl((form.get("url") ?? "").trim(), deps.policy);
          const { endpoint, secret } = await createEndpoint(deps.store.write, {
            url,
            types: types.length > 0 ? types : DEFAULT_EVENT_TYPES,
            description: (form.get("description") ?? "").trim().slice(0, 500),
          }, { now: now(), maxEndpoints: deps.maxEndpoints });
          return endpointsPage(session, {
            kind: "ok",
            text: `Registered ${endpoint.url}.`,
            secret,
          }, 201);
        } catch (error) {
          if (!(error instanceof EndpointError)) throw error;
          return endpointsPage(session, { kind: "error", text: error.message }, 400);
        }
      }),
    },
    {
      method: "GET",
      path: "/console/endpoints/:id",
      handler: kit.signedIn(async (request, params, session) => {
        const endpoint = await getEndpoint(db, params.id ?? "");
        if (!endpoint) return kit.notFound("No endpoint has this id.");
        const url = new URL(request.url);
        const statusParam = url.searchParams.get("status") ?? "";
        const status = MESSAGE_STATUSES.find((item) => item === statusParam);
        const cursor = url.searchParams.get("cursor");
        const at = now();
        let page;
        try {
          page = await listMessages(db, endpoint.id, {
            ...(status ? { status } : {}),
            limit: PAGE_SIZE,
            cursor,
            now: at,
          });
        } catch {
          return kit.notFound("That page of messages does not exist.");
        }
        const done = url.searchParams.get("done") ?? "";
        const replayed = /^replayed-(\d+)$/.exec(done);
        const flash: Flash | undefined = replayed
          ? { kind: "ok", text: `Replay queued ${replayed[1]} call(s).` }
          : DONE[done]
          ? { kind: "ok", text: DONE[done]! }
          : undefined;
        return kit.html(
          <EndpointDetailPage
            csrf={session.csrf}
            endpoint={endpoint}
            health={await endpointHealth(db, endpoint.id, at)}
            page={page}
            status={status ?? ""}
            flash={flash}
          />,
        );
      }),
    },
    {
      method: "POST",
      path: "/console/endpoints/:id/enabled",
      handler: withForm(async (form, _request, params) => {
        const enabled = form.get("enabled") === "true";
        const endpoint = await updateEndpoint(
          deps.store.write,
          params.id ?? "",
          { enabled },
          now(),
        );
        if (!endpoint) return kit.notFound("No endpoint has this id.");
        if (enabled) deps.onQueued?.();
        return kit.redirect(
          `/console/endpoints/${encodeURIComponent(endpoint.id)}?done=${
            enabled ? "enabled" : "disabled"
          }`,
        );
      }),
    },
    {
      method: "POST",
      path: "/console/endpoints/:id/replay",
      handler: withForm(async (form, _request, params) => {
        const day = form.get("since") ?? "";
        const since = /^\d{4}-\d{2}-\d{2}$/.test(day) ? Date.parse(`${day}T00:00:00Z`) : NaN;
        if (!Number.isFinite(since)) return kit.notFound("Pick the day to replay from.");
        const queued = await replayEndpoint(deps.store.write, params.id ?? "", since, now());
        if (queued === null) return kit.notFound("No endpoint has this id.");
        deps.onQueued?.();
        return kit.redirect(
          `/console/endpoints/${encodeURIComponent(params.id ?? "")}?done=replayed-${queued}`,
        );
      }),
    },
    {
      method: "GET",
      path: "/console/messages/:id",
      handler: kit.signedIn(async (_request, params, session) => {
        const message = await getMessage(db, params.id ?? "", now());
        if (!message) return kit.notFound("No message has this id.");
        return kit.html(<MessageDetailPage csrf={session.csrf} message={message} />);
      }),
    },
    {
      method: "POST",
      path: "/console/messages/:id/resend",
      handler: withForm(async (form, _request, params, session) => {
        const id = params.id ?? "";
        try {
          if (!await resendMessage(deps.store.write, id, now())) {
            return kit.notFound("No message has this id.");
          }
        } catch (error) {
          if (!(error instanceof ResendError)) throw error;
          const message = await getMessage(db, id, now());
          if (!message) return kit.notFound("No message has this id.");
          return kit.html(
            <MessageDetailPage
              csrf={session.csrf}
              message={message}
              flash={{ kind: "error", text: error.message }}
            />,
            409,
          );
        }
        deps.onQueued?.();
        const back = form.get("back") ?? "";
        return kit.redirect(
          /^\/console\/endpoints\/[A-Za-z0-9_-]+$/.test(back)
            ? `${back}?done=resent`
            : `/console/messages/${encodeURIComponent(id)}`,
        );
      }),
    },
  ];
}
