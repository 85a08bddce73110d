import { randomBytes } from 'node:crypto';
import { newUuid } from './ids.js';
import { LeaseManager } from './lease-manager.js';
import { MountTable } from './mount-table.js';
import { PolicyStore } from './policies.js';
import { RateLimitQuotas } from './rate-limit-quotas.js';
import { SealState } from './seal-state.js';
import { ServerTimers } from './timers.js';
import { TokenStore } from './token-store.js';

/** The state of one dev server that every backend shares. */
export class VaultCore {
  readonly timers = new ServerTimers();
  readonly seal = new SealState();
  readonly policies = new PolicyStore();
  readonly mounts = new MountTable();
  readonly quotas = new RateLimitQuotas();
  readonly leases = new LeaseManager(this.timers, this.seal);
  readonly tokens = new TokenStore(this.timers, this.seal, (id) => this.leases.revokeByToken(id));
  readonly clusterName = `vault-cluster-${randomBytes(4).toString('hex')}`;
  readonly clusterId = newUuid();
  /** Entity ids by auth alias (mount accessor + alias name): logins of one identity share one entity. */
  private readonly entities = new Map<string, string>();

  entityFor(mountAccessor: string, aliasName: string): string {
    const key = `${mountAccessor}\u0000${aliasName}`;
    let id = this.entities.get(key);
    if (!id) {
      id = newUuid();
      this.entities.set(key, id);
    }
    return id;
  }

  /** Stops every timer and connection; revokes nothing (like stopping `vault server -dev`). */
  async close(): Promise<void> {
    this.timers.clear();
    this.leases.clear();
    this.tokens.clear();
    await Promise.all(this.mounts.all().map((m) => m.backend.close?.().catch(() => {})));
  }
}

