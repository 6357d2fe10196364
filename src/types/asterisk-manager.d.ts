/** asterisk-manager 0.2.0 ships no types; adapters/ami describes the part it uses. */
declare module 'asterisk-manager' {
  const Manager: unknown;
  export default Manager;
}
