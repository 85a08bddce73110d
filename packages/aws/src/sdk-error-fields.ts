/** Names an SDK or Node error may report that are safe to repeat: no spaces, no values. */
export const SAFE_NAME = /^[A-Za-z0-9_.:-]{1,80}$/;

/** What Keyward keeps of an AWS SDK error: its exception name, HTTP status and message; nothing else of it. */
export interface SdkErrorFields {
  readonly name: string;
  readonly status: number | undefined;
  readonly message: string | undefined;
}

/** The exception name (or Node's network `code`, such as `ECONNREFUSED`), the HTTP status and the message of anything an SDK call threw. */
export function sdkErrorFields(err: unknown): SdkErrorFields {
  const o = (typeof err === 'object' && err !== null ? err : {}) as Record<string, unknown>;
  const metadata = (typeof o['$metadata'] === 'object' && o['$metadata'] !== null ? o['$metadata'] : {}) as Record<string, unknown>;
  const status = typeof metadata['httpStatusCode'] === 'number' ? metadata['httpStatusCode'] : undefined;
  // Node's network errors say what happened in `code` (ECONNREFUSED); their `name` is just `Error`.
  const code = typeof o['code'] === 'string' && SAFE_NAME.test(o['code']) ? o['code'] : undefined;
  const rawName = typeof o['name'] === 'string' && SAFE_NAME.test(o['name']) ? o['name'] : undefined;
  const name = rawName === undefined || (rawName === 'Error' && code !== undefined) ? (code ?? 'UnknownError') : rawName;
  return { name, status, message: typeof o['message'] === 'string' ? o['message'] : undefined };
}
