import type { User } from '@nats-io/jwt';
import type { BusPermissions } from './permissions.ts';

/** One NATS user: its JWT and the seed that proves it (a `.creds` file is both). */
export interface UserCredential {
  name: string;
  jwt: string;
  seed: string;
  /** The `.creds` file text (`NATS_CREDS` of a service). */
  creds: string;
  /** Epoch ms after which the server refuses it; undefined: it does not expire. */
  expiresAt: number | undefined;
}

/**
 * How long a received request's reply subject may be answered (ns). Never 0 (no expiry): the
 * server keeps every reply subject a client was sent until it is answered or expires, and a
 * service is sent many it never answers (JetStream deliveries' `$JS.ACK` subjects); without
 * an expiry that table only grows, and nats-server's CPU with it (measured over a 10-minute
 * soak at 20 devices: 19 % rising to 76 % of a core; with the expiry flat at 22-24 %, see
 * BENCHMARKS.md).
 */
export const RESPONSE_TTL_NS = 5_000_000_000;

/** Permissions as user claims: only what is listed is allowed. */
export function userClaims(perms: BusPermissions): Partial<User> {
  return {
    pub: { allow: [...perms.publish] },
    sub: { allow: [...perms.subscribe] },
    ...(perms.allowResponses ? { resp: { max: 1, ttl: RESPONSE_TTL_NS } } : {}),
  };
}
