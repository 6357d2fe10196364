/** `consent-ivr start`'s handler of uncaught exceptions (src/cli/crash.ts): logged, then a non-zero exit. */
import { PassThrough } from 'node:stream';
import { crashHandler, CRASH_EXIT_CODE } from '../../src/cli/crash';
import { createLogger } from '../../src/observability/logger';

function capture() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString('utf8')));
  return { log: createLogger({ level: 'info', format: 'json' }, stream), text: () => text };
}

describe('crashHandler', () => {
  test('When an exception reaches the process, then it is logged (escaped) and the process exits non-zero once the line is written; a second one changes nothing', async () => {
    const { log, text } = capture();
    const exited = new Promise<number>((resolve) => {
      const handler = crashHandler(log, resolve);
      handler(new TypeError('bad frame\r\nforged: line'));
      handler(new Error('second'));
    });
    expect(await exited).toBe(CRASH_EXIT_CODE);
    expect(CRASH_EXIT_CODE).not.toBe(0);
    const lines = text().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'error', message: expect.stringContaining('uncaught exception'), error: 'TypeError: bad frame\\u000d\\u000aforged: line', exitCode: CRASH_EXIT_CODE });
  });
});
