/**
 * Replaces every string found inside `value` (3 characters or more) with `[redacted]` in `text`.
 * Used on messages from parsers and validators, which like to quote what they received.
 */
export function redactValues(text: string, value: unknown): string {
  const leaves = new Set<string>();
  collectStrings(value, leaves);
  let out = text;
  for (const leaf of [...leaves].sort((a, b) => b.length - a.length)) {
    out = out.split(leaf).join('[redacted]');
  }
  return out;
}

function collectStrings(value: unknown, into: Set<string>): void {
  if (typeof value === 'string') {
    // Validators quote strings as JSON (arktype: `(was "a\"b")`), so the escaped form goes too.
    for (const form of [value, JSON.stringify(value).slice(1, -1)]) {
      if (form.length >= 3) into.add(form);
      // Parsers may also quote a fragment of what they failed on.
      for (const part of form.split(/[\s"'{}[\],:=\\]+/)) if (part.length >= 3) into.add(part);
    }
  } else if (typeof value === 'number' || typeof value === 'bigint') {
    collectStrings(String(value), into);
  } else if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) collectStrings(v, into);
  }
}
