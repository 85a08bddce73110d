import type { VaultRequest } from './backend.js';
import { envelope, type EnvelopeFields, type VaultReply } from './http-envelope.js';

/** A system-backend answer: mount_type `system`, data also copied to the top level as Vault does. */
export function sysReply(req: VaultRequest, fields: Partial<EnvelopeFields> = {}): VaultReply {
  return envelope({ requestId: req.requestId, mountType: 'system', injectData: true, ...fields });
}
