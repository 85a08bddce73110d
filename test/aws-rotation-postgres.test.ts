import { describe } from '@jest/globals';
import { fullRotationScenarios, postgresTarget } from '../packages/aws-rotation/src/spec-support/index.js';

describe('@keyward/aws-rotation on PostgreSQL: rotations through the Secrets Manager emulator', () => {
  fullRotationScenarios(postgresTarget);
});
