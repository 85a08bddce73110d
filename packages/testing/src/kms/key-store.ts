import { randomBytes, randomUUID } from 'node:crypto';
import { disabled, notFound, pendingDeletion } from './errors.js';

export type KeyState = 'Enabled' | 'Disabled' | 'PendingDeletion';

/** One generation of a key's AES-256 material. Rotation adds one; the old ones still decrypt. */
export interface KeyMaterial {
  /** 64 lowercase hex characters, the API Reference's KeyMaterialId pattern. */
  readonly id: string;
  readonly secret: Buffer;
  /** Absent for the key's first material (ListKeyRotations leaves RotationDate and RotationType out for it). */
  readonly rotation?: { readonly dateMs: number; readonly type: 'ON_DEMAND' | 'AUTOMATIC' };
}

export interface KmsKey {
  readonly id: string;
  readonly arn: string;
  readonly createdMs: number;
  readonly description: string;
  state: KeyState;
  deletionMs?: number;
  pendingWindowDays?: number;
  /** Oldest first; the last one encrypts. */
  readonly materials: KeyMaterial[];
  /** Automatic rotation: KMS rotates every `periodDays` once enabled (the emulator only reports the schedule). */
  rotation: { enabled: boolean; periodDays: number; enabledMs?: number };
}

export interface KmsAlias {
  readonly name: string;
  readonly arn: string;
  readonly targetKeyId: string;
  readonly createdMs: number;
}

/** The keys and aliases of one emulated account and region. */
export class KeyStore {
  private readonly keys = new Map<string, KmsKey>();
  private readonly aliases = new Map<string, KmsAlias>();

  constructor(
    readonly region: string,
    readonly accountId: string,
    readonly now: () => number = Date.now,
  ) {}

  create(description: string): KmsKey {
    const id = randomUUID();
    const key: KmsKey = {
      id,
      arn: this.keyArn(id),
      createdMs: this.now(),
      description,
      state: 'Enabled',
      materials: [],
      rotation: { enabled: false, periodDays: 365 },
    };
    addMaterial(key);
    this.keys.set(id, key);
    return key;
  }

  /**
   * A key by key ID, key ARN, alias name or alias ARN (aliases only where the operation accepts
   * them), or NotFoundException worded as KMS words it.
   */
  get(keyId: string, options: { aliases: boolean } = { aliases: true }): KmsKey {
    this.purge();
    const alias = keyId.startsWith('alias/') ? keyId : this.aliasNameOfArn(keyId);
    if (alias !== undefined) {
      if (!options.aliases) throw notFound(`Invalid keyId ${keyId}`);
      const target = this.aliases.get(alias)?.targetKeyId;
      const key = target === undefined ? undefined : this.keys.get(target);
      if (!key) throw notFound(`Alias ${this.aliasArn(alias)} is not found.`);
      return key;
    }
    const prefix = this.keyArn('');
    const id = keyId.startsWith(prefix) ? keyId.slice(prefix.length) : keyId;
    const key = this.keys.get(id);
    if (!key) throw notFound(`Key '${keyId.startsWith('arn:') ? keyId : this.keyArn(keyId)}' does not exist`);
    return key;
  }

  /** The key a ciphertext names, if it still exists. */
  find(id: string): KmsKey | undefined {
    this.purge();
    return this.keys.get(id);
  }

  addAlias(name: string, key: KmsKey): KmsAlias {
    const alias: KmsAlias = { name, arn: this.aliasArn(name), targetKeyId: key.id, createdMs: this.now() };
    this.aliases.set(name, alias);
    return alias;
  }

  hasAlias(name: string): boolean {
    this.purge();
    return this.aliases.has(name);
  }

  allAliases(): KmsAlias[] {
    this.purge();
    return [...this.aliases.values()];
  }

  aliasArn(name: string): string {
    return `arn:aws:kms:${this.region}:${this.accountId}:${name}`;
  }

  private keyArn(id: string): string {
    return `arn:aws:kms:${this.region}:${this.accountId}:key/${id}`;
  }

  private aliasNameOfArn(keyId: string): string | undefined {
    const prefix = this.aliasArn('');
    return keyId.startsWith(`${prefix}alias/`) ? keyId.slice(prefix.length) : undefined;
  }

  /** KMS deletes a key (and its aliases) once its waiting period has passed. */
  private purge(): void {
    const now = this.now();
    for (const key of this.keys.values()) {
      if (key.deletionMs === undefined || key.deletionMs > now) continue;
      this.keys.delete(key.id);
      for (const alias of this.aliases.values()) if (alias.targetKeyId === key.id) this.aliases.delete(alias.name);
    }
  }
}

/** Adds a new current material to the key. */
export function addMaterial(key: KmsKey, rotation?: KeyMaterial['rotation']): KeyMaterial {
  const material: KeyMaterial = { id: randomBytes(32).toString('hex'), secret: randomBytes(32), ...(rotation ? { rotation } : {}) };
  key.materials.push(material);
  return material;
}

export function currentMaterial(key: KmsKey): KeyMaterial {
  return key.materials[key.materials.length - 1]!;
}

/** Refuses a key that cannot take part in a cryptographic operation: DisabledException or KMSInvalidStateException. */
export function usable(key: KmsKey): KmsKey {
  if (key.state === 'Disabled') throw disabled(key.arn);
  if (key.state === 'PendingDeletion') throw pendingDeletion(key.arn);
  return key;
}
