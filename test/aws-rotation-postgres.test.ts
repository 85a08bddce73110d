import { describe } from '@jest/globals';
import { fullRotationScenarios, postgresTarget } from '@keyward/test-support/aws-rotation';

describe('@keyward/aws-rotation on PostgreSQL: rotations through the Secrets Manager emulator', () => {
  fullRotationScenarios('postgres', postgresTarget);
});
