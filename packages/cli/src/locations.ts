import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { awsSecretsManager, secretsManagerKeyRing } from '@keyward/aws';
import { envProvider, fileKeyRing, fileProvider, KeywardError, type KeyRingBackend, type KeyRingChangeNotice, type SecretProvider } from '@keyward/core';
import { redisKeyRingPublisher, type KeyRingPublisher } from '@keyward/redis';
import { createVaultConnection, tokenAuth, vaultKeyRing, vaultKv, type VaultConnection } from '@keyward/vault';
import { basename, dirname, resolve } from 'node:path';
import type { CliSettings } from './config.js';
import type { CliIo, Output } from './io.js';

/** A `--ring` or `--pepper` URI taken apart. */
export type Location =
  | { readonly scheme: 'file'; readonly path: string; readonly field?: undefined }
  | { readonly scheme: 'env'; readonly name: string; readonly field?: undefined }
  | { readonly scheme: 'vault'; readonly mount: string; readonly path: string; readonly field: string | undefined }
  | { readonly scheme: 'aws'; readonly secretId: string; readonly field: string | undefined };

const RING_FORMS = 'file:PATH, vault:MOUNT/PATH or aws:SECRET_ID';
const PEPPER_FORMS = 'env:NAME, file:PATH, vault:MOUNT/PATH#field or aws:SECRET_ID#field';

/**
 * Parses a location URI: `file:PATH`, `env:NAME`, `vault:MOUNT/PATH[#field]`, `aws:SECRET_ID[#field]`.
 *
 * @example
 * parseLocation('vault:secret/billing/live/api-keys', 'ring') // { scheme: 'vault', mount: 'secret', path: 'billing/live/api-keys' }
 */
export function parseLocation(uri: string, what: 'ring' | 'pepper', label: string = what): Location {
  const forms = what === 'ring' ? RING_FORMS : PEPPER_FORMS;
  const colon = uri.indexOf(':');
  const scheme = colon < 0 ? '' : uri.slice(0, colon);
  const rest = colon < 0 ? '' : uri.slice(colon + 1);
  const invalid = (why: string) => new KeywardError('CONFIG_INVALID', `the ${label} location ${why} (expected ${forms})`);
  const hash = rest.lastIndexOf('#');
  const [target, field] = hash < 0 ? [rest, undefined] : [rest.slice(0, hash), rest.slice(hash + 1)];
  if (field === '') throw invalid('has an empty #field');
  switch (scheme) {
    case 'file':
      if (rest === '') throw invalid('file: needs a path');
      return { scheme, path: rest };
    case 'env':
      if (what === 'ring') throw invalid('cannot be an environment variable');
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(rest)) throw invalid('env: needs a variable name');
      return { scheme, name: rest };
    case 'vault': {
      if (what === 'ring' && field !== undefined) throw invalid('takes no #field');
      const parts = target.split('/').filter((p) => p !== '');
      if (parts.length < 2) throw invalid('vault: needs MOUNT/PATH, e.g. vault:secret/billing/live/api-keys');
      return { scheme, mount: parts[0]!, path: parts.slice(1).join('/'), field };
    }
    case 'aws':
      if (what === 'ring' && field !== undefined) throw invalid('takes no #field');
      if (target === '') throw invalid('aws: needs a secret name or ARN');
      return { scheme, secretId: target, field };
    default:
      // Not quoted: a secret pasted where its location belongs must not be echoed, even in part.
      throw invalid(scheme === '' ? 'has no scheme' : 'has an unknown scheme');
  }
}

/**
 * What one run opened (a Vault connection, a Secrets Manager client, a Redis publisher), shared by
 * the ring and the pepper and all closed by `close()`, so the process ends by itself.
 *
 * @example
 * const resources = new Resources(settings, io, output);
 * try { const backend = resources.ring(); ... } finally { await resources.close(); }
 */
export class Resources {
  readonly #settings: CliSettings;
  readonly #io: CliIo;
  readonly #output: Output;
  #vault: VaultConnection | undefined;
  #aws: SecretsManagerClient | undefined;
  #kms: KMSClient | undefined;
  #publisher: KeyRingPublisher | undefined;
  readonly #closers: (() => Promise<void> | void)[] = [];

  constructor(settings: CliSettings, io: CliIo, output: Output) {
    this.#settings = settings;
    this.#io = io;
    this.#output = output;
  }

  /** The ring's backend, from `--ring`. */
  ring(): KeyRingBackend {
    const uri = this.#settings.ring;
    if (uri === undefined) {
      throw new KeywardError('CONFIG_INVALID', `no key ring location: pass --ring (${RING_FORMS}), set KEYWARD_RING, or put "ring" in .keyward/cli.json`);
    }
    const location = parseLocation(uri, 'ring');
    switch (location.scheme) {
      case 'file':
        return fileKeyRing(resolve(this.#io.cwd, location.path));
      case 'vault':
        return vaultKeyRing({ connection: this.vaultConnection(), mount: location.mount, path: location.path });
      case 'aws':
        return secretsManagerKeyRing({ client: this.#awsClient(), secretId: location.secretId });
      case 'env':
        throw new KeywardError('CONFIG_INVALID', 'the ring location cannot be an environment variable');
    }
  }

  /** Reads the pepper from `--pepper` (only create and rotate need it). */
  pepper(): Promise<string> {
    return this.secret(this.#settings.pepper, 'pepper', `no pepper location: pass --pepper (${PEPPER_FORMS}), set KEYWARD_PEPPER, or put "pepper" in .keyward/cli.json`);
  }

  /**
   * Reads a secret value given in the pepper's location forms (the pepper, the audit key) through
   * the matching provider, and registers it with the output's scrubber. `label` names it in errors.
   */
  async secret(uri: string | undefined, label: string, missing: string): Promise<string> {
    const { value, field, where } = await this.secretValue(uri, label, missing);
    const secret = pick(value, field, where);
    this.#output.hide(secret);
    return secret;
  }

  /**
   * Reads a secret value given in the pepper's location forms as its provider answers it (a
   * string, or a map of fields), with the location's `#field` and a description of where it is.
   * Unlike `secret`, it registers nothing with the scrubber: the caller knows which parts are secret.
   */
  async secretValue(uri: string | undefined, label: string, missing: string): Promise<{ value: unknown; field: string | undefined; where: string }> {
    if (uri === undefined) throw new KeywardError('CONFIG_INVALID', missing);
    const location = parseLocation(uri, 'pepper', label);
    let provider: SecretProvider;
    let path: string;
    let where: string;
    switch (location.scheme) {
      case 'env':
        provider = envProvider({ env: this.#io.env, mapName: () => location.name });
        path = location.name;
        where = `environment variable ${location.name}`;
        break;
      case 'file': {
        const file = resolve(this.#io.cwd, location.path);
        provider = fileProvider({ root: dirname(file), location: () => basename(file), watch: false });
        path = file;
        where = `file ${file}`;
        break;
      }
      case 'vault':
        provider = vaultKv({ connection: this.vaultConnection(), mount: location.mount, cheapRefresh: false });
        path = location.path;
        where = `vault kv ${location.mount}/${location.path}`;
        break;
      case 'aws':
        provider = awsSecretsManager({ client: this.#awsClient(), batch: false, cheapRefresh: false, secretId: () => location.secretId });
        path = location.secretId;
        where = `secrets manager ${location.secretId}`;
        break;
    }
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new KeywardError('PROVIDER_TIMEOUT', `reading the ${label} from ${where} timed out`)), 15_000);
    let value: unknown;
    try {
      const result = await provider.read({ name: label, path, app: 'keyward', environment: this.#settings.env }, { signal: controller.signal });
      value = typeof result === 'object' && result !== null && 'value' in result ? result.value : undefined;
    } finally {
      clearTimeout(timer);
      await provider.close?.();
    }
    return { value, field: location.field, where };
  }

  /** Publishes to `--redis` when given; `undefined` otherwise. */
  publish(): ((notice: KeyRingChangeNotice) => Promise<void>) | undefined {
    const url = this.#settings.redis;
    if (url === undefined) return undefined;
    if (this.#publisher === undefined) {
      const publisher = redisKeyRingPublisher({ url });
      this.#publisher = publisher;
      this.#closers.push(() => publisher.close());
    }
    const publisher = this.#publisher;
    return (notice) => publisher.publish(notice);
  }

  /** Closes everything opened; never throws. */
  async close(): Promise<void> {
    const closers = this.#closers.splice(0).reverse();
    await Promise.all(closers.map(async (close) => {
      try {
        await close();
      } catch {
        // Closing is best effort: the run's outcome is already decided.
      }
    }));
  }

  /** The run's Vault connection (VAULT_ADDR, VAULT_TOKEN, VAULT_NAMESPACE), opened once. */
  vaultConnection(): VaultConnection {
    if (this.#vault !== undefined) return this.#vault;
    const { addr, token, namespace } = this.#settings.vault;
    if (addr === undefined) throw new KeywardError('CONFIG_INVALID', 'a vault: location needs Vault\'s address: set VAULT_ADDR or "vault.addr" in the config file');
    if (token === undefined) throw new KeywardError('CONFIG_INVALID', 'a vault: location needs a Vault token: set VAULT_TOKEN or "vault.token" in the config file');
    const connection = createVaultConnection({
      endpoint: addr,
      auth: tokenAuth({ token }),
      timeout: '10s',
      // A command runs for seconds: no background renewal timers.
      renewToken: false,
      ...(namespace === undefined ? {} : { namespace }),
    });
    this.#vault = connection;
    this.#closers.push(() => connection.close());
    return connection;
  }

  #awsClient(): SecretsManagerClient {
    if (this.#aws !== undefined) return this.#aws;
    const { region, endpoint, credentials } = this.#settings.aws;
    const client = new SecretsManagerClient({
      ...(region === undefined ? {} : { region }),
      ...(endpoint === undefined ? {} : { endpoint }),
      ...(credentials === undefined ? {} : { credentials }),
      maxAttempts: 2,
    });
    this.#aws = client;
    this.#closers.push(() => client.destroy());
    return client;
  }

  /** The run's KMS client: the aws settings, with KMS's own endpoint (AWS_ENDPOINT_URL_KMS, else AWS_ENDPOINT_URL, else "aws.kmsEndpoint"). */
  kmsClient(): KMSClient {
    if (this.#kms !== undefined) return this.#kms;
    const { region, kmsEndpoint, credentials } = this.#settings.aws;
    const client = new KMSClient({
      ...(region === undefined ? {} : { region }),
      ...(kmsEndpoint === undefined ? {} : { endpoint: kmsEndpoint }),
      ...(credentials === undefined ? {} : { credentials }),
      maxAttempts: 2,
    });
    this.#kms = client;
    this.#closers.push(() => client.destroy());
    return client;
  }
}

/** The pepper out of what the provider read: a string, or one field of a map. */
function pick(value: unknown, field: string | undefined, where: string): string {
  if (typeof value === 'string') {
    if (field !== undefined) throw new KeywardError('SECRET_INVALID', `the pepper at ${where} is a plain string, not a map with a "${field}" field: drop #${field}`);
    if (value === '') throw new KeywardError('SECRET_INVALID', `the pepper at ${where} is empty`);
    return value;
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)) {
    const map = value as Record<string, unknown>;
    const keys = Object.keys(map);
    const name = field ?? (keys.length === 1 ? keys[0]! : undefined);
    if (name === undefined) throw new KeywardError('CONFIG_INVALID', `the pepper at ${where} has several fields (${keys.join(', ')}): name one with #field`);
    const chosen = map[name];
    if (chosen === undefined) throw new KeywardError('SECRET_NOT_FOUND', `the pepper at ${where} has no field "${name}" (fields: ${keys.join(', ') || 'none'})`);
    if (typeof chosen !== 'string' || chosen === '') throw new KeywardError('SECRET_INVALID', `the pepper field "${name}" at ${where} must be a non-empty string`);
    return chosen;
  }
  throw new KeywardError('SECRET_INVALID', `the pepper at ${where} must be a string or a JSON object with the field`);
}
