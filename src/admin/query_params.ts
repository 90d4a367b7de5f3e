/**
 * Reads and validates admin query strings with zod; errors name the parameter.
 */
import { z } from "zod";
import { HttpError } from "../http/http_error.ts";

/** Parses the URL's query parameters with `schema`, or throws a 400 naming the parameter. */
export function parseQuery<T extends z.ZodType>(url: URL, schema: T): z.infer<T> {
  const raw: Record<string, string> = {};
  for (const [key, value] of url.searchParams) raw[key] = value;
  const result = schema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) =>
      `${issue.path.map(String).join(".") || "query"}: ${issue.message}`
    );
    throw new HttpError(400, "invalid_query", problems.join("; "));
  }
  return result.data;
}

/**
 * The OpenAPI schemas of query parameters whose zod input (a string) says less
 * than the rule they enforce: a page size is an integer in a range, a time is
 * ISO 8601 or epoch milliseconds. The OpenAPI document uses these in place of
 * what `z.toJSONSchema` derives.
 */
export const paramDocs = z.registry<{ readonly openapi: Readonly<Record<string, unknown>> }>();

/** An ISO 8601 timestamp or epoch milliseconds, as epoch ms. */
export const timeParam = z.string().transform((value, ctx) => {
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) {
    ctx.addIssue({ code: "custom", message: "expected an ISO 8601 time or epoch milliseconds" });
    return z.NEVER;
  }
  return ms;
});
paramDocs.add(timeParam, {
  openapi: {
    description:
      "An ISO 8601 time or date (2026-11-27T09:00:00Z, 2026-11-27) or epoch milliseconds.",
    anyOf: [
      { type: "string", format: "date-time" },
      { type: "string", format: "date" },
      { type: "string", pattern: "^[0-9]+$" },
    ],
  },
});

/** A whole number between `min` and `max` (a query parameter). */
function wholeNumber(min: number, max: number) {
  return z.string().regex(/^\d+$/, "expected a whole number").transform(Number).pipe(
    z.number().int().min(min).max(max),
  );
}

/** A page size between 1 and `max`. */
export function limitParam(max: number, fallback: number): z.ZodType<number, string | undefined> {
  const schema = wholeNumber(1, max).default(fallback);
  paramDocs.add(schema, {
    openapi: { type: "integer", minimum: 1, maximum: max, default: fallback },
  });
  return schema;
}

/** A row offset between 0 and `max`. */
export function offsetParam(max: number): z.ZodType<number | undefined, string | undefined> {
  const schema = wholeNumber(0, max).optional();
  paramDocs.add(schema, { openapi: { type: "integer", minimum: 0, maximum: max, default: 0 } });
  return schema;
}

/** Reads a JSON request body under a limit and validates it with `schema`. */
export async function parseJsonBody<T extends z.ZodType>(
  request: Request,
  schema: T,
  readBody: (request: Request) => Promise<Uint8Array>,
): Promise<z.infer<T>> {
  const bytes = await readBody(request);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new HttpError(400, "invalid_json", "The request body is not valid UTF-8 JSON.");
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const problems = result.error.issues.map((issue) =>
      `${issue.path.map(String).join(".") || "body"}: ${issue.message}`
    );
    throw new HttpError(400, "invalid_body", problems.join("; "));
  }
  return result.data;
}
