import { describe } from '@jest/globals';
import { fullRotationScenarios, mariadbTarget } from '@keyward/test-support/aws-rotation';

describe('@keyward/aws-rotation on MariaDB: rotations through the Secrets Manager emulator', () => {
  fullRotationScenarios('mysql', () => mariadbTarget('rot'));
});
