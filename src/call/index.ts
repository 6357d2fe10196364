/** The call slice: what other parts of src/ may use of it. */
export { ConsentApp } from './consent-app';
export { wireCalls, type CallWiring } from './wire';
