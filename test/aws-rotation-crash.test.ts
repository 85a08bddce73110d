import { describe } from '@jest/globals';
import { crashScenarios, mariadbTarget, postgresTarget } from '../packages/aws-rotation/src/spec-support/index.js';

describe('@keyward/aws-rotation on PostgreSQL: repeated steps and rotations stopped midway', () => {
  crashScenarios(postgresTarget);
});

describe('@keyward/aws-rotation on MariaDB: repeated steps and rotations stopped midway', () => {
  crashScenarios(() => mariadbTarget('rotcrash'));
});
