import { createUser, encodeUser, fromSeed, fmtCreds, type KeyPair } from '@nats-io/jwt';
import { assertDeviceId, InvalidDeviceIdError } from '@voicebus/protocol';
import { CredentialError } from './errors.ts';
import { isDeviceRole, type DeviceRole } from './permissions.ts';
import type { UserCredential } from './user-credential.ts';

/** What a device issuer holds: one scoped signing key of the voicebus account (a JSON file). */
export interface DeviceSigningKey {
  role: DeviceRole;
  /** The account's public key (the users' `issuer_account`). */
  account: string;
  /** The scoped signing key's seed (`SA...`). */
  seed: string;
}

export interface DeviceCredentialOptions {
  /**
   * Credentials are short-lived: a page fetches a new one before this runs out. 0: no expiry,
   * for a device provisioned once (a capture device in compose); revoke by rotating the key.
   */
  ttlS: number;
}

export const DEVICE_CREDENTIAL_DEFAULTS: DeviceCredentialOptions = { ttlS: 3600 };

/** Reads a DeviceSigningKey from its JSON text, with a clear error for anything else. */
export function parseDeviceSigningKey(text: string): DeviceSigningKey {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new CredentialError('device signing key is not JSON', { cause });
  }
  const k = json as Partial<DeviceSigningKey>;
  if (typeof k?.role !== 'string' || !isDeviceRole(k.role)) throw new CredentialError(`device signing key: unknown role ${JSON.stringify(k?.role)}`);
  if (typeof k.account !== 'string' || !k.account.startsWith('A')) throw new CredentialError('device signing key: "account" must be an account public key');
  if (typeof k.seed !== 'string' || !k.seed.startsWith('SA')) throw new CredentialError('device signing key: "seed" must be an account signing key seed');
  return { role: k.role, account: k.account, seed: k.seed };
}

/**
 * Issues one device's credential: a user JWT named after the device, signed by a scoped
 * signing key. The JWT carries no permissions of its own; the key's role template gives the
 * device its own subjects and nothing else (see DEVICE_ROLES), enforced by the server.
 */
export class DeviceCredentialIssuer {
  readonly role: DeviceRole;
  readonly options: DeviceCredentialOptions;
  private readonly account: string;
  private readonly signer: KeyPair;

  constructor(key: DeviceSigningKey, options: Partial<DeviceCredentialOptions> = {}) {
    this.options = { ...DEVICE_CREDENTIAL_DEFAULTS, ...options };
    this.role = key.role;
    this.account = key.account;
    try {
      this.signer = fromSeed(new TextEncoder().encode(key.seed));
    } catch (cause) {
      throw new CredentialError('device signing key: the seed is not a valid nkey seed', { cause });
    }
  }

  async issue(deviceId: string): Promise<UserCredential> {
    try {
      assertDeviceId(deviceId);
    } catch (err) {
      throw new CredentialError((err as InvalidDeviceIdError).message, { cause: err });
    }
    const user = createUser();
    const exp = this.options.ttlS === 0 ? undefined : Math.floor(Date.now() / 1000) + this.options.ttlS;
    const jwt = await encodeUser(deviceId, user, this.account, {}, { signer: this.signer, scopedUser: true, ...(exp === undefined ? {} : { exp }) });
    return {
      name: deviceId,
      jwt,
      seed: new TextDecoder().decode(user.getSeed()),
      creds: new TextDecoder().decode(fmtCreds(jwt, user)),
      expiresAt: exp === undefined ? undefined : exp * 1000,
    };
  }
}
