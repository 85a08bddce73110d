import { randomInt, randomUUID } from 'node:crypto';
import { invalidParameter, markedForDeletion, secretNotFound } from './errors.js';

/** One version of a secret; `value` is absent for the AWSPENDING stub RotateSecret creates before the rotation function fills it. */
export interface SecretVersion {
  readonly id: string;
  value?: { readonly string?: string; readonly binary?: string };
  stages: string[];
  readonly createdMs: number;
  lastAccessedMs?: number;
}

export interface RotationConfig {
  /** `undefined` until the first RotateSecret: AWS then leaves RotationEnabled out of DescribeSecret and ListSecrets. */
  enabled?: boolean;
  lambdaArn?: string;
  rules?: Record<string, unknown>;
  lastRotatedMs?: number;
}

export interface SecretRecord {
  readonly arn: string;
  readonly name: string;
  description?: string;
  kmsKeyId?: string;
  tags: { Key: string; Value: string }[];
  readonly createdMs: number;
  lastChangedMs: number;
  lastAccessedMs?: number;
  deletionMs?: number;
  rotation: RotationConfig;
  /** Oldest first. */
  versions: SecretVersion[];
}

export const AWSCURRENT = 'AWSCURRENT';
export const AWSPREVIOUS = 'AWSPREVIOUS';
export const AWSPENDING = 'AWSPENDING';

/** Secrets Manager keeps at most this many deprecated (unlabelled) versions. */
const MAX_DEPRECATED_VERSIONS = 100;
const NAME_PATTERN = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const ARN_SUFFIX_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** All secrets of one emulated account and region. */
export class SecretStore {
  private readonly secrets = new Map<string, SecretRecord>();

  constructor(
    readonly region: string,
    readonly accountId: string,
    readonly now: () => number = Date.now,
  ) {}

  add(name: string, fields: Pick<SecretRecord, 'description' | 'kmsKeyId' | 'tags'>): SecretRecord {
    if (!NAME_PATTERN.test(name)) {
      throw invalidParameter('Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!');
    }
    const suffix = Array.from({ length: 6 }, () => ARN_SUFFIX_CHARS[randomInt(ARN_SUFFIX_CHARS.length)]).join('');
    const at = this.now();
    const secret: SecretRecord = {
      arn: `arn:aws:secretsmanager:${this.region}:${this.accountId}:secret:${name}-${suffix}`,
      name,
      ...fields,
      createdMs: at,
      lastChangedMs: at,
      rotation: {},
      versions: [],
    };
    this.secrets.set(name, secret);
    return secret;
  }

  /** A secret by name, full ARN or partial ARN (without the random suffix), purging it once its recovery window ended. */
  find(secretId: string): SecretRecord | undefined {
    let secret = this.secrets.get(secretId);
    if (!secret && secretId.startsWith('arn:')) {
      secret = [...this.secrets.values()].find((s) => s.arn === secretId || s.arn.slice(0, -7) === secretId);
    }
    if (secret?.deletionMs !== undefined && secret.deletionMs <= this.now()) {
      this.secrets.delete(secret.name);
      return undefined;
    }
    return secret;
  }

  /** Like {@link find} but throws ResourceNotFoundException, and InvalidRequestException for a secret scheduled for deletion unless `allowDeleted`. */
  get(secretId: string, allowDeleted = false): SecretRecord {
    const secret = this.find(secretId);
    if (!secret) throw secretNotFound();
    if (!allowDeleted && secret.deletionMs !== undefined) throw markedForDeletion();
    return secret;
  }

  remove(secret: SecretRecord): void {
    this.secrets.delete(secret.name);
  }

  /** Live secrets (purging expired deletions), oldest first. */
  all(): SecretRecord[] {
    return [...this.secrets.keys()].map((name) => this.find(name)).filter((s): s is SecretRecord => s !== undefined);
  }
}

export const newVersionId = (): string => randomUUID();

export function versionWithStage(secret: SecretRecord, stage: string): SecretVersion | undefined {
  return secret.versions.find((v) => v.stages.includes(stage));
}

export function versionById(secret: SecretRecord, versionId: string): SecretVersion | undefined {
  return secret.versions.find((v) => v.id === versionId);
}

/**
 * Attaches `stage` to `target`, removing it from whichever version had it. Moving AWSCURRENT puts
 * AWSPREVIOUS on the version it left, as Secrets Manager does.
 */
export function attachStage(secret: SecretRecord, stage: string, target: SecretVersion): void {
  const holder = versionWithStage(secret, stage);
  if (holder === target) return;
  if (holder) holder.stages = holder.stages.filter((s) => s !== stage);
  target.stages.push(stage);
  if (stage === AWSCURRENT && holder) attachStage(secret, AWSPREVIOUS, holder);
}

export function detachStage(version: SecretVersion, stage: string): void {
  version.stages = version.stages.filter((s) => s !== stage);
}

/** Drops the oldest versions without staging labels beyond Secrets Manager's quota. */
export function pruneDeprecated(secret: SecretRecord): void {
  const deprecated = secret.versions.filter((v) => v.stages.length === 0);
  const excess = new Set(deprecated.slice(0, Math.max(0, deprecated.length - MAX_DEPRECATED_VERSIONS)));
  if (excess.size > 0) secret.versions = secret.versions.filter((v) => !excess.has(v));
}

/** Whole days, as AWS reports LastAccessedDate (truncated to midnight UTC). */
export function dayOf(ms: number): number {
  return Math.floor(ms / 86_400_000) * 86_400_000;
}
