import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CredentialError, type DeviceCredentialIssuer } from '@voicebus/bus-auth';
import type { PageAsset } from './page-bundle.ts';

export interface WebServerOptions {
  port: number;
  host: string;
  /** The NATS WebSocket URL handed to pages. */
  natsWsUrl: string;
}

export const WEB_SERVER_DEFAULTS: WebServerOptions = { port: 8080, host: '127.0.0.1', natsWsUrl: 'ws://127.0.0.1:8443' };

/** What the page asks for before it connects: where NATS is and its own credential. */
export interface DeviceGrant {
  deviceId: string;
  natsWsUrl: string;
  jwt: string;
  seed: string;
  expiresAt: number;
}

/**
 * The page's HTTP side: the bundled page and `GET /api/credential?device=NAME`, which issues
 * that device's short-lived credential. Anything else is a 404; a bad device id is a 400 with
 * the reason. Credentials are never cached.
 */
export class WebServer {
  readonly options: WebServerOptions;
  private readonly assets: Map<string, PageAsset>;
  private readonly issuer: DeviceCredentialIssuer;
  private readonly onIssued: (deviceId: string) => void;
  private server: Server | undefined;
  issued = 0;

  constructor(assets: Map<string, PageAsset>, issuer: DeviceCredentialIssuer, options: Partial<WebServerOptions> = {}, onIssued: (deviceId: string) => void = () => {}) {
    this.options = { ...WEB_SERVER_DEFAULTS, ...options };
    this.assets = assets;
    this.issuer = issuer;
    this.onIssued = onIssued;
  }

  async listen(): Promise<string> {
    const server = createServer((req, res) => void this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    return `http://${this.options.host.includes(':') ? `[${this.options.host}]` : this.options.host}:${port}/`;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://page');
    if (req.method !== 'GET' && req.method !== 'HEAD') return this.send(res, 405, { error: 'only GET' });
    if (url.pathname === '/api/credential') return this.credential(url, res);
    const name = url.pathname === '/' ? 'index.html' : url.pathname.slice(1);
    const asset = this.assets.get(name);
    if (!asset) return this.send(res, 404, { error: `no such page resource: ${url.pathname}` });
    res.writeHead(200, { 'content-type': asset.type, 'content-length': asset.body.byteLength, 'cache-control': 'no-cache' });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
  }

  private async credential(url: URL, res: ServerResponse): Promise<void> {
    const deviceId = url.searchParams.get('device') ?? '';
    try {
      const cred = await this.issuer.issue(deviceId);
      this.issued++;
      this.onIssued(deviceId);
      const grant: DeviceGrant = { deviceId, natsWsUrl: this.options.natsWsUrl, jwt: cred.jwt, seed: cred.seed, expiresAt: cred.expiresAt! };
      this.send(res, 200, grant);
    } catch (err) {
      if (err instanceof CredentialError) return this.send(res, 400, { error: err.message });
      this.send(res, 500, { error: 'could not issue a credential' });
    }
  }

  private send(res: ServerResponse, status: number, body: object): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(text);
  }
}
