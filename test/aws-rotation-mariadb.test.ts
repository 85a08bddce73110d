import { describe } from '@jest/globals';
import { fullRotationScenarios, mariadbTarget } from '../packages/aws-rotation/src/spec-support/index.js';

describe('@keyward/aws-rotation on MariaDB: rotations through the Secrets Manager emulator', () => {
  fullRotationScenarios(() => mariadbTarget('rot'));
});
