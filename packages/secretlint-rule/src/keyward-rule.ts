import { findKeywardApiKeys } from './find-keyward-api-keys.js';

/**
 * What this rule needs of secretlint's rule API (`SecretLintRuleCreator` of `@secretlint/types`,
 * secretlint 9 to 13), declared here so that the package depends on no secretlint package: a
 * rule is a plain object.
 */
export interface KeywardRuleContext {
  /** The translator of `messages` in the user's locale. */
  createTranslator(localized: typeof messages): (messageId: keyof typeof messages, props: { keyId: string; env: string }) => KeywardRuleMessage;
  /** Reports a finding: `range` is [start, end) in the file's text. */
  report(descriptor: { message: KeywardRuleMessage; range: readonly [startIndex: number, endIndex: number] }): void;
}

/** A translated message, as secretlint's translator returns it. */
export interface KeywardRuleMessage {
  /** The text in the user's locale. */
  readonly message: string;
  readonly messageId: string;
  /** What the message quotes; `--maskSecrets` stars these values. */
  readonly data: { keyId: string; env: string } | undefined;
}

/** The source secretlint hands to a rule: a file's text. */
export interface KeywardRuleSource {
  /** The file's text. */
  readonly content: string;
}

/** The secretlint rule object: `meta`, `messages` and `create`. */
export interface KeywardSecretlintRule {
  readonly messages: typeof messages;
  readonly meta: {
    readonly id: string;
    readonly type: 'scanner';
    readonly recommended: boolean;
    readonly supportedContentTypes: ['text'];
    readonly docs: { readonly url: string };
  };
  create(context: KeywardRuleContext, options: Record<string, never>): { file(source: KeywardRuleSource): void };
}

/**
 * The rule's messages, by id (`allowMessageIds` in `.secretlintrc.json` takes the id). They name
 * the key id and env, which are not secret, and never any part of the key's secret or checksum.
 *
 * @example
 * messages.KEYWARD_API_KEY.en({ keyId: 'AbC123xYz789', env: 'live' });
 */
export const messages = {
  KEYWARD_API_KEY: {
    en: (props: { keyId: string; env: string }) =>
      `found a Keyward API key: key id ${props.keyId} (env ${props.env}); revoke it with \`keyward api-keys revoke --key-id ${props.keyId}\` and issue a new one`,
    ja: (props: { keyId: string; env: string }) =>
      `Keyward API キーが見つかりました: キー ID ${props.keyId} (環境 ${props.env})。\`keyward api-keys revoke --key-id ${props.keyId}\` で失効させ、新しいキーを発行してください`,
  },
};

/**
 * The secretlint rule `@keyward/secretlint-rule-keyward`: reports each Keyward API key whose
 * checksum holds, with its range (which `secretlint --format=mask-result` masks) and a message
 * naming only its key id and env. Enable it in `.secretlintrc.json`:
 * `{ "rules": [{ "id": "@keyward/secretlint-rule-keyward" }] }`.
 *
 * @example
 * import { lintSource } from '@secretlint/core';
 * import { creator } from '@keyward/secretlint-rule-keyward';
 * const result = await lintSource({
 *   source: { filePath: '.env', content: 'API_KEY=kw_live_...', contentType: 'text' },
 *   options: { config: { rules: [{ id: '@keyward/secretlint-rule-keyward', rule: creator }] } },
 * });
 */
export const creator: KeywardSecretlintRule = {
  messages,
  meta: {
    id: '@keyward/secretlint-rule-keyward',
    type: 'scanner',
    recommended: true,
    supportedContentTypes: ['text'],
    docs: { url: 'https://www.npmjs.com/package/@keyward/secretlint-rule-keyward' },
  },
  create(context) {
    const t = context.createTranslator(messages);
    return {
      file(source) {
        for (const { keyId, env, start, end } of findKeywardApiKeys(source.content)) {
          context.report({ message: t('KEYWARD_API_KEY', { keyId, env }), range: [start, end] });
        }
      },
    };
  },
};
