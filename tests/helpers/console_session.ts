/** Signing in to the operator console over plain HTTP, as a browser would. */

/** The login form's nonce cookie and CSRF token, fetched from `GET /console/login`. */
export async function loginForm(
  baseUrl: string,
  headers: Record<string, string> = {},
): Promise<{ cookie: string; csrf: string }> {
  const response = await fetch(`${baseUrl}/console/login`, { headers });
  const html = await response.text();
  const cookie = (response.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";
  return { cookie, csrf };
}

/** Posts the login form (a fresh one) with `token`; the answer is not followed. */
export async function postLogin(
  baseUrl: string,
  token: string,
  options: { next?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  const form = await loginForm(baseUrl, options.headers);
  const body = new URLSearchParams({ csrf: form.csrf, token });
  if (options.next !== undefined) body.set("next", options.next);
  return await fetch(`${baseUrl}/console/login`, {
    method: "POST",
    redirect: "manual",
    headers: {
      ...options.headers,
      cookie: form.cookie,
      "content-type": "application/x-www-form-urlencoded",
    },
    body,
  });
}

/** Signs in with `token`; the session's `Cookie` header value, or throws. */
export async function signIn(baseUrl: string, token: string): Promise<string> {
  const response = await postLogin(baseUrl, token);
  await response.body?.cancel();
  const cookie = (response.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  if (response.status !== 303 || !cookie.startsWith("symbo_console=")) {
    throw new Error(`sign-in failed: ${response.status}`);
  }
  return cookie;
}

/** A console page's status and text, with the session cookie. */
export async function consolePage(
  baseUrl: string,
  cookie: string,
  path: string,
): Promise<{ status: number; text: string }> {
  const response = await fetch(`${baseUrl}${path}`, { headers: { cookie }, redirect: "manual" });
  return { status: response.status, text: await response.text() };
}
