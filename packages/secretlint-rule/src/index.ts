import { creator } from './keyward-rule.js';

export { findKeywardApiKeys, type FoundApiKey } from './find-keyward-api-keys.js';
export { creator, messages, type KeywardSecretlintRule, type KeywardRuleContext, type KeywardRuleMessage, type KeywardRuleSource } from './keyward-rule.js';

/** secretlint loads a rule package's `creator`; the default export is the same rule, for other loaders. */
export default creator;
