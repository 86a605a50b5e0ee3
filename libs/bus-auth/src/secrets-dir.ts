import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BusAuthority } from './bus-authority.ts';
import { CredentialError } from './errors.ts';
import { SERVICE_PERMISSIONS, type DeviceRole, type ServiceRole } from './permissions.ts';

/**
 * The files of one deployment's credentials (`bus-auth init --out DIR`), the names the compose
 * file mounts. The directory is private (0700); the files in it are world-readable (0644)
 * because each is bind-mounted into a container whose service runs as an unprivileged user
 * with another uid: the directory, not the file mode, keeps them from other host users.
 */
export const SECRETS_LAYOUT = {
  /** Every key: whoever has it can mint any credential. Never mounted into a container. */
  authority: 'authority.json',
  /** nats-server's operator-mode lines, included by infra/nats/nats.conf. */
  natsAuthConf: 'nats-auth.conf',
  service: (role: ServiceRole) => join('services', `${role}.creds`),
  device: (id: string) => join('devices', `${id}.creds`),
  deviceSigningKey: (role: DeviceRole) => `${role}.key.json`,
} as const;

export interface InitOptions {
  /** Capture devices to provision now (more later with `bus-auth device`, no restart). */
  devices: string[];
  /** Replace an existing authority (every credential issued from it stops working). */
  force: boolean;
  name: string;
}

export const INIT_DEFAULTS: InitOptions = { devices: [], force: false, name: 'voicebus' };

function writeSecret(dir: string, rel: string, text: string, mode = 0o644): string {
  const file = join(dir, rel);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, text, { mode });
  chmodSync(file, mode); // an existing file keeps its old mode otherwise
  return file;
}

/** Makes a new operator and writes the server config, every service's credential and the device keys. */
export async function initSecrets(dir: string, options: Partial<InitOptions> = {}): Promise<{ files: string[]; authority: BusAuthority }> {
  const opts = { ...INIT_DEFAULTS, ...options };
  if (existsSync(join(dir, SECRETS_LAYOUT.authority)) && !opts.force) {
    throw new CredentialError(`${join(dir, SECRETS_LAYOUT.authority)} exists: a new operator would invalidate every credential issued from it (--force replaces it; \`bus-auth services --secrets ${dir}\` gives the services this version's permissions and keeps the rest)`);
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const authority = await BusAuthority.create(opts.name);
  const files = [
    writeSecret(dir, SECRETS_LAYOUT.authority, JSON.stringify(authority.toSecrets(), null, 1) + '\n', 0o600),
    writeSecret(dir, SECRETS_LAYOUT.natsAuthConf, authority.serverConfig()),
  ];
  for (const role of Object.keys(SERVICE_PERMISSIONS) as ServiceRole[]) files.push(await writeServiceFile(dir, authority, role));
  // The web service issues browsers their credentials with this key; it can sign web devices only.
  files.push(writeSecret(dir, SECRETS_LAYOUT.deviceSigningKey('web-device'), JSON.stringify(authority.deviceSigningKey('web-device')) + '\n'));
  for (const id of opts.devices) files.push(await issueDeviceFile(dir, authority, id, 'capture-device', 0));
  return { files, authority };
}

export function loadAuthority(dir: string): BusAuthority {
  const file = join(dir, SECRETS_LAYOUT.authority);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new CredentialError(`${file}: ${(cause as Error).message} (run \`bus-auth init --out ${dir}\` first)`, { cause });
  }
  return BusAuthority.fromSecrets(text);
}

/** One device's `.creds` in DIR/devices: signed by the role's scoped key, so it gets only its own subjects. */
export async function issueDeviceFile(dir: string, authority: BusAuthority, id: string, role: DeviceRole, ttlS: number): Promise<string> {
  const cred = await authority.deviceIssuer(role, { ttlS }).issue(id);
  return writeSecret(dir, SECRETS_LAYOUT.device(id), cred.creds);
}

/**
 * Every service's `.creds` issued again from DIR's authority with this version's permissions:
 * credentials carry their permissions, so a directory made by an older voicebus keeps the older
 * grants (a service then gets permission violations for what it was given since). The operator,
 * the server's config and every device's credential stay as they are: nothing needs a restart
 * but the services, to read their new files.
 */
export async function reissueServiceFiles(dir: string): Promise<string[]> {
  const authority = loadAuthority(dir);
  const files: string[] = [];
  for (const role of Object.keys(SERVICE_PERMISSIONS) as ServiceRole[]) files.push(await writeServiceFile(dir, authority, role));
  return files;
}

/** A service's `.creds` in DIR/services (no expiry: services run for months; rotate with a new one). */
export async function writeServiceFile(dir: string, authority: BusAuthority, role: ServiceRole): Promise<string> {
  return writeSecret(dir, SECRETS_LAYOUT.service(role), (await authority.serviceCredential(role)).creds);
}
