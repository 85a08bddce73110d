export { dataKeySpellings, describeKekConformance, spiedKek, type KekHarness } from './kek-conformance.js';
export { localHarness } from './local-harness.js';
export { describeRewrapInPostgres } from './postgres-rewrap.js';
