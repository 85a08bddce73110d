// What this folder offers the rest of @keyward/core (internal helpers included); the public API is ../index.ts.
export { isKeywardError, type KeywardErrorCode, type KeywardErrorOptions, KeywardError } from './keyward-error.js';
export { type SecretProblem, SecretsUnavailableError } from './bootstrap-error.js';
export { httpAnswerFor, type HttpAnswer } from './http-answer.js';
