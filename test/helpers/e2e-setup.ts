import { killLeftoverApps } from './sandbox';

// End-to-end tests place real calls: give each test up to two minutes.
jest.setTimeout(120000);

// A failed test may leave a service instance running: stop it so the next file starts clean.
afterAll(() => killLeftoverApps());
