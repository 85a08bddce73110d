import { badRequest } from './http-envelope.js';

/** One `path "..." { capabilities = [...] }` rule. */
export interface PathRule {
  readonly pattern: string;
  readonly capabilities: ReadonlySet<string>;
}

const CAPABILITIES = new Set(['create', 'read', 'update', 'patch', 'delete', 'list', 'sudo', 'deny', 'subscribe', 'recover']);

type Token = { kind: 'str' | 'ident' | 'num' | 'punct'; text: string };

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) i++;
    else if (c === '#' || (c === '/' && src[i + 1] === '/')) {
      while (i < src.length && src[i] !== '\n') i++;
    } else if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2);
      if (end < 0) throw parseError('unterminated comment');
      i = end + 2;
    } else if (c === '"') {
      let j = i + 1;
      let text = '';
      while (j < src.length && src[j] !== '"') {
        if (src[j] === '\\' && j + 1 < src.length) {
          const e = src[j + 1]!;
          text += e === 'n' ? '\n' : e === 't' ? '\t' : e;
          j += 2;
        } else text += src[j++];
      }
      if (j >= src.length) throw parseError('unterminated string');
      out.push({ kind: 'str', text });
      i = j + 1;
    } else if ('{}[]=,:'.includes(c)) {
      out.push({ kind: 'punct', text: c });
      i++;
    } else {
      const m = /^[A-Za-z0-9_.\-+*/]+/.exec(src.slice(i));
      if (!m) throw parseError(`illegal char ${JSON.stringify(c)}`);
      out.push({ kind: /^-?\d/.test(m[0]) ? 'num' : 'ident', text: m[0] });
      i += m[0].length;
    }
  }
  return out;
}

function parseError(why: string) {
  return badRequest(`failed to parse policy: ${why}`);
}

/** A minimal HCL reader: blocks, `key = value`, lists, strings, numbers, booleans. */
class HclReader {
  private pos = 0;
  constructor(private readonly tokens: Token[]) {}

  body(endPunct?: string): Array<{ key: string; labels: string[]; value: unknown }> {
    const items: Array<{ key: string; labels: string[]; value: unknown }> = [];
    while (this.pos < this.tokens.length) {
      const t = this.tokens[this.pos]!;
      if (endPunct && t.kind === 'punct' && t.text === endPunct) {
        this.pos++;
        return items;
      }
      if (t.kind === 'punct' && t.text === ',') {
        this.pos++;
        continue;
      }
      if (t.kind !== 'ident' && t.kind !== 'str') throw parseError(`unexpected token ${JSON.stringify(t.text)}`);
      this.pos++;
      const labels: string[] = [];
      while (this.peek()?.kind === 'str') labels.push(this.tokens[this.pos++]!.text);
      const next = this.tokens[this.pos++];
      if (!next) throw parseError('unexpected end of policy');
      if (next.kind === 'punct' && (next.text === '=' || next.text === ':')) items.push({ key: t.text, labels, value: this.value() });
      else if (next.kind === 'punct' && next.text === '{') items.push({ key: t.text, labels, value: this.body('}') });
      else throw parseError(`expected "=" or "{" after ${JSON.stringify(t.text)}`);
    }
    if (endPunct) throw parseError('unterminated block');
    return items;
  }

  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  private value(): unknown {
    const t = this.tokens[this.pos++];
    if (!t) throw parseError('missing value');
    if (t.kind === 'str') return t.text;
    if (t.kind === 'num') return Number(t.text);
    if (t.kind === 'ident') return t.text === 'true' ? true : t.text === 'false' ? false : t.text;
    if (t.text === '{') return this.body('}');
    if (t.text === '[') {
      const list: unknown[] = [];
      while (this.peek() && !(this.peek()!.kind === 'punct' && this.peek()!.text === ']')) {
        if (this.peek()!.kind === 'punct' && this.peek()!.text === ',') {
          this.pos++;
          continue;
        }
        list.push(this.value());
      }
      this.pos++;
      return list;
    }
    throw parseError(`unexpected token ${JSON.stringify(t.text)}`);
  }
}

function capabilitiesOf(raw: unknown, pattern: string): Set<string> {
  const caps = new Set<string>();
  if (raw === undefined) return caps;
  if (!Array.isArray(raw)) throw parseError(`path "${pattern}": capabilities must be a list`);
  for (const c of raw) {
    const cap = String(c).toLowerCase();
    if (!CAPABILITIES.has(cap)) throw parseError(`path "${pattern}": invalid capability "${String(c)}"`);
    caps.add(cap);
  }
  return caps;
}

/**
 * Parses an ACL policy: the HCL subset `path "pattern" { capabilities = [...] }` (other keys in a
 * block are accepted and ignored), its JSON form, or either of them base64-encoded.
 */
export function parsePolicy(text: string): PathRule[] {
  let src = text;
  if (/^[A-Za-z0-9+/=\s]+$/.test(src) && !/path/.test(src)) {
    const decoded = Buffer.from(src, 'base64').toString('utf8');
    if (/path/.test(decoded)) src = decoded;
  }
  if (src.trim().startsWith('{')) return parseJsonPolicy(src);
  const rules: PathRule[] = [];
  for (const item of new HclReader(tokenize(src)).body()) {
    if (item.key !== 'path') continue; // e.g. `name = ...` in old policies
    const pattern = item.labels[0];
    if (pattern === undefined || !Array.isArray(item.value)) throw parseError('path block needs a quoted pattern and a body');
    const caps = (item.value as Array<{ key: string; value: unknown }>).find((e) => e.key === 'capabilities');
    rules.push({ pattern, capabilities: capabilitiesOf(caps?.value, pattern) });
  }
  return rules;
}

function parseJsonPolicy(src: string): PathRule[] {
  let doc: unknown;
  try {
    doc = JSON.parse(src);
  } catch (err) {
    throw parseError((err as Error).message);
  }
  const paths = (doc as { path?: Record<string, { capabilities?: unknown }> }).path ?? {};
  return Object.entries(paths).map(([pattern, body]) => ({ pattern, capabilities: capabilitiesOf(body?.capabilities, pattern) }));
}
