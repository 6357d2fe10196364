/** The midcall slice: what other parts of src/ may use of it. */
export { AgentActions } from './agent-actions';
export { AmiChannelVariables, AstDbMidCallQueue } from './astdb-queue';
export { listenApi } from './control-api';
export { MidCallInbox } from './inbox';
export { MIDCALL_EVENT_FILTER, wireMidCall, type MidCallPart, type MidCallWiring } from './wire';
