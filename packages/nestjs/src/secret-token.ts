/** Every name a token was made for, in this process: KeywardModule registers a provider for each. */
const namesInUse = new Set<string>();

/**
 * The injection token of the `SecretRef` for a secret. `@InjectSecret(name)` is
 * `@Inject(getSecretToken(name))`; use the token itself in a factory's `inject`. The provider is
 * transient (built only for those who inject it): after bootstrap, use `app.resolve()`, not `app.get()`.
 *
 * @example
 * TypeOrmModule.forRootAsync({
 *   inject: [getSecretToken('database')],
 *   useFactory: (db: SecretRef<{ username: string; password: string }>) => ({ type: 'postgres', ...db.reveal() }),
 * });
 */
export function getSecretToken(name: string): string {
  // Recorded here rather than in the decorator so that a token used in `inject` gets a provider too.
  namesInUse.add(name);
  return `keyward:secret:${name}`;
}

/** The names tokens were made for so far. */
export function secretNamesInUse(): string[] {
  return [...namesInUse];
}
