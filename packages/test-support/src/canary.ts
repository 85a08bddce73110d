import { randomBytes } from 'node:crypto';

/** A value that must never be seen outside `reveal()`: tests plant it and scan output for it. */
export function canary(label = 'canary'): string {
  return `${label}-${randomBytes(12).toString('hex')}`;
}

/** Asserts that none of `canaries` occurs in any of `texts`; names the text that leaked. */
export function expectNoCanary(texts: Readonly<Record<string, string>>, ...canaries: string[]): void {
  const leaks = Object.entries(texts).flatMap(([where, text]) =>
    canaries.filter((c) => text.includes(c)).map((c) => `${where} contains ${c}`),
  );
  if (leaks.length > 0) throw new Error(`secret value leaked:\n${leaks.join('\n')}`);
}
