// Prints one plain closing line ("jest: 42 passed, 0 failed") after jest's own summary, so that
// CI and humans can read the outcome at a glance.
export default class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const line = `jest: ${results.numPassedTests} passed, ${results.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}\n`;
    // Jest's summary reporter runs after the custom ones; the exit hook puts this line last.
    process.once('exit', () => process.stderr.write(line));
  }
}
