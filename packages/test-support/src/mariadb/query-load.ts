import type { MysqlPool, MysqlPoolConnection } from '@keyward/mysql2';

/** A statement (or checkout) that failed, by its mysql2/Keyward error code. */
export interface QueryFailure {
  readonly kind: 'read' | 'write' | 'checkout';
  readonly code: string;
  readonly errno: number | undefined;
  readonly message: string;
}

export interface LoadReport {
  /** Statements attempted: every promise of `query`, `execute`, `beginTransaction`, `commit`. */
  readonly queries: number;
  readonly reads: number;
  readonly writes: number;
  readonly transactions: number;
  readonly failures: readonly QueryFailure[];
  readonly ms: number;
}

export interface QueryLoad {
  /** Statements finished so far, failed or not. */
  done(): number;
  /** Lets every worker finish its current step, then reports. */
  stop(): Promise<LoadReport>;
}

/**
 * `workers` loops of reads and writes on `table` (columns `worker`, `n`) through `pool`, until
 * `stop()` or `maxMs`: plain queries, prepared statements and 4-statement transactions on a
 * checked-out connection. Every statement's promise is counted, and every failure kept with its code.
 * With `destroyEvery`, every so many transactions discard their connection instead of releasing
 * it, so that the pool keeps logging in anew.
 */
export function startQueryLoad(pool: MysqlPool, options: { workers: number; table: string; maxMs: number; destroyEvery?: number }): QueryLoad {
  const table = `\`${options.table}\``;
  const started = Date.now();
  const deadline = started + options.maxMs;
  const failures: QueryFailure[] = [];
  const counts = { queries: 0, reads: 0, writes: 0, transactions: 0 };
  let stopped = false;
  let transactions = 0;

  const record = (kind: QueryFailure['kind'], err: unknown) => {
    const e = err as { code?: unknown; errno?: unknown; message?: unknown };
    failures.push({ kind, code: String(e.code ?? 'UNKNOWN'), errno: typeof e.errno === 'number' ? e.errno : undefined, message: String(e.message) });
  };
  /** Counts one statement; false when it failed. */
  const count = async (kind: 'read' | 'write', statement: () => Promise<unknown>): Promise<boolean> => {
    try {
      await statement();
      counts[kind === 'read' ? 'reads' : 'writes']++;
      return true;
    } catch (err) {
      record(kind, err);
      return false;
    } finally {
      counts.queries++;
    }
  };
  const transaction = async (w: number, i: number) => {
    let connection: MysqlPoolConnection;
    try {
      connection = await pool.getConnection();
    } catch (err) {
      record('checkout', err);
      return;
    }
    try {
      const ok =
        (await count('write', () => connection.beginTransaction())) &&
        (await count('write', () => connection.execute(`INSERT INTO ${table} (worker, n) VALUES (?, ?)`, [w, i]))) &&
        (await count('read', () => connection.query(`SELECT COUNT(*) AS n FROM ${table} WHERE worker = ?`, [w]))) &&
        (await count('write', () => connection.commit()));
      if (ok) counts.transactions++;
      else await connection.rollback().catch(() => {});
    } finally {
      if (options.destroyEvery && ++transactions % options.destroyEvery === 0) connection.destroy();
      else connection.release();
    }
  };
  const steps = [
    (w: number) => count('read', () => pool.query(`SELECT COUNT(*) AS n FROM ${table} WHERE worker = ?`, [w])),
    (w: number, i: number) => count('write', () => pool.execute(`INSERT INTO ${table} (worker, n) VALUES (?, ?)`, [w, i])),
    (w: number) => count('read', () => pool.execute(`SELECT id, n FROM ${table} WHERE worker = ? ORDER BY id DESC LIMIT 5`, [w])),
    (w: number) => count('write', () => pool.query(`UPDATE ${table} SET n = n + 1 WHERE worker = ? ORDER BY id DESC LIMIT 1`, [w])),
    transaction,
  ];
  const worker = async (w: number) => {
    // Workers start at different steps, so that every kind of work is in flight at any moment.
    for (let i = w; !stopped && Date.now() < deadline; i++) await steps[i % steps.length]!(w, i);
  };
  const running = Promise.all(Array.from({ length: options.workers }, (_, w) => worker(w)));
  return {
    done: () => counts.queries,
    async stop() {
      stopped = true;
      await running;
      return { ...counts, failures, ms: Date.now() - started };
    },
  };
}
