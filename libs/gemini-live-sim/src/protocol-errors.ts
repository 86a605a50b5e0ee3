/** Close codes the real service uses for the faults the simulator reproduces. */
export const CLOSE_CODES = {
  normal: 1000,
  goingAway: 1001,
  /** Bad input: malformed JSON, audio without a mime type, activity signals in automatic mode. */
  invalidPayload: 1007,
  /** Policy: bad API key, unknown model. */
  policy: 1008,
  /** The server failed. */
  internal: 1011,
} as const;

export class SimProtocolError extends Error {
  override name = 'SimProtocolError' as const;
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}
