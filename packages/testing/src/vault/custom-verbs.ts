import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';

const HEAD_END = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');
const MAX_HEAD = 64 * 1024;

type Mode = 'head' | 'body' | 'chunk-size' | 'chunk-data' | 'trailers' | 'passthrough';

/**
 * Node's HTTP parser rejects methods it does not know, and Vault's clients send `LIST`. This
 * stream sits between the socket and node:http, follows HTTP/1.1 framing (Content-Length and
 * chunked bodies, keep-alive) and rewrites each `LIST` request line to `GET` with a marker
 * header carrying the original method.
 */
export class CustomVerbSocket extends Duplex {
  private mode: Mode = 'head';
  private pending: Buffer = Buffer.alloc(0);
  private remaining = 0;

  constructor(
    private readonly raw: Socket,
    private readonly markerHeader: string,
  ) {
    super({ allowHalfOpen: true });
    raw.on('data', (chunk: Buffer) => {
      const out = this.rewrite(chunk);
      if (out.length > 0 && !this.push(out)) raw.pause();
    });
    raw.on('end', () => this.push(null));
    raw.on('timeout', () => this.emit('timeout'));
    raw.on('error', (err) => this.destroy(err));
    raw.on('close', () => this.destroy());
  }

  get remoteAddress(): string | undefined {
    return this.raw.remoteAddress;
  }
  get remotePort(): number | undefined {
    return this.raw.remotePort;
  }
  get localAddress(): string | undefined {
    return this.raw.localAddress;
  }
  get localPort(): number | undefined {
    return this.raw.localPort;
  }
  setTimeout(ms: number, cb?: () => void): this {
    this.raw.setTimeout(ms);
    if (cb) this.once('timeout', cb);
    return this;
  }
  setNoDelay(noDelay?: boolean): this {
    this.raw.setNoDelay(noDelay);
    return this;
  }
  setKeepAlive(enable?: boolean, delay?: number): this {
    this.raw.setKeepAlive(enable, delay);
    return this;
  }

  override _read(): void {
    this.raw.resume();
  }
  override _write(chunk: Buffer, encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.raw.write(chunk, encoding, cb);
  }
  override _final(cb: (err?: Error | null) => void): void {
    this.raw.end(cb);
  }
  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.raw.destroy();
    cb(err);
  }

  private rewrite(chunk: Buffer): Buffer {
    if (this.mode === 'passthrough') return chunk;
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: Buffer[] = [];
    for (;;) {
      const progressed = this.step(out);
      if (!progressed) break;
    }
    return Buffer.concat(out);
  }

  /** Consumes what it can of `pending` for the current mode; false when it needs more bytes. */
  private step(out: Buffer[]): boolean {
    const buf = this.pending;
    if (buf.length === 0) return false;
    switch (this.mode) {
      case 'head': {
        const end = buf.indexOf(HEAD_END);
        if (end < 0) {
          if (buf.length > MAX_HEAD) this.flushAs('passthrough', out);
          return false;
        }
        out.push(this.processHead(buf.subarray(0, end + 4).toString('latin1')));
        this.pending = buf.subarray(end + 4);
        return true;
      }
      case 'body':
      case 'chunk-data': {
        const n = Math.min(this.remaining, buf.length);
        out.push(buf.subarray(0, n));
        this.pending = buf.subarray(n);
        this.remaining -= n;
        if (this.remaining === 0) this.mode = this.mode === 'body' ? 'head' : 'chunk-size';
        return true;
      }
      case 'chunk-size':
      case 'trailers': {
        const end = buf.indexOf(CRLF);
        if (end < 0) return false;
        const line = buf.subarray(0, end + 2);
        out.push(line);
        this.pending = buf.subarray(end + 2);
        if (this.mode === 'trailers') {
          if (end === 0) this.mode = 'head';
          return true;
        }
        const size = parseInt(line.toString('latin1').split(';')[0]!.trim(), 16);
        if (!Number.isFinite(size)) this.flushAs('passthrough', out);
        else if (size === 0) this.mode = 'trailers';
        else {
          this.mode = 'chunk-data';
          this.remaining = size + 2;
        }
        return true;
      }
      default:
        return false;
    }
  }

  private flushAs(mode: Mode, out: Buffer[]): void {
    out.push(this.pending);
    this.pending = Buffer.alloc(0);
    this.mode = mode;
  }

  private processHead(head: string): Buffer {
    let text = head;
    if (/^LIST /i.test(text)) {
      const eol = text.indexOf('\r\n');
      text = `GET ${text.slice(5, eol)}\r\n${this.markerHeader}: LIST\r\n${text.slice(eol + 2)}`;
    }
    const headers = text.toLowerCase();
    const length = /\r\ncontent-length:\s*(\d+)/.exec(headers);
    if (/\r\ntransfer-encoding:[^\r]*chunked/.test(headers)) this.mode = 'chunk-size';
    else if (length && Number(length[1]) > 0) {
      this.mode = 'body';
      this.remaining = Number(length[1]);
    } else this.mode = 'head';
    return Buffer.from(text, 'latin1');
  }
}
