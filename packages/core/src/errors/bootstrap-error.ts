import { KeywardError } from './keyward-error.js';

/** One secret that could not be loaded at start-up. */
export interface SecretProblem {
  readonly secret: string;
  readonly location: string;
  readonly code: KeywardError['code'];
  readonly message: string;
}

/**
 * Start-up failed: carries every missing or invalid secret at once, so one deploy shows them all.
 *
 * @example
 * store.start().catch((err: SecretsUnavailableError) => {
 *   for (const p of err.problems) console.error(p.secret, p.code);
 * });
 */
export class SecretsUnavailableError extends KeywardError {
  override readonly name = 'SecretsUnavailableError';
  readonly problems: readonly SecretProblem[];

  constructor(errors: readonly KeywardError[]) {
    const problems = errors.map((e) => ({
      secret: e.secret ?? '?',
      location: e.location ?? '?',
      code: e.code,
      message: e.detail,
    }));
    const lines = problems.map((p) => `  - ${p.secret} (${p.location}): ${p.code}: ${p.message}`);
    super(
      'SECRETS_UNAVAILABLE',
      `${problems.length} secret${problems.length === 1 ? '' : 's'} could not be loaded:\n${lines.join('\n')}`,
      { cause: new AggregateError(errors, 'secret load failures') },
    );
    this.problems = problems;
  }

  override toJSON() {
    return { ...super.toJSON(), problems: this.problems };
  }
}
