/** Helpers for this folder's specs (not exported from the package). */
import { useStarted } from '../spec-support.js';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { startKmsEmulator, type KmsEmulator } from './kms-emulator.js';

/** Starts one emulator and one client for the spec file (closed after it); hands them to `use`. */
export function useEmulator(use: (emulator: KmsEmulator, client: KMSClient) => void): void {
  useStarted(() => startKmsEmulator(), (emulator) => clientFor(emulator), use);
}

/** A real SDK client for the emulator; `maxAttempts: 1` so an error is seen as the emulator sent it. */
export function clientFor(emulator: Pick<KmsEmulator, 'endpoint' | 'region' | 'credentials'>, maxAttempts = 1): KMSClient {
  return new KMSClient({ endpoint: emulator.endpoint, region: emulator.region, credentials: emulator.credentials, maxAttempts });
}

export { rejection } from '../spec-support.js';

/** A new symmetric key: its key ID and key ARN. */
export async function createKey(client: KMSClient): Promise<{ id: string; arn: string }> {
  const { KeyMetadata } = await client.send(new CreateKeyCommand({}));
  return { id: KeyMetadata!.KeyId!, arn: KeyMetadata!.Arn! };
}

/** A JSON 1.1 request on the wire, as the API Reference's examples show them; the decoded answer. */
export async function wire(emulator: KmsEmulator, operation: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(emulator.endpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': `TrentService.${operation}` },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** The API Reference's pattern for KeyMaterialId: fixed length 64, `^[a-f0-9]+$`. */
export const KEY_MATERIAL_ID = /^[a-f0-9]{64}$/;
