export class NatsServerNotFoundError extends Error {
  override name = 'NatsServerNotFoundError' as const;
  constructor(binary: string, options?: { cause?: unknown }) {
    super(
      `nats-server binary ${JSON.stringify(binary)} was not found. Install it (Debian/Ubuntu: apt-get install nats-server; ` +
        'macOS: brew install nats-server), set NATS_SERVER_BIN to its path, or set NATS_URL to use a running server.',
      options,
    );
  }
}

export class NatsServerStartError extends Error {
  override name = 'NatsServerStartError' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The nodes started but did not agree on a JetStream meta leader in time. */
export class NatsClusterNotFormedError extends Error {
  override name = 'NatsClusterNotFormedError' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
