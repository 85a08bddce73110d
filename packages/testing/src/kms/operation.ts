import type { RequestBody } from '../aws-json-server.js';
import type { KeyStore } from './key-store.js';

/** One KMS API action: the account's keys and the request body in, the response body out (or a thrown KmsError). */
export type KmsOperation = (store: KeyStore, body: RequestBody) => Record<string, unknown>;
