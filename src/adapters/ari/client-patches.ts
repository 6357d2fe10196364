/**
 * ari-client 2.2.0 and its swagger-client 2.0.26 are used as patched at install: `patch-package`
 * (package.json's postinstall) applies patches/ari-client+2.2.0.patch and
 * patches/swagger-client+2.0.26.patch to the copies in node_modules. Unpatched, a frame ari-client
 * cannot handle or a failed Swagger load is an uncaught exception (the process exits) and every
 * connect prints a notice on stdout, so an ari-client without the patches is refused.
 */

/** What the patched copies list in ari-client's `consentIvrPatches`. */
export const REQUIRED_PATCHES = [
  // The connect rejects, with an Error, when its Swagger load fails (ari-client's half).
  'ari-load-failures',
  // A frame that cannot be handled goes to the client's 'WebSocketMessageError' listeners.
  'ari-message-errors',
  // The objects of an event inherit their operations, made once per type, instead of a closure each.
  'ari-lean-resources',
  // swagger-client prints nothing (its Swagger 1.1 deprecation notice on every load).
  'swagger-quiet',
  // swagger-client reports its load failures to its caller, and never throws them from a callback.
  'swagger-load-failures',
] as const;

/** The patches an ari-client module lacks (none for the copy installed with consent-ivr). */
export function missingPatches(ariClient: unknown): string[] {
  const listed = (ariClient as { consentIvrPatches?: unknown } | null)?.consentIvrPatches;
  const has = Array.isArray(listed) ? listed : [];
  return REQUIRED_PATCHES.filter((p) => !has.includes(p));
}

/** Throws unless the ari-client module carries every patch. */
export function requirePatched(ariClient: unknown): void {
  const missing = missingPatches(ariClient);
  if (missing.length === 0) return;
  throw new Error(
    `ari-client is installed without consent-ivr's patches (${missing.join(', ')}): its install script did not run; ` +
      'run `npm run postinstall` in the directory consent-ivr is installed in, or reinstall it with install scripts allowed',
  );
}
