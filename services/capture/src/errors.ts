export class CaptureSourceError extends Error {
  override name = 'CaptureSourceError' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
