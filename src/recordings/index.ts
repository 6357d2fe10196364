/** Protected recordings: encrypted to the controller's key when closed, opened by `recording decrypt`. */
export { copyPlainRecording, decryptRecording, DecryptRefused, openable, type DecryptContext, type Decrypted } from './decrypt';
export { keyringOf, type Keyring } from './keyring';
export { encryptedPathOf, Protector, type ProtectedFile } from './protect';
export { keyIdOf, parseRecipients, readRecipients, RecipientsError, type Recipients } from './recipients';
