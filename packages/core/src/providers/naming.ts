/** `stripeKey` and `stripe-key` → `STRIPE_KEY`: how a declared name maps to an environment variable by default. */
export function toEnvName(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toUpperCase();
}

/** `CONNECTION_URL` → `connectionUrl`: the key a `NAME__KEY` variable gives. */
export function toKeyName(envSuffix: string): string {
  return envSuffix.toLowerCase().replace(/_+([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Reads one secret out of a flat variable map: `NAME` gives a string; without it, every
 * `NAME__KEY` variable gives a map (`DATABASE__USERNAME`, `DATABASE__PASSWORD` →
 * `{ username, password }`). `undefined` when neither exists.
 */
export function valueFromVariables(variables: Readonly<Record<string, string | undefined>>, varName: string): string | Record<string, string> | undefined {
  const whole = variables[varName];
  if (whole !== undefined) return whole;
  const prefix = `${varName}__`;
  let map: Record<string, string> | undefined;
  for (const [key, value] of Object.entries(variables)) {
    if (value !== undefined && key.startsWith(prefix) && key.length > prefix.length) {
      (map ??= {})[toKeyName(key.slice(prefix.length))] = value;
    }
  }
  return map;
}
