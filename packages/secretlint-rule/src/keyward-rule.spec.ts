import { describe, expect, it } from '@jest/globals';
import { generateApiKey } from '@keyward/core';
import { lintSource } from '@secretlint/core';
import type { SecretLintCoreConfig, SecretLintRuleCreator } from '@secretlint/types';
import defaultExport, { creator } from './index.js';

/** The type check is the test: the rule is what secretlint's API takes, with no secretlint import at run time. */
const asSecretlintRule: SecretLintRuleCreator = creator;

/** The configuration a user's `.secretlintrc.json` `{ "rules": [{ "id": "@keyward/secretlint-rule-keyward" }] }` loads to. */
const config: SecretLintCoreConfig = { rules: [{ id: '@keyward/secretlint-rule-keyward', rule: asSecretlintRule }] };

/** The part of a key that must never be printed: its secret and checksum (everything after kw_<env>_<keyId>_). */
function secretOf(key: string): string {
  return key.slice(-49);
}

async function lint(content: string, maskSecrets: boolean) {
  return lintSource({ source: { filePath: '/app/config/partner.yaml', content, contentType: 'text' }, options: { config, maskSecrets } });
}

describe('the secretlint rule', () => {
  const issued = generateApiKey({ env: 'live' });
  const key = issued.key;
  const content = `partner:\n  url: https://api.example.com\n  api_key: ${key}\n`;

  it('is exported as secretlint loads rules: a named `creator` (and the default export)', () => {
    expect(defaultExport).toBe(creator);
    expect(creator.meta).toMatchObject({ id: '@keyward/secretlint-rule-keyward', type: 'scanner', recommended: true, supportedContentTypes: ['text'] });
  });

  it.each([false, true])('through lintSource (maskSecrets %s): one error naming the key id, its range covering the whole key', async (maskSecrets) => {
    const result = await lint(content, maskSecrets);
    expect(result.messages).toHaveLength(1);
    const [message] = result.messages;
    const start = content.indexOf(key);
    expect(message).toMatchObject({
      ruleId: '@keyward/secretlint-rule-keyward',
      messageId: 'KEYWARD_API_KEY',
      severity: 'error',
      range: [start, start + key.length],
      loc: { start: { line: 3, column: 11 } },
    });
    if (!maskSecrets) expect(message!.message).toContain(`key id ${issued.keyId} (env live)`);
    // Masking by range (secretlint's mask-result formatter) hides the whole key, and nothing else.
    const masked = content.slice(0, message!.range[0]) + '*'.repeat(key.length) + content.slice(message!.range[1]);
    expect(masked).toBe(content.replace(key, '*'.repeat(key.length)));
    const printed = JSON.stringify(result.messages);
    expect(printed).not.toContain(key);
    expect(printed).not.toContain(secretOf(key));
    for (let i = 0; i + 8 <= 49; i++) expect(printed).not.toContain(secretOf(key).slice(i, i + 8));
  });

  it('reports no key with a broken checksum and no key inside a longer token', async () => {
    const typo = key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A');
    expect((await lint(`a: ${typo}\nb: x${key}\n`, false)).messages).toEqual([]);
  });

  it("the message never holds the key's secret part, in either language", () => {
    for (let i = 0; i < 200; i++) {
      const { key: k, keyId } = generateApiKey({ env: 'test' });
      for (const translate of [creator.messages.KEYWARD_API_KEY.en, creator.messages.KEYWARD_API_KEY.ja]) {
        const text = translate({ keyId, env: 'test' });
        expect(text).toContain(keyId);
        expect(text).not.toContain(secretOf(k).slice(0, 8));
        expect(text).not.toContain(secretOf(k).slice(-8));
      }
    }
  });
});
