// Chaos scenarios (issue 12, item 7): each runs a demo-like app (Express, and Nest where said) on
// 127.0.0.1 under 50 clients while one of its backends fails, and prints one JSON line:
// `chaos.<scenario>` (value: failed requests; lostRecords, requests served, p99, time to recover
// in `comparison`), `chaos.nest.<scenario>` for the Nest app, and `recovery.pg-restart` (value:
// time until the pool serves again). Every scenario shares one PostgreSQL (embedded, password
// auth); each has its own Vault dev server or Secrets Manager emulator.
// CHAOS_SCALE=0.1 shortens outages and runs (development); CHAOS_SCENARIOS=a,b runs only those.
import { runAuditSinkStall } from './chaos/audit-sink-stall.js';
import { runPgRestart } from './chaos/pg-restart.js';
import { runRedisOutage } from './chaos/redis-outage.js';
import { selected } from './chaos/scale.js';
import { runSecretsManagerOutage } from './chaos/secrets-manager-outage.js';
import { runSigtermUnderLoad } from './chaos/sigterm-under-load.js';
import { rotationDuringOutagePlan, runVaultOutage, vaultOutagePlan } from './chaos/vault-outage.js';
import { startEmbeddedPostgres, type RunningPostgres } from '@keyward/testing';

const SCENARIOS: readonly [string, (postgres: RunningPostgres) => Promise<void>][] = [
  ['chaos.vault-outage', (pg) => runVaultOutage(pg, vaultOutagePlan())],
  ['chaos.secrets-manager-outage', runSecretsManagerOutage],
  ['chaos.redis-outage', runRedisOutage],
  ['chaos.audit-sink-stall', (pg) => runAuditSinkStall(pg, 'express')],
  ['chaos.nest.audit-sink-stall', (pg) => runAuditSinkStall(pg, 'nest')],
  ['chaos.sigterm-under-load', (pg) => runSigtermUnderLoad(pg, 'express')],
  ['chaos.nest.sigterm-under-load', (pg) => runSigtermUnderLoad(pg, 'nest')],
  ['chaos.rotation-during-outage', (pg) => runVaultOutage(pg, rotationDuringOutagePlan())],
  // Last: it stops and starts the shared PostgreSQL.
  ['recovery.pg-restart', runPgRestart],
];

export async function run(): Promise<void> {
  const postgres = await startEmbeddedPostgres();
  try {
    for (const [name, scenario] of SCENARIOS) if (selected(name)) await scenario(postgres);
  } finally {
    await postgres.stop();
  }
}
