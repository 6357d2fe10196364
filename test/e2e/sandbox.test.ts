/** The sandbox the repo provisions, and a call through the service's real entry point. */
import { asteriskCli, placeCall, RunningApp, sandbox, stasisChannels, startApp, TestAmi, waitChannelsGone } from '../helpers/sandbox';

describe('the sandbox', () => {
  test('When the sandbox is up, then its status names every part, running, with loopback addresses', () => {
    const s = sandbox();
    expect(s.ari).toEqual({ url: 'http://127.0.0.1:8088', user: 'consent-ivr', password: expect.stringMatching(/^[0-9a-f]{32,}$/), app: 'consent-ivr', running: true });
    expect(s.ami).toMatchObject({ host: '127.0.0.1', port: 5038, user: 'consent-ivr', running: true });
    expect(s.redis).toMatchObject({ url: expect.stringMatching(/^redis:\/\/127\.0\.0\.1:/), running: true });
    expect(s.recordingsDir).toMatch(/^\//);
    expect(s.asteriskRoot).toMatch(/^\//);
  });

  test('When an Asterisk CLI command is run, then Asterisk 22 answers and the repo dialplan is loaded', () => {
    expect(asteriskCli('core show version')).toMatch(/^Asterisk 22\./);
    expect(asteriskCli('dialplan show consent-ivr')).toContain('Stasis(');
    expect(asteriskCli('dialplan show consent-ivr-result')).toContain('CONSENT_RESULT');
  });
});

describe('a call through the service', () => {
  let ami: TestAmi;
  let app: RunningApp;

  beforeAll(async () => {
    ami = new TestAmi();
    await ami.start();
    app = await startApp();
  });

  afterAll(async () => {
    expect(await app.stop()).toBe(0);
    app.saveLog('sandbox');
    ami.close();
  });

  test('When a Local channel is originated through AMI, then it enters Stasis, the service sees it, and it leaves Stasis back into the dialplan', async () => {
    const call = await placeCall(ami, { app: app.name, w1: 1, k1: '2', talk: 8 });
    const uid = await call.uniqueId;
    await app.waitForLog((l) => l.call === uid && l.message === 'call entered the consent flow', 10000, 'the service to see the call');
    const r = await call.result;
    // The UserEvent comes from the dialplan after the Gosub: the call left Stasis and went on.
    expect(r).toMatchObject({ result: 'refused', id: uid });
    expect(await waitChannelsGone([uid])).toEqual([]);
    expect(await stasisChannels(app.name)).toEqual([]);
  });
});
