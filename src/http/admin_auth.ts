/**
 * Bearer-token authorization of the admin API: constant-time comparison against
 * every configured admin token; with none configured the admin API is closed.
 */
import { bearerToken, matchesAny } from "./constant_time.ts";
import { HttpError } from "./http_error.ts";

/** Throws a 401/503 `HttpError` unless the request carries a valid admin token. */
export function requireAdmin(request: Request, tokens: readonly string[]): void {
  if (tokens.length === 0) {
    throw new HttpError(
      503,
      "admin_not_configured",
      "The admin API is off: set admin.tokens (or ADMIN_TOKENS) to enable it.",
    );
  }
  const token = bearerToken(request.headers.get("authorization"));
  if (token === null || !matchesAny(token, tokens)) {
    throw new HttpError(
      401,
      "unauthorized",
      "Pass a valid admin token as Authorization: Bearer <token>.",
      {
        "www-authenticate": 'Bearer realm="symbo-crm-admin"',
      },
    );
  }
}
