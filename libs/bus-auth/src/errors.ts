/** A credential that cannot be issued or read: a bad device id, a malformed key file, a role nobody defined. */
export class CredentialError extends Error {
  override name = 'CredentialError' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
