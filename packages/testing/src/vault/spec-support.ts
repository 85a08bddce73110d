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
/**
 * A spec's calls to one engine's API on `server()` (read when called: the server starts in
 * `beforeAll`): `call`/`post` with the root token unless another (or `null`: none) is given,
 * `data` for a 200's `data` (throws on any other status), `refused` for Vault's error body.
 *
 * @example const { post, data, refused } = engineApi(() => server); await data(post('transit/keys/k'));
 */
export function engineApi(server: () => { readonly url: string; readonly rootToken: string }) {
  const call = (method: string, path: string, body?: unknown, token?: string | null): Promise<RawAnswer> =>
    callVault(server(), method, `/v1/${path}`, { ...(body === undefined ? {} : { body }), ...(token !== undefined ? { token } : {}) });
  const post = (path: string, body: unknown = {}, token?: string | null) => call('POST', path, body, token);
  const data = async (answer: Promise<RawAnswer>) => {
    const a = await answer;
    if (a.status !== 200) throw new Error(`${a.status} ${a.text}`);
    return a.body.data;
  };
  const refused = (status: number, message: string) => ({ status, body: { errors: [message] } });
  return { call, post, data, refused };
}

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
