/**
 * The headers of every console HTML page: the security headers every answer
 * carries, and the console's strict Content-Security-Policy (no inline script
 * or style, nothing from another origin). One copy, for the pages and the
 * error pages alike.
 */
import { SECURITY_HEADERS } from "../http/http_error.ts";

/** The Content-Security-Policy of every console page. */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

/** Headers of a console HTML page. */
export const HTML_HEADERS: Readonly<Record<string, string>> = {
  ...SECURITY_HEADERS,
  "content-security-policy": CONSOLE_CSP,
  "content-type": "text/html; charset=utf-8",
};
