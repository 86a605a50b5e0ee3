export { BusAuthority, SERVER_CONFIG_DEFAULTS, VOICEBUS_ACCOUNT, type AuthoritySecrets, type ServerConfigOptions } from './bus-authority.ts';
export { DeviceCredentialIssuer, DEVICE_CREDENTIAL_DEFAULTS, parseDeviceSigningKey, type DeviceCredentialOptions, type DeviceSigningKey } from './device-credential-issuer.ts';
export { DEVICE_ROLES, SERVICE_PERMISSIONS, isDeviceRole, isServiceRole, type BusPermissions, type DeviceRole, type ServiceRole } from './permissions.ts';
export { CredentialError } from './errors.ts';
export type { UserCredential } from './user-credential.ts';
export { SECRETS_LAYOUT, INIT_DEFAULTS, initSecrets, loadAuthority, issueDeviceFile, reissueServiceFiles, writeServiceFile, type InitOptions } from './secrets-dir.ts';
export { runBusAuth } from './bus-auth-cli.ts';
