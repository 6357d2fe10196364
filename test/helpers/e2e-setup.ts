import { requireSandbox } from '../support';

// End-to-end tests place real calls: give each test up to two minutes.
jest.setTimeout(120000);
beforeAll(() => requireSandbox());
