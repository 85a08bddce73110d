// Prints one plain closing line ("jest: 42 passed, 0 failed") after jest's own summary, so that
// CI and humans can read the outcome at a glance.
export default class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    // A suite that cannot even load runs no test: count it as a failure, or the line would read green.
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const line = `jest: ${results.numPassedTests} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`;
    // Jest's summary reporter runs after the custom ones; the exit hook puts this line last.
    process.once('exit', () => process.stderr.write(line));
  }
}
