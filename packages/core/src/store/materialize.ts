import { describeIssue, type SecretDeclaration, type StandardSchemaV1 } from '../declarations/index.js';
import { KeywardError } from '../errors/index.js';
import { redactValues } from '../secret/index.js';

/**
 * Turns a provider's value into the secret's value: `format`, then `key`, then `schema`.
 * Error messages never quote the value (parsers and validators like to).
 */
export async function materialize(declaration: SecretDeclaration, raw: unknown): Promise<unknown> {
  let value = raw;
  if (declaration.format === 'json' && typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      // The parser's message quotes the input: drop it.
      throw new KeywardError('SECRET_INVALID', 'is not valid JSON');
    }
  }
  const parsed = value;
  if (declaration.key !== undefined) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, declaration.key)) {
      const keys = value !== null && typeof value === 'object' ? Object.keys(value).join(', ') : `a ${typeof value}`;
      throw new KeywardError('SECRET_INVALID', `has no key "${declaration.key}" (it has: ${keys || 'none'})`);
    }
    value = (value as Record<string, unknown>)[declaration.key];
  }
  if (declaration.schema !== undefined) {
    const result = await validate(declaration.schema, value, parsed);
    if (result.issues) {
      // Redact with the parsed value: the JSON text's fragments would also hide key names.
      const issues = result.issues.map((issue) => redactValues(describeIssue(issue), parsed));
      throw new KeywardError('SECRET_INVALID', `does not match its schema: ${issues.join('; ')}`);
    }
    value = result.value;
  }
  return value;
}

/**
 * A schema that throws (a transform calling `JSON.parse`) is an invalid value, not an outage. The
 * thrown message is kept redacted, and quoted fragments go too: V8 quotes a window of the input
 * (`"canary-7f3"...`) that no whole-value redaction matches. The error itself is dropped as `cause`.
 */
async function validate(schema: StandardSchemaV1, value: unknown, parsed: unknown): Promise<StandardSchemaV1.Result<unknown>> {
  try {
    return await schema['~standard'].validate(value);
  } catch (err) {
    const name = err instanceof Error ? err.name : `a ${typeof err}`;
    const message = err instanceof Error ? err.message : '';
    // `value` is `parsed` or a part of it.
    const redacted = redactValues(message, parsed).replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '[redacted]');
    throw new KeywardError('SECRET_INVALID', `its schema threw ${name}${redacted ? `: ${redacted}` : ''}`);
  }
}
