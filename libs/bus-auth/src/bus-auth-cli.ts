import { parseArgs } from 'node:util';
import { CredentialError } from './errors.ts';
import { isDeviceRole, isServiceRole, DEVICE_ROLES, SERVICE_PERMISSIONS } from './permissions.ts';
import { initSecrets, issueDeviceFile, loadAuthority, reissueServiceFiles, writeServiceFile } from './secrets-dir.ts';

export const USAGE = `bus-auth: NATS credentials for a voicebus deployment (operator mode)

  bus-auth init --out DIR [--devices dev1,dev2] [--force]
      a new operator: DIR/nats-auth.conf (include it in nats.conf), DIR/services/<role>.creds
      for ${Object.keys(SERVICE_PERMISSIONS).join(', ')}, DIR/web-device.key.json (the web
      service's signing key), DIR/devices/<id>.creds per --devices, DIR/authority.json (keep it safe)
  bus-auth device ID --secrets DIR [--role ${Object.keys(DEVICE_ROLES).join('|')}] [--ttl-s N]
      one more device: DIR/devices/ID.creds, accepted by the running server at once (no restart);
      --ttl-s 0 (the default) never expires
  bus-auth service ROLE --secrets DIR
      a fresh DIR/services/ROLE.creds (for a service on another host)
  bus-auth services --secrets DIR
      every service's credential again, with this version's permissions (after an upgrade);
      the operator and the devices' credentials are kept, the server needs no restart`;

/** Runs one command; returns the lines to print. Throws CredentialError for bad input. */
export async function runBusAuth(argv: string[]): Promise<string[]> {
  const [command, ...rest] = argv;
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        out: { type: 'string' }, secrets: { type: 'string' }, devices: { type: 'string' }, force: { type: 'boolean' },
        role: { type: 'string', default: 'capture-device' }, 'ttl-s': { type: 'string', default: '0' },
      },
    });
  } catch (cause) {
    throw new CredentialError((cause as Error).message, { cause });
  }
  const { values: v, positionals } = parsed;
  switch (command) {
    case 'init': {
      if (!v.out) throw new CredentialError('init: --out DIR is required');
      const devices = (v.devices ?? '').split(',').map((d) => d.trim()).filter(Boolean);
      const { files } = await initSecrets(v.out, { devices, force: Boolean(v.force) });
      return [`wrote ${files.length} files to ${v.out}:`, ...files.map((f) => `  ${f}`)];
    }
    case 'device': {
      const id = positionals[0];
      if (!id || !v.secrets) throw new CredentialError('device: ID and --secrets DIR are required');
      if (!isDeviceRole(v.role!)) throw new CredentialError(`device: unknown role ${v.role} (${Object.keys(DEVICE_ROLES).join(', ')})`);
      const ttlS = Number(v['ttl-s']);
      if (!Number.isInteger(ttlS) || ttlS < 0) throw new CredentialError(`device: --ttl-s ${v['ttl-s']} is not a whole number of seconds`);
      return [await issueDeviceFile(v.secrets, loadAuthority(v.secrets), id, v.role, ttlS)];
    }
    case 'service': {
      const role = positionals[0];
      if (!role || !v.secrets) throw new CredentialError('service: ROLE and --secrets DIR are required');
      if (!isServiceRole(role)) throw new CredentialError(`service: unknown role ${role} (${Object.keys(SERVICE_PERMISSIONS).join(', ')})`);
      return [await writeServiceFile(v.secrets, loadAuthority(v.secrets), role)];
    }
    case 'services': {
      if (!v.secrets) throw new CredentialError('services: --secrets DIR is required');
      const files = await reissueServiceFiles(v.secrets);
      return [`issued ${files.length} service credentials again in ${v.secrets} (operator and devices kept); restart the services to use them:`, ...files.map((f) => `  ${f}`)];
    }
    default:
      throw new CredentialError(command && command !== 'help' ? `unknown command ${command}\n\n${USAGE}` : USAGE);
  }
}
