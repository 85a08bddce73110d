import { invalidRequest } from './errors.js';
import type { Operation, RotationEvent } from './operation.js';
import { clientRequestToken, optionalBoolean, optionalString, requiredString } from './request-fields.js';
import { attachStage, AWSCURRENT, AWSPENDING, detachStage, newVersionId, versionById, versionWithStage } from './secret-store.js';

const STEPS: readonly RotationEvent['Step'][] = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'];

/**
 * RotateSecret: stores the rotation configuration, attaches AWSPENDING to a new version id (with no
 * value yet, as AWS does before it invokes the Lambda), then calls the registered rotation handler
 * for each step in order.
 *
 * AWS invokes the Lambda asynchronously; the emulator runs the steps before it answers so tests are
 * deterministic. Like AWS, RotateSecret still succeeds when a step fails: the rotation stops there
 * and AWSPENDING stays on the unfinished version (the next RotateSecret then answers
 * InvalidRequestException until AWSPENDING is removed).
 */
const rotateSecret: Operation = async (context, body) => {
  const { store } = context;
  const secret = store.get(requiredString(body, 'SecretId'));
  const token = clientRequestToken(body) ?? newVersionId();
  const lambdaArn = optionalString(body, 'RotationLambdaARN') ?? secret.rotation.lambdaArn;
  if (lambdaArn === undefined) throw invalidRequest('No Lambda rotation function ARN is associated with this secret.');
  const handler = context.rotationHandler;
  if (!handler) throw invalidRequest(`Secrets Manager cannot invoke the specified Lambda function ${lambdaArn}: no rotation handler is registered.`);
  const pending = versionWithStage(secret, AWSPENDING);
  if (pending && pending.id !== token && !pending.stages.includes(AWSCURRENT)) {
    throw invalidRequest("A previous rotation isn't complete. That rotation will be reattempted.");
  }
  const rules = body.RotationRules as Record<string, unknown> | undefined;
  secret.rotation = { ...secret.rotation, enabled: true, lambdaArn, ...(rules ? { rules } : {}) };
  secret.lastChangedMs = store.now();
  if (optionalBoolean(body, 'RotateImmediately') === false) return { ARN: secret.arn, Name: secret.name };
  const existing = versionById(secret, token);
  if (existing?.stages.includes(AWSCURRENT)) return { ARN: secret.arn, Name: secret.name, VersionId: token };
  const version = existing ?? { id: token, stages: [], createdMs: store.now() };
  if (!existing) secret.versions.push(version);
  attachStage(secret, AWSPENDING, version);

  for (const Step of STEPS) {
    try {
      await handler({ SecretId: secret.arn, ClientRequestToken: token, Step });
    } catch {
      return { ARN: secret.arn, Name: secret.name, VersionId: token };
    }
  }
  // A completed rotation: AWS takes AWSPENDING off the version that became AWSCURRENT.
  if (version.stages.includes(AWSCURRENT)) {
    detachStage(version, AWSPENDING);
    secret.rotation.lastRotatedMs = store.now();
    secret.lastChangedMs = store.now();
  }
  return { ARN: secret.arn, Name: secret.name, VersionId: token };
};

/** CancelRotateSecret: turns rotation off; labels of an unfinished rotation stay as they are (as on AWS). */
const cancelRotateSecret: Operation = ({ store }, body) => {
  const secret = store.get(requiredString(body, 'SecretId'));
  if (!secret.rotation.enabled) throw invalidRequest('Secrets Manager can\'t cancel rotation because rotation isn\'t enabled for this secret.');
  secret.rotation = { ...secret.rotation, enabled: false };
  secret.lastChangedMs = store.now();
  const pending = versionWithStage(secret, AWSPENDING);
  return { ARN: secret.arn, Name: secret.name, ...(pending ? { VersionId: pending.id } : {}) };
};

export const rotationOperations: Readonly<Record<string, Operation>> = {
  RotateSecret: rotateSecret,
  CancelRotateSecret: cancelRotateSecret,
};
