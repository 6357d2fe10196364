// Runs test files in a stable order with the log scan last, since it reads what the others left.
const Sequencer = require('@jest/test-sequencer').default;

class LastLogScan extends Sequencer {
  sort(tests) {
    const last = (t) => (t.path.endsWith('log-scan.test.ts') ? 1 : 0);
    return [...tests].sort((a, b) => last(a) - last(b) || a.path.localeCompare(b.path));
  }
}

module.exports = LastLogScan;
