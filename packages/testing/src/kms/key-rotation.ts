import { KmsError } from './errors.js';
import { keyOnly } from './key-management.js';
import { addMaterial, currentMaterial, usable } from './key-store.js';
import type { KmsOperation } from './operation.js';
import { epochSeconds, optionalEnum, optionalInteger, page } from './request-fields.js';

const DAY_MS = 86_400_000;
/** The API Reference's quota of on-demand rotations per key. */
const MAX_ON_DEMAND_ROTATIONS = 25;

const enableKeyRotation: KmsOperation = (store, body) => {
  const key = usable(keyOnly(store, body));
  const periodDays = optionalInteger(body, 'RotationPeriodInDays', 90, 2560) ?? 365;
  key.rotation = { enabled: true, periodDays, enabledMs: store.now() };
  return {};
};

const disableKeyRotation: KmsOperation = (store, body) => {
  const key = usable(keyOnly(store, body));
  key.rotation = { ...key.rotation, enabled: false };
  return {};
};

/**
 * The schedule only: the emulator never rotates by itself (RotateKeyOnDemand does, at once).
 * KeyId is the key ID, as in the API Reference's example (so in RotateKeyOnDemand and ListKeyRotations).
 */
const getKeyRotationStatus: KmsOperation = (store, body) => {
  const key = keyOnly(store, body);
  if (!key.rotation.enabled) return { KeyRotationEnabled: false, KeyId: key.id };
  const lastAutomatic = key.materials.findLast((m) => m.rotation?.type === 'AUTOMATIC')?.rotation?.dateMs;
  const from = Math.max(lastAutomatic ?? 0, key.rotation.enabledMs ?? key.createdMs);
  return {
    KeyRotationEnabled: true,
    KeyId: key.id,
    RotationPeriodInDays: key.rotation.periodDays,
    NextRotationDate: epochSeconds(from + key.rotation.periodDays * DAY_MS),
  };
};

/** Completes at once (KMS finishes a little later; GetKeyRotationStatus then shows OnDemandRotationStartDate meanwhile). */
const rotateKeyOnDemand: KmsOperation = (store, body) => {
  const key = usable(keyOnly(store, body));
  const done = key.materials.filter((m) => m.rotation?.type === 'ON_DEMAND').length;
  if (done >= MAX_ON_DEMAND_ROTATIONS) {
    throw new KmsError('LimitExceededException', `${key.arn} has reached its quota of ${MAX_ON_DEMAND_ROTATIONS} on-demand rotations.`);
  }
  addMaterial(key, { dateMs: store.now(), type: 'ON_DEMAND' });
  return { KeyId: key.id };
};

/**
 * Completed rotations (ROTATIONS_ONLY, the default), or every material with the first one
 * (ALL_KEY_MATERIAL), oldest first, each with KeyMaterialId and KeyMaterialState.
 */
const listKeyRotations: KmsOperation = (store, body) => {
  const key = keyOnly(store, body);
  const include = optionalEnum(body, 'IncludeKeyMaterial', ['ALL_KEY_MATERIAL', 'ROTATIONS_ONLY'] as const) ?? 'ROTATIONS_ONLY';
  const current = currentMaterial(key);
  const listed = page(body, key.materials.filter((m) => include === 'ALL_KEY_MATERIAL' || m.rotation !== undefined), 1000, 100);
  return {
    Rotations: listed.items.map((m) => ({
      KeyId: key.id,
      KeyMaterialId: m.id,
      KeyMaterialState: m === current ? 'CURRENT' : 'NON_CURRENT',
      ...(m.rotation === undefined ? {} : { RotationDate: epochSeconds(m.rotation.dateMs), RotationType: m.rotation.type }),
    })),
    Truncated: listed.Truncated,
    ...(listed.NextMarker === undefined ? {} : { NextMarker: listed.NextMarker }),
  };
};

export const keyRotationOperations: Readonly<Record<string, KmsOperation>> = {
  EnableKeyRotation: enableKeyRotation,
  DisableKeyRotation: disableKeyRotation,
  GetKeyRotationStatus: getKeyRotationStatus,
  RotateKeyOnDemand: rotateKeyOnDemand,
  ListKeyRotations: listKeyRotations,
};
