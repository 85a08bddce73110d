/** Helpers for this folder's specs (not exported from the package). */

export interface RawAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly body: any;
}

/** One HTTP call to a dev server with fetch; `token: null` sends none. */
export async function callVault(
  server: { readonly url: string; readonly rootToken: string },
  method: string,
  path: string,
  options: { token?: string | null; body?: unknown; headers?: Record<string, string> } = {},
): Promise<RawAnswer> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  const token = options.token === undefined ? server.rootToken : options.token;
  if (token) headers['X-Vault-Token'] = token;
  if (options.body !== undefined) headers['Content-Type'] ??= 'application/json';
  const res = await fetch(server.url + path, {
    method,
    headers,
    body: options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body),
  });
  const text = await res.text();
  // PKI's ca/pem and crl/pem answer PEM, not JSON.
  const json = text !== '' && !(res.headers.get('content-type') ?? '').startsWith('application/pem') && !text.startsWith('-----');
  return { status: res.status, headers: res.headers, text, body: json ? JSON.parse(text) : undefined };
}

/** Polls `check` until it returns true, failing after `timeoutMs`. */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 8_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** An unsigned service-account JWT with the given claims (the dev server does not verify signatures). */
export function serviceAccountJwt(claims: Record<string, unknown>): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64({ alg: 'RS256', kid: 'dev' })}.${b64(claims)}.${Buffer.from('not-verified').toString('base64url')}`;
}
