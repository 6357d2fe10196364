// Runs test files in a stable order (by path), the same from one run to the next.
const Sequencer = require('@jest/test-sequencer').default;

class ByPath extends Sequencer {
  sort(tests) {
    return [...tests].sort((a, b) => a.path.localeCompare(b.path));
  }
}

module.exports = ByPath;
