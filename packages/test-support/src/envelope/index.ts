export { dataKeySpellings, describeKekConformance, spiedKek, type KekHarness } from './kek-conformance.js';
