// CHAOS_SCALE shortens every outage and run for development (0.1 = a tenth); the full run is 1.
// CHAOS_SCENARIOS=vault-outage,redis-outage runs only those (names without the `chaos.` prefix).
const raw = Number(process.env['CHAOS_SCALE'] ?? '1');
export const SCALE = Number.isFinite(raw) && raw > 0 && raw <= 1 ? raw : 1;

/** `s` seconds at full scale, in milliseconds, scaled (never below `minMs`). */
export function scaled(s: number, minMs = 500): number {
  return Math.max(minMs, Math.round(s * 1000 * SCALE));
}

/** Whether the scenario named `name` should run (all of them unless CHAOS_SCENARIOS lists some). */
export function selected(name: string): boolean {
  const only = process.env['CHAOS_SCENARIOS'];
  if (only === undefined || only.trim() === '') return true;
  return only.split(',').some((n) => n.trim() !== '' && name.includes(n.trim()));
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
