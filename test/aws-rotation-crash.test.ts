import { describe } from '@jest/globals';
import { crashScenarios, mariadbTarget, postgresTarget } from '@keyward/test-support/aws-rotation';

describe('@keyward/aws-rotation on PostgreSQL: repeated steps and rotations stopped midway', () => {
  crashScenarios(postgresTarget);
});

describe('@keyward/aws-rotation on MariaDB: repeated steps and rotations stopped midway', () => {
  crashScenarios(() => mariadbTarget('rotcrash'));
});
