import { randomBytes } from 'node:crypto';

/**
 * Sealed or not, with the dev server's single Shamir share (threshold 1 of 1). While sealed,
 * expirations wait, as Vault's expiration manager is stopped; they run right after unsealing.
 */
export class SealState {
  /** The dev server's unseal key, base64 of 32 bytes, as `vault server -dev` prints it. */
  readonly unsealKey = randomBytes(32).toString('base64');
  private sealedFlag = false;
  private deferred: Array<() => void> = [];

  get sealed(): boolean {
    return this.sealedFlag;
  }

  seal(): void {
    this.sealedFlag = true;
  }

  unseal(): void {
    if (!this.sealedFlag) return;
    this.sealedFlag = false;
    const work = this.deferred;
    this.deferred = [];
    for (const fn of work) fn();
  }

  /** Runs `fn` now, or right after the next unseal. */
  whenUnsealed(fn: () => void): void {
    if (this.sealedFlag) this.deferred.push(fn);
    else fn();
  }

  /** Whether `key` (base64 or hex) is the unseal key: Vault's checks and messages. */
  checkKey(key: string): string | undefined {
    let raw: Buffer;
    if (/^[0-9a-fA-F]+$/.test(key) && key.length % 2 === 0 && key.length >= 32 && key.length <= 66) raw = Buffer.from(key, 'hex');
    else if (/^[A-Za-z0-9+/]*={0,2}$/.test(key)) raw = Buffer.from(key, 'base64');
    else return "'key' must be a valid hex or base64 string";
    if (raw.length < 16) return 'key is shorter than minimum 16 bytes';
    if (raw.length > 33) return 'key is longer than maximum 33 bytes';
    return raw.equals(Buffer.from(this.unsealKey, 'base64')) ? undefined : 'Unseal failed, invalid key';
  }
}
