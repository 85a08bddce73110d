// Chaos scenarios (issue 12, item 7): each runs a demo-like app (Express, and Nest where said) on
// 127.0.0.1 under 50 clients while one of its backends fails, and prints one `chaos.<scenario>`
// (or `recovery.pg-restart`) JSON line: failed requests (value), lost audit records, requests
// served, p99, time to recover. See bench/chaos/README.md for what each one proves.
// CHAOS_SCALE=0.1 shortens outages and runs (development); CHAOS_SCENARIOS=a,b runs only those.
import { startRestartablePostgres } from './chaos/postgres.js';
import { selected } from './chaos/scale.js';
import { rotationDuringOutagePlan, runVaultOutage, vaultOutagePlan } from './chaos/vault-outage.js';

export async function run(): Promise<void> {
  const postgres = await startRestartablePostgres();
  try {
    for (const plan of [vaultOutagePlan(), rotationDuringOutagePlan()]) {
      if (selected(plan.name)) await runVaultOutage(postgres, plan);
    }
  } finally {
    await postgres.stop();
  }
}
