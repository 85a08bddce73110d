import { describeRewrapInPostgres, localHarness } from '@keyward/test-support/envelope';

describeRewrapInPostgres('localKek', async () => localHarness('notes'));
