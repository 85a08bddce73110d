import { randomBytes } from 'node:crypto';
import { localKek, type LocalKeySet } from '@keyward/core';
import type { KekHarness } from './kek-conformance.js';

/**
 * A local KEK over a key set that changes the way an operator changes the declared secret: a
 * rotation adds a version, retiring raises `min_decryption_version`, and an outage is the secret
 * store failing to answer.
 */
export function localHarness(keyId = 'conformance'): KekHarness {
  let keys: Record<string, string> = { '1': randomBytes(32).toString('base64') };
  let failures = 0;
  let down = false;
  const latest = () => Math.max(...Object.keys(keys).filter((k) => /^\d+$/.test(k)).map(Number));
  const read = (): LocalKeySet => {
    if (down) throw new Error('secret store unreachable');
    if (failures > 0) {
      failures -= 1;
      throw new Error('secret store hiccup');
    }
    return keys;
  };
  return {
    kek: localKek({ keyId, keys: read }),
    rotate: async () => void (keys = { ...keys, [String(latest() + 1)]: randomBytes(32).toString('base64') }),
    retireOldVersions: async () => void (keys = { ...keys, min_decryption_version: String(latest()) }),
    retiringDisablesKey: false,
    failNext: (count) => void (failures += count),
    outage: () => void (down = true),
    recover: () => void (down = false),
    unknownVersion: '99',
  };
}
