import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { FaultScript, type FiredFault, type SimFault } from './fault-script.ts';
import { CLOSE_CODES } from './protocol-errors.ts';
import { DEFAULT_SIM_PRESET, resolveBehaviour, type SimPreset } from './options.ts';
import { HandleStore } from './resumption.ts';
import { SIM_BEHAVIOUR_DEFAULTS, SimSession, type SimBehaviour } from './sim-session.ts';

export interface GeminiLiveSimOptions extends SimBehaviour {
  host: string;
  port: number;
  /** When set, only this key (or access token) is accepted. */
  apiKey: string | undefined;
  /** The behaviour preset the other options override: `simple` or `realistic` (see options.ts). */
  preset: SimPreset;
  /** Faults fired at scripted moments of the conversation (see fault-script.ts), each once. */
  faults: SimFault[];
}

export const GEMINI_LIVE_SIM_DEFAULTS: GeminiLiveSimOptions = {
  ...SIM_BEHAVIOUR_DEFAULTS,
  host: '127.0.0.1',
  port: 0,
  apiKey: undefined,
  preset: DEFAULT_SIM_PRESET,
  faults: [],
};

const PATH = /^\/+ws\/google\.ai\.generativelanguage\.([A-Za-z0-9]+)\.GenerativeService\.(BidiGenerateContent|BidiGenerateContentConstrained)$/;

export interface GeminiLiveSimEvents {
  session: [SimSession];
  fault: [FiredFault];
}

export interface GeminiLiveSim extends EventEmitter<GeminiLiveSimEvents> {
  /** Base URL for `httpOptions.baseUrl`. */
  readonly url: string;
  readonly port: number;
  /** Live and past sessions, oldest first. */
  readonly sessions: SimSession[];
  /** Mutable at run time (tests change delays between turns). */
  readonly behaviour: SimBehaviour;
  /** The preset the behaviour started from. */
  readonly preset: SimPreset;
  find(id: string): SimSession | undefined;
  /** Resolves with the next session to connect (or the n-th overall, 1-based). */
  nextSession(): Promise<SimSession>;
  close(): Promise<void>;
}

/**
 * A Gemini Live (BidiGenerateContent) server for tests and the demo: the unmodified
 * @google/genai client connects to it through `httpOptions.baseUrl`. The same port serves a
 * small HTTP API so another process can script failures (see README.md).
 */
export async function startGeminiLiveSim(options: Partial<GeminiLiveSimOptions> = {}): Promise<GeminiLiveSim> {
  const { host = '127.0.0.1', port: wantedPort = 0, apiKey, preset = DEFAULT_SIM_PRESET, faults = [], ...overrides } = options;
  const opts = { host, port: wantedPort, apiKey };
  // One mutable object: tests and POST /behaviour change it while sessions run.
  const behaviour: SimBehaviour = resolveBehaviour(preset, overrides);
  const handles = new HandleStore();
  const sessions: SimSession[] = [];
  const emitter = new EventEmitter<GeminiLiveSimEvents>();
  const script = new FaultScript(faults, (fired) => emitter.emit('fault', fired));
  const wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 * 1024 });
  const http = createServer((req, res) => void control(req, res));

  http.on('upgrade', (req, socket, head) => {
    // The SDK joins its base URL and path with a double slash ("//ws/..."), which URL() would
    // read as a host name; split the raw target instead.
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const match = PATH.exec(q < 0 ? raw : raw.slice(0, q));
    const url = new URL(`http://sim/?${q < 0 ? '' : raw.slice(q + 1)}`);
    if (!match) {
      socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
      return;
    }
    const key = url.searchParams.get('key') ?? url.searchParams.get('access_token') ?? req.headers['x-goog-api-key'];
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (!key || (opts.apiKey !== undefined && key !== opts.apiKey)) {
        ws.close(CLOSE_CODES.policy, 'API key not valid. Please pass a valid API key.');
        return;
      }
      const session = new SimSession(ws, match[1]!, behaviour, handles);
      sessions.push(session);
      script.attach(session);
      if (sessions.length > 1000) sessions.splice(0, 100);
      emitter.emit('session', session);
    });
  });

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  async function control(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim');
    const parts = url.pathname.split('/').filter(Boolean);
    if (req.method === 'GET' && url.pathname === '/sessions') {
      return json(res, 200, sessions.map((s) => ({ id: s.id, model: s.setup?.model, turns: s.state.turns, answering: s.answering, resumedFrom: s.resumedFrom })));
    }
    if (req.method === 'POST' && url.pathname === '/behaviour') {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as Partial<SimBehaviour> & { preset?: SimPreset };
      // {"preset": "realistic", ...} starts again from that preset, then applies the rest.
      if (body.preset) Object.assign(behaviour, resolveBehaviour(body.preset));
      const { preset: _p, ...rest } = body;
      Object.assign(behaviour, rest);
      return json(res, 200, behaviour);
    }
    if (req.method === 'POST' && parts[0] === 'sessions' && parts.length === 3) {
      const live = sessions.filter((s) => s.setup);
      const targets = parts[1] === 'all' ? live : parts[1] === 'latest' ? live.slice(-1) : live.filter((s) => s.id === parts[1]);
      if (targets.length === 0) return json(res, 404, { error: `no session ${parts[1]}` });
      const q = url.searchParams;
      for (const s of targets) {
        switch (parts[2]) {
          case 'goaway': s.goAway(Number(q.get('timeLeftMs') ?? 5000)); break;
          case 'drop': s.drop(); break;
          case 'close': s.closeWith(Number(q.get('code') ?? CLOSE_CODES.internal), q.get('reason') ?? 'closed by test'); break;
          case 'stall': s.stall(q.has('ms') ? Number(q.get('ms')) : Infinity); break;
          case 'resumption': s.sendResumptionUpdate(); break;
          default: return json(res, 404, { error: `unknown action ${parts[2]}` });
        }
      }
      return json(res, 200, { ok: true, sessions: targets.map((s) => s.id) });
    }
    json(res, 404, { error: 'not found' });
  }

  http.listen(opts.port, opts.host);
  await once(http, 'listening');
  const port = (http.address() as AddressInfo).port;
  return Object.assign(emitter, {
    url: `http://${opts.host}:${port}`,
    port,
    sessions,
    behaviour,
    preset,
    find: (id: string) => sessions.find((s) => s.id === id),
    nextSession: () => once(emitter, 'session').then(([s]) => s as SimSession),
    close: async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  });
}
