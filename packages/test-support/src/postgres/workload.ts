import type { KeywardPgPool } from '@keyward/pg';
import { LEDGER_TABLE } from './database.js';

export interface WorkloadOptions {
  readonly workers: number;
  /** The workers stop by themselves after this long, whatever else happens. */
  readonly maxDurationMs: number;
  /** `pg_sleep` seconds in each read (default 0.002). */
  readonly sleepSeconds?: number;
}

export interface QueryFailure {
  readonly worker: number;
  readonly kind: string;
  /** The SQLSTATE or Node error code, else the error's name. */
  readonly code: string;
  readonly message: string;
}

export interface WorkloadReport {
  /** Queries whose promise (or callback) succeeded. */
  readonly completed: number;
  readonly failures: readonly QueryFailure[];
  /** Reads per `current_user`, in the order users were first seen. */
  readonly readsByUser: ReadonlyMap<string, number>;
  /** Reads per session `application_name` (a generation, when the pool names them so). */
  readonly readsByApplication: ReadonlyMap<string, number>;
  /** Rows the workers inserted, by their own count. */
  readonly inserted: number;
  /** Transactions committed through `pool.connect()`. */
  readonly transactions: number;
  readonly elapsedMs: number;
}

export interface Workload {
  /** The counts so far. */
  report(): WorkloadReport;
  /** Resolves once `check` holds on the counts (polled every 10 ms); rejects after `timeoutMs`. */
  until(check: (report: WorkloadReport) => boolean, timeoutMs: number, what: string): Promise<WorkloadReport>;
  /** Stops every worker after its current step and resolves with the final counts. */
  stop(): Promise<WorkloadReport>;
}

/**
 * `workers` loops, each doing in turn: a read (`SELECT current_user, pg_sleep`), an insert,
 * every third step a transaction through `pool.connect()` (BEGIN, INSERT, SELECT, COMMIT), and
 * every fifth a read in callback form. Every query's outcome is counted; failures keep their code.
 */
export function startWorkload(pool: KeywardPgPool, options: WorkloadOptions): Workload {
  const started = Date.now();
  const deadline = started + options.maxDurationMs;
  const sleep = options.sleepSeconds ?? 0.002;
  const readsByUser = new Map<string, number>();
  const readsByApplication = new Map<string, number>();
  const failures: QueryFailure[] = [];
  let completed = 0;
  let inserted = 0;
  let transactions = 0;
  let stopped = false;

  async function counted<T>(worker: number, kind: string, query: Promise<T>): Promise<T> {
    try {
      const result = await query;
      completed++;
      return result;
    } catch (err) {
      const e = err as { code?: unknown; name?: string; message?: string };
      failures.push({ worker, kind, code: typeof e.code === 'string' ? e.code : (e.name ?? 'unknown'), message: String(e.message) });
      throw err;
    }
  }

  async function read(worker: number): Promise<void> {
    const sql = `SELECT current_user AS who, current_setting('application_name') AS app, pg_sleep($1)`;
    const { rows } = await counted(worker, 'read', pool.query<{ who: string; app: string }>(sql, [sleep]));
    const { who, app } = rows[0]!;
    readsByUser.set(who, (readsByUser.get(who) ?? 0) + 1);
    readsByApplication.set(app, (readsByApplication.get(app) ?? 0) + 1);
  }

  async function readWithCallback(worker: number): Promise<void> {
    const query = new Promise<void>((resolve, reject) =>
      pool.query('SELECT current_user AS who', (err) => {
        if (err) reject(err);
        else resolve();
      }),
    );
    await counted(worker, 'callback read', query);
  }

  async function insert(worker: number): Promise<void> {
    await counted(worker, 'insert', pool.query(`INSERT INTO ${LEDGER_TABLE} (worker, who) VALUES ($1, current_user)`, [worker]));
    inserted++;
  }

  async function transaction(worker: number): Promise<void> {
    const client = await counted(worker, 'connect', pool.connect());
    try {
      await counted(worker, 'begin', client.query('BEGIN'));
      await counted(worker, 'tx insert', client.query(`INSERT INTO ${LEDGER_TABLE} (worker, who) VALUES ($1, current_user)`, [worker]));
      await counted(worker, 'tx select', client.query(`SELECT count(*) FROM ${LEDGER_TABLE} WHERE worker = $1`, [worker]));
      await counted(worker, 'commit', client.query('COMMIT'));
      inserted++;
      transactions++;
      client.release();
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      client.release(err as Error);
    }
  }

  async function worker(id: number): Promise<void> {
    for (let step = 1; !stopped && Date.now() < deadline; step++) {
      try {
        await read(id);
        await insert(id);
        if (step % 3 === 0) await transaction(id);
        if (step % 5 === 0) await readWithCallback(id);
      } catch {
        // Counted above; the worker carries on.
      }
    }
  }

  const report = (): WorkloadReport => ({
    completed,
    failures: [...failures],
    readsByUser: new Map(readsByUser),
    readsByApplication: new Map(readsByApplication),
    inserted,
    transactions,
    elapsedMs: Date.now() - started,
  });
  const running = Promise.all(Array.from({ length: options.workers }, (_, i) => worker(i + 1)));
  return {
    report,
    async until(check, timeoutMs, what) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const now = report();
        if (check(now)) return now;
        if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (completed ${now.completed}, failures ${now.failures.length})`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async stop() {
      stopped = true;
      await running;
      return report();
    },
  };
}
