import { randomInt } from 'node:crypto';
import { invalidParameter } from './errors.js';
import type { Operation } from './operation.js';
import { optionalBoolean, optionalNumber, optionalString } from './request-fields.js';

const CHARACTER_CLASSES = {
  Lowercase: 'abcdefghijklmnopqrstuvwxyz',
  Uppercase: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  Numbers: '0123456789',
  Punctuation: '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~',
} as const;

/**
 * GetRandomPassword: PasswordLength 1-4096 (default 32); Exclude* drop a class; IncludeSpace adds a
 * space; RequireEachIncludedType (default true) puts at least one of every remaining class in.
 */
const getRandomPassword: Operation = (_context, body) => {
  const length = optionalNumber(body, 'PasswordLength') ?? 32;
  if (!Number.isInteger(length) || length < 1 || length > 4096) throw invalidParameter('PasswordLength must be between 1 and 4096.');
  const excluded = new Set(optionalString(body, 'ExcludeCharacters') ?? '');
  const classes = Object.entries(CHARACTER_CLASSES)
    .filter(([name]) => optionalBoolean(body, `Exclude${name}`) !== true)
    .map(([, chars]) => chars as string);
  if (optionalBoolean(body, 'IncludeSpace') === true) classes.push(' ');
  const pools = classes.map((chars) => [...chars].filter((c) => !excluded.has(c)).join('')).filter((pool) => pool.length > 0);
  if (pools.length === 0) throw invalidParameter('The password cannot be generated: every character type is excluded.');
  const requireEach = optionalBoolean(body, 'RequireEachIncludedType') ?? true;
  if (requireEach && length < pools.length) {
    throw invalidParameter(`PasswordLength must be at least ${pools.length} to include every required character type.`);
  }
  const all = pools.join('');
  const chars = Array.from({ length }, () => all[randomInt(all.length)]!);
  if (requireEach) {
    // One character from each class at distinct random positions.
    const positions = new Set<number>();
    while (positions.size < pools.length) positions.add(randomInt(length));
    [...positions].forEach((at, i) => (chars[at] = pools[i]![randomInt(pools[i]!.length)]!));
  }
  return { RandomPassword: chars.join('') };
};

export const randomPasswordOperations: Readonly<Record<string, Operation>> = {
  GetRandomPassword: getRandomPassword,
};
