/** Why a Gemini Live session failed, and what to do about it. */
export type GeminiLiveErrorKind = 'config' | 'transient' | 'watchdog' | 'internal';

/** WebSocket close codes the Live API uses for a setup or request it will never accept. */
const CONFIG_CLOSE_CODES: ReadonlySet<number> = new Set([
  1007, // invalid frame payload data: a malformed setup or request
  1008, // policy violation: bad key, unknown model, invalid handle, quota
]);

export interface GeminiLiveErrorOptions {
  code?: number | undefined;
  kind: GeminiLiveErrorKind;
  retryable: boolean;
  cause?: unknown;
}

/**
 * A failed or lost Gemini Live session: `code` is the WebSocket close code when there is one,
 * `kind` what went wrong, `retryable` whether reconnecting can help. Configuration errors
 * (1007/1008) are not: the same setup fails the same way.
 */
export class GeminiLiveError extends Error {
  override name = 'GeminiLiveError' as const;
  readonly code: number | undefined;
  readonly kind: GeminiLiveErrorKind;
  readonly retryable: boolean;

  constructor(message: string, options: GeminiLiveErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code;
    this.kind = options.kind;
    this.retryable = options.retryable;
  }

  /** The server closed the socket. */
  static fromClose(code: number, reason: string): GeminiLiveError {
    const config = CONFIG_CLOSE_CODES.has(code);
    return new GeminiLiveError(reason || (config ? 'session configuration rejected' : 'connection lost'), {
      code,
      kind: config ? 'config' : 'transient',
      retryable: !config,
    });
  }

  /**
   * `connect()` rejected. The SDK's rejection is a plain Error whose message repeats the close
   * code, but it calls our `onclose` with the close event first, so `closeCode` is the code
   * itself and the message is never parsed. No code and no socket error: our own bug.
   */
  static fromConnectFailure(cause: unknown, closeCode: number | undefined, socketError: boolean): GeminiLiveError {
    const message = cause instanceof Error ? cause.message : String(cause);
    if (closeCode !== undefined) {
      const closed = GeminiLiveError.fromClose(closeCode, message);
      return new GeminiLiveError(closed.message, { code: closeCode, kind: closed.kind, retryable: closed.retryable, cause });
    }
    return new GeminiLiveError(message, { kind: socketError ? 'transient' : 'internal', retryable: true, cause });
  }

  static watchdog(silentMs: number): GeminiLiveError {
    return new GeminiLiveError(`no answer for ${silentMs} ms`, { kind: 'watchdog', retryable: true });
  }
}
