import { createAccount, createOperator, createUser, encodeAccount, encodeOperator, encodeUser, fmtCreds, fromSeed, newScopedSigner, type KeyPair } from '@nats-io/jwt';
import { CredentialError } from './errors.ts';
import { DEVICE_ROLES, SERVICE_PERMISSIONS, isDeviceRole, type BusPermissions, type DeviceRole, type ServiceRole } from './permissions.ts';
import { DeviceCredentialIssuer, type DeviceCredentialOptions, type DeviceSigningKey } from './device-credential-issuer.ts';
import { userClaims, type UserCredential } from './user-credential.ts';

export const VOICEBUS_ACCOUNT = 'VOICEBUS';

export interface ServerConfigOptions {
  /** WebSocket listener for browsers (`-1`: a free port, read back from the ports file). */
  websocketPort: number | undefined;
  /** Where the WebSocket listener binds. */
  websocketHost: string;
}

/**
 * A BusAuthority as a file (`authority.json` of `bus-auth init`): every seed and the signed
 * account JWTs, so credentials can be issued later (a new device, a rotated service) for the
 * same server config. Whoever holds it can mint any credential: keep it off the containers.
 */
export interface AuthoritySecrets {
  version: 1;
  name: string;
  operator: string;
  system: string;
  account: string;
  serviceKey: string;
  deviceKeys: Record<DeviceRole, string>;
  jwts: { operator: string; system: string; account: string };
}

export const SERVER_CONFIG_DEFAULTS: ServerConfigOptions = { websocketPort: undefined, websocketHost: '127.0.0.1' };

/** Everything the account may do: it is the whole stack's, limits are the server's. */
const UNLIMITED = {
  subs: -1, conn: -1, leaf: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true,
  mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1,
};

/**
 * A NATS operator for one voicebus deployment, made in memory: the operator, a system account,
 * and the voicebus account with one signing key for services and one scoped signing key per
 * device role. The server trusts the operator and preloads the two account JWTs
 * (`resolver: MEMORY`), so any number of users signed later by those keys are accepted
 * without an edit of the config or a restart: a new device is a new JWT, nothing else.
 */
export class BusAuthority {
  readonly operator: KeyPair;
  readonly system: KeyPair;
  readonly account: KeyPair;
  private readonly serviceKey: KeyPair;
  private readonly deviceKeys: Record<DeviceRole, KeyPair>;
  private readonly jwts: { operator: string; system: string; account: string };

  readonly name: string;

  private constructor(name: string, keys: { operator: KeyPair; system: KeyPair; account: KeyPair; serviceKey: KeyPair; deviceKeys: Record<DeviceRole, KeyPair> }, jwts: { operator: string; system: string; account: string }) {
    this.name = name;
    this.operator = keys.operator;
    this.system = keys.system;
    this.account = keys.account;
    this.serviceKey = keys.serviceKey;
    this.deviceKeys = keys.deviceKeys;
    this.jwts = jwts;
  }

  static async create(name = 'voicebus'): Promise<BusAuthority> {
    const operator = createOperator();
    const system = createAccount();
    const account = createAccount();
    const serviceKey = createAccount();
    const deviceKeys = Object.fromEntries(Object.keys(DEVICE_ROLES).map((role) => [role, createAccount()])) as Record<DeviceRole, KeyPair>;
    const scoped = Object.entries(DEVICE_ROLES).map(([role, perms]) => newScopedSigner(deviceKeys[role as DeviceRole], role, userClaims(perms)));
    const jwts = {
      operator: await encodeOperator(name, operator, { system_account: system.getPublicKey() }),
      system: await encodeAccount('SYS', system, {}, { signer: operator }),
      account: await encodeAccount(VOICEBUS_ACCOUNT, account, { signing_keys: [serviceKey.getPublicKey(), ...scoped], limits: UNLIMITED }, { signer: operator }),
    };
    return new BusAuthority(name, { operator, system, account, serviceKey, deviceKeys }, jwts);
  }

  /** Reads an authority back from its secrets (see AuthoritySecrets), with a clear error for anything else. */
  static fromSecrets(text: string): BusAuthority {
    let json: Partial<AuthoritySecrets>;
    try {
      json = JSON.parse(text) as Partial<AuthoritySecrets>;
    } catch (cause) {
      throw new CredentialError('authority file is not JSON', { cause });
    }
    if (json?.version !== 1) throw new CredentialError(`authority file: unsupported version ${JSON.stringify(json?.version)}`);
    const key = (what: string, seed: unknown, prefix: string): KeyPair => {
      if (typeof seed !== 'string' || !seed.startsWith(prefix)) throw new CredentialError(`authority file: "${what}" must be a ${prefix}... seed`);
      try {
        return fromSeed(new TextEncoder().encode(seed));
      } catch (cause) {
        throw new CredentialError(`authority file: "${what}" is not a valid nkey seed`, { cause });
      }
    };
    const jwts = json.jwts;
    if (!jwts || [jwts.operator, jwts.system, jwts.account].some((j) => typeof j !== 'string' || j.split('.').length !== 3)) throw new CredentialError('authority file: "jwts" must hold the operator, system and account JWTs');
    const deviceKeys = {} as Record<DeviceRole, KeyPair>;
    for (const role of Object.keys(DEVICE_ROLES)) {
      if (!isDeviceRole(role)) continue;
      deviceKeys[role] = key(`deviceKeys.${role}`, json.deviceKeys?.[role], 'SA');
    }
    return new BusAuthority(typeof json.name === 'string' ? json.name : 'voicebus', {
      operator: key('operator', json.operator, 'SO'),
      system: key('system', json.system, 'SA'),
      account: key('account', json.account, 'SA'),
      serviceKey: key('serviceKey', json.serviceKey, 'SA'),
      deviceKeys,
    }, { operator: jwts.operator, system: jwts.system, account: jwts.account });
  }

  /** Everything needed to issue credentials for this server config later (the `authority.json` file). */
  toSecrets(): AuthoritySecrets {
    const seed = (k: KeyPair) => new TextDecoder().decode(k.getSeed());
    return {
      version: 1,
      name: this.name,
      operator: seed(this.operator),
      system: seed(this.system),
      account: seed(this.account),
      serviceKey: seed(this.serviceKey),
      deviceKeys: Object.fromEntries(Object.entries(this.deviceKeys).map(([role, k]) => [role, seed(k)])) as Record<DeviceRole, string>,
      jwts: { ...this.jwts },
    };
  }

  /** nats-server config lines for operator mode (JetStream, ports and logs come from the launcher). */
  serverConfig(options: Partial<ServerConfigOptions> = {}): string {
    const opts = { ...SERVER_CONFIG_DEFAULTS, ...options };
    const lines = [
      '# Generated by @voicebus/bus-auth: operator mode, accounts preloaded, users are JWTs.',
      `operator: ${this.jwts.operator}`,
      `system_account: ${this.system.getPublicKey()}`,
      'resolver: MEMORY',
      'resolver_preload: {',
      `  ${this.system.getPublicKey()}: ${this.jwts.system}`,
      `  ${this.account.getPublicKey()}: ${this.jwts.account}`,
      '}',
    ];
    if (opts.websocketPort !== undefined) lines.push(`websocket { host: "${opts.websocketHost}", port: ${opts.websocketPort}, no_tls: true }`);
    return lines.join('\n') + '\n';
  }

  /** A service's credential (vad, session, playback, web, observer): its permissions from SERVICE_PERMISSIONS. */
  async serviceCredential(role: ServiceRole, options: { expiresInS?: number } = {}): Promise<UserCredential> {
    return this.issue(role, SERVICE_PERMISSIONS[role], this.serviceKey, options.expiresInS);
  }

  /** The key a device issuer (the web service) signs with: it can make device users of one role and nothing else. */
  deviceSigningKey(role: DeviceRole): DeviceSigningKey {
    return { role, account: this.account.getPublicKey(), seed: new TextDecoder().decode(this.deviceKeys[role].getSeed()) };
  }

  deviceIssuer(role: DeviceRole, options: Partial<DeviceCredentialOptions> = {}): DeviceCredentialIssuer {
    return new DeviceCredentialIssuer(this.deviceSigningKey(role), options);
  }

  private async issue(name: string, perms: BusPermissions, signer: KeyPair, expiresInS: number | undefined): Promise<UserCredential> {
    const user = createUser();
    const jwt = await encodeUser(name, user, this.account, userClaims(perms), {
      signer,
      ...(expiresInS ? { exp: Math.floor(Date.now() / 1000) + expiresInS } : {}),
    });
    const seed = new TextDecoder().decode(user.getSeed());
    return { name, jwt, seed, creds: new TextDecoder().decode(fmtCreds(jwt, user)), expiresAt: expiresInS ? Date.now() + expiresInS * 1000 : undefined };
  }
}
