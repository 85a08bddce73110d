import { open } from 'node:fs/promises';
import { connect } from 'node:net';
import type { AuditRecord } from '@keyward/core';
import { waitFor } from '@keyward/test-support';

// Raw HTTP/1.x over a socket: the bytes supertest cannot send (duplicated headers, obs-text,
// control characters, oversized values, unnormalised request targets) and the bytes the server
// answers, unparsed by any HTTP client.

/** A response as it came off the socket. */
export interface RawResponse {
  readonly status: number;
  /** Header lines by lower-case name, in order (a name sent twice has two values). */
  readonly headers: ReadonlyMap<string, readonly string[]>;
  /** Everything the server sent (status line, headers, body), decoded byte for byte (latin1). */
  readonly raw: string;
  /** The body (de-chunked when chunked), latin1. */
  readonly body: string;
}

/**
 * Sends `bytes` on a new connection to 127.0.0.1:`port` and resolves with what the server sent
 * until it closed the connection (send `Connection: close`). Rejects when nothing complete came
 * back within `timeoutMs`: a hang guard, not a timing assertion.
 */
export function sendRaw(port: number, bytes: Buffer, timeoutMs = 10_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer within ${timeoutMs} ms; got ${JSON.stringify(Buffer.concat(chunks).toString('latin1').slice(0, 200))}`));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    // The server may reset a connection it refused before reading all of it: keep what came.
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      try {
        resolve(parseRawResponse(text));
      } catch (err) {
        reject(err);
      }
    });
    socket.write(bytes);
  });
}

/** Parses one HTTP/1.x response (latin1 text); throws on anything that is not one. */
export function parseRawResponse(raw: string): RawResponse {
  const end = raw.indexOf('\r\n\r\n');
  if (end === -1) throw new Error(`not an HTTP response: ${JSON.stringify(raw.slice(0, 200))}`);
  const [statusLine, ...lines] = raw.slice(0, end).split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(statusLine!);
  if (match === null) throw new Error(`not a status line: ${JSON.stringify(statusLine)}`);
  const headers = new Map<string, string[]>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`not a header line: ${JSON.stringify(line)}`);
    const name = line.slice(0, colon).toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
  }
  const rest = raw.slice(end + 4);
  const body = headers.get('transfer-encoding')?.[0]?.toLowerCase() === 'chunked' ? dechunk(rest) : rest;
  return { status: Number(match[1]), headers, raw, body };
}

function dechunk(text: string): string {
  let out = '';
  let at = 0;
  for (;;) {
    const eol = text.indexOf('\r\n', at);
    if (eol === -1) return out;
    const size = parseInt(text.slice(at, eol), 16);
    if (!Number.isFinite(size) || size === 0) return out;
    out += text.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
}

/** The one value of `name`, or undefined; fails on a header sent twice. */
export function headerOf(res: RawResponse, name: string): string | undefined {
  const values = res.headers.get(name);
  if (values !== undefined && values.length > 1) throw new Error(`response header ${name} sent ${values.length} times`);
  return values?.[0];
}

/**
 * Follows an audit trail file as it grows: its text (for leak scans) and its `http.request`
 * records by request id, each handed out once, in file order.
 */
export class AuditFileTail {
  #read = 0;
  #partial = '';
  text = '';
  readonly #byId = new Map<string, AuditRecord[]>();

  constructor(
    private readonly file: string,
    private readonly settled: () => boolean,
  ) {}

  /** What the file gained since the last call (whole lines only). */
  async more(): Promise<string> {
    const buffer = await readFrom(this.file, this.#read);
    this.#read += buffer.length;
    const fresh = this.#partial + buffer.toString('utf8');
    const cut = fresh.lastIndexOf('\n') + 1;
    this.#partial = fresh.slice(cut);
    const lines = fresh.slice(0, cut);
    this.text += lines;
    for (const line of lines.split('\n')) {
      if (line === '') continue;
      const record = JSON.parse(line) as AuditRecord;
      if (record.event !== 'http.request' || record.request === undefined) continue;
      this.#byId.set(record.request.id, [...(this.#byId.get(record.request.id) ?? []), record]);
    }
    return lines;
  }

  /** The next unclaimed `http.request` record with this id; fails when none comes within `timeoutMs`. */
  async take(id: string, timeoutMs = 5000): Promise<AuditRecord> {
    let found: AuditRecord | undefined;
    const deadline = Date.now() + timeoutMs;
    while (found === undefined) {
      await waitFor(this.settled, Math.max(deadline - Date.now(), 1), 'the audit trail to settle');
      await this.more();
      found = this.#byId.get(id)?.shift();
      if (found === undefined) {
        if (Date.now() > deadline) throw new Error(`no audit record for the answered request ${id}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
    return found;
  }

  /** Request ids with records nobody took (a request recorded twice, or one that was never answered). */
  unclaimed(): string[] {
    return [...this.#byId].filter(([, records]) => records.length > 0).map(([id]) => id);
  }
}

/** The bytes of `file` from `offset` on (none while it does not exist). */
async function readFrom(file: string, offset: number): Promise<Buffer> {
  const handle = await open(file, 'r').catch(() => undefined);
  if (handle === undefined) return Buffer.alloc(0);
  try {
    const { size } = await handle.stat();
    const buffer = Buffer.alloc(Math.max(size - offset, 0));
    if (buffer.length > 0) await handle.read(buffer, 0, buffer.length, offset);
    return buffer;
  } finally {
    await handle.close();
  }
}
