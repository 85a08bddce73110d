import { invalidParameter, SecretsManagerError } from './errors.js';
import type { Operation } from './operation.js';
import { epochSeconds, optionalBoolean, optionalNumber, optionalString, requiredString, type RequestBody } from './request-fields.js';
import type { SecretRecord, SecretStore } from './secret-store.js';

const DAY_MS = 86_400_000;

/**
 * DescribeSecret's fields (ListSecrets names the version map `SecretVersionsToStages`). AWS "only
 * returns fields that have a value": RotationEnabled is absent until rotation is first configured,
 * RotationLambdaARN and RotationRules stay after CancelRotateSecret, and LastRotatedDate and
 * NextRotationDate are absent while rotation is off.
 */
export function describe(secret: SecretRecord, versionMapField = 'VersionIdsToStages'): Record<string, unknown> {
  const { rotation } = secret;
  const days = rotation.rules?.AutomaticallyAfterDays;
  const nextRotation =
    rotation.enabled && typeof days === 'number' ? (rotation.lastRotatedMs ?? secret.createdMs) + days * DAY_MS : undefined;
  const labelled = secret.versions.filter((v) => v.stages.length > 0);
  const out: Record<string, unknown> = {
    ARN: secret.arn,
    Name: secret.name,
    Description: secret.description,
    KmsKeyId: secret.kmsKeyId,
    RotationEnabled: rotation.enabled,
    RotationLambdaARN: rotation.lambdaArn,
    RotationRules: rotation.rules,
    LastRotatedDate: rotation.enabled && rotation.lastRotatedMs !== undefined ? epochSeconds(rotation.lastRotatedMs) : undefined,
    LastChangedDate: epochSeconds(secret.lastChangedMs),
    LastAccessedDate: secret.lastAccessedMs === undefined ? undefined : epochSeconds(secret.lastAccessedMs),
    DeletedDate: secret.deletionMs === undefined ? undefined : epochSeconds(secret.deletionMs),
    NextRotationDate: nextRotation === undefined ? undefined : epochSeconds(nextRotation),
    Tags: secret.tags.length > 0 ? secret.tags : undefined,
    [versionMapField]: labelled.length > 0 ? Object.fromEntries(labelled.map((v) => [v.id, [...v.stages]])) : undefined,
    CreatedDate: epochSeconds(secret.createdMs),
  };
  for (const key of Object.keys(out)) if (out[key] === undefined) delete out[key];
  return out;
}

interface Filter {
  Key: string;
  Values: string[];
}

/** ListSecrets filters: prefix matches, `!` negates, values of one key are OR-ed, keys are AND-ed. */
function matches(secret: SecretRecord, filters: Filter[]): boolean {
  const fields = (key: string): string[] => {
    switch (key) {
      case 'name':
        return [secret.name];
      case 'description':
        return secret.description === undefined ? [] : [secret.description];
      case 'tag-key':
        return secret.tags.map((t) => t.Key);
      case 'tag-value':
        return secret.tags.map((t) => t.Value);
      case 'all':
        return [secret.name, secret.description ?? '', ...secret.tags.flatMap((t) => [t.Key, t.Value])];
      default:
        throw invalidParameter(`Invalid filter key: ${key}. Valid keys are: description, name, tag-key, tag-value, primary-region, owning-service, all.`);
    }
  };
  return filters.every(({ Key, Values }) =>
    Values.some((raw) => {
      const negate = raw.startsWith('!');
      const prefix = negate ? raw.slice(1) : raw;
      const hit = fields(Key).some((f) => f.startsWith(prefix));
      return negate ? !hit : hit;
    }),
  );
}

/** The filtered page of secrets for ListSecrets and BatchGetSecretValue's Filters. */
export function listedSecrets(store: SecretStore, body: RequestBody): { secrets: SecretRecord[]; nextToken?: string } {
  const includeDeleted = optionalBoolean(body, 'IncludePlannedDeletion') ?? false;
  const filters = (body.Filters as Filter[] | undefined) ?? [];
  let secrets = store.all().filter((s) => (includeDeleted || s.deletionMs === undefined) && matches(s, filters));
  if (optionalString(body, 'SortOrder') === 'desc') secrets = secrets.reverse();
  const { page, nextToken } = paginate(secrets, body);
  return { secrets: page, nextToken };
}

/** MaxResults (1-100, default 100) and an opaque NextToken over `items`. */
function paginate<T>(items: T[], body: RequestBody): { page: T[]; nextToken?: string } {
  const max = optionalNumber(body, 'MaxResults') ?? 100;
  if (max < 1 || max > 100) throw invalidParameter('MaxResults must be between 1 and 100.');
  const token = optionalString(body, 'NextToken');
  const offset = token === undefined ? 0 : Number(Buffer.from(token, 'base64url').toString('utf8'));
  if (!Number.isInteger(offset) || offset < 0) throw new SecretsManagerError('InvalidNextTokenException', 'The NextToken value is invalid.');
  const nextToken = offset + max < items.length ? Buffer.from(String(offset + max)).toString('base64url') : undefined;
  return { page: items.slice(offset, offset + max), nextToken };
}

const describeSecret: Operation = ({ store }, body) => describe(store.get(requiredString(body, 'SecretId'), true));

const listSecrets: Operation = ({ store }, body) => {
  const page = listedSecrets(store, body);
  return { SecretList: page.secrets.map((s) => describe(s, 'SecretVersionsToStages')), ...(page.nextToken ? { NextToken: page.nextToken } : {}) };
};

const listSecretVersionIds: Operation = ({ store }, body) => {
  const secret = store.get(requiredString(body, 'SecretId'));
  const includeDeprecated = optionalBoolean(body, 'IncludeDeprecated') ?? false;
  const versions = secret.versions.filter((v) => includeDeprecated || v.stages.length > 0);
  const { page, nextToken } = paginate(versions, body);
  const Versions = page.map((v) => ({
    VersionId: v.id,
    ...(v.stages.length > 0 ? { VersionStages: [...v.stages] } : {}),
    ...(v.lastAccessedMs !== undefined ? { LastAccessedDate: epochSeconds(v.lastAccessedMs) } : {}),
    CreatedDate: epochSeconds(v.createdMs),
  }));
  return { Versions, ARN: secret.arn, Name: secret.name, ...(nextToken ? { NextToken: nextToken } : {}) };
};

export const secretListingOperations: Readonly<Record<string, Operation>> = {
  DescribeSecret: describeSecret,
  ListSecrets: listSecrets,
  ListSecretVersionIds: listSecretVersionIds,
};
