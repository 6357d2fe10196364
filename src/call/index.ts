/** The call slice: what other parts of src/ may use of it. */
export { ConsentApp } from './consent-app';
export { callProfilesOf, wireCalls, type CallWiring } from './wire';
export type { CallProfiles } from './consent-app';
