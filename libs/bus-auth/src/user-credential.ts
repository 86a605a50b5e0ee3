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

/** Permissions as user claims: only what is listed is allowed. */
export function userClaims(perms: BusPermissions): Partial<User> {
  return {
    pub: { allow: [...perms.publish] },
    sub: { allow: [...perms.subscribe] },
    ...(perms.allowResponses ? { resp: { max: 1, ttl: 0 } } : {}),
  };
}
