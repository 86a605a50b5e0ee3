import { createServer, type IncomingMessage, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';

/** One span as OTLP/JSON carries it, with its resource's service name attached. */
export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Record<string, unknown>;
  events: { name: string; attributes: Record<string, unknown> }[];
}

interface OtlpAnyValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
}

function value(v: OtlpAnyValue | undefined): unknown {
  if (!v) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  return undefined;
}

function attrs(list: { key: string; value: OtlpAnyValue }[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((a) => [a.key, value(a.value)]));
}

/** OTLP/JSON encodes ids as hex strings; some exporters send base64. Normalise to hex. */
function hexId(id: string | undefined): string | undefined {
  if (!id) return undefined;
  if (/^[0-9a-f]+$/i.test(id)) return id.toLowerCase();
  return Buffer.from(id, 'base64').toString('hex');
}

/**
 * An in-process OTLP/HTTP receiver for tests: it collects what real exporters send. JSON
 * bodies (`http/json`) are decoded into spans; protobuf bodies are counted by content type.
 */
export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  readonly requests: { path: string; contentType: string; bytes: number }[] = [];
  private server: Server | undefined;
  private waiters: { predicate: () => boolean; resolve: () => void }[] = [];

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.onRequest(req).then(() => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    }));
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private async onRequest(req: IncomingMessage): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const contentType = req.headers['content-type'] ?? '';
    this.requests.push({ path: req.url ?? '', contentType, bytes: body.length });
    if (req.url?.endsWith('/v1/traces') && contentType.includes('json')) {
      const doc = JSON.parse(body.toString('utf8')) as {
        resourceSpans?: { resource?: { attributes?: { key: string; value: OtlpAnyValue }[] }; scopeSpans?: { spans?: Record<string, unknown>[] }[] }[];
      };
      for (const rs of doc.resourceSpans ?? []) {
        const service = String(attrs(rs.resource?.attributes)['service.name'] ?? '');
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            this.spans.push({
              service,
              traceId: hexId(s.traceId as string)!,
              spanId: hexId(s.spanId as string)!,
              parentSpanId: hexId(s.parentSpanId as string | undefined),
              name: s.name as string,
              kind: s.kind as number,
              startTimeUnixNano: String(s.startTimeUnixNano),
              endTimeUnixNano: String(s.endTimeUnixNano),
              attributes: attrs(s.attributes as { key: string; value: OtlpAnyValue }[]),
              events: ((s.events as { name: string; attributes?: { key: string; value: OtlpAnyValue }[] }[] | undefined) ?? []).map((e) => ({
                name: e.name,
                attributes: attrs(e.attributes),
              })),
            });
          }
        }
      }
    }
    this.waiters = this.waiters.filter((w) => (w.predicate() ? (w.resolve(), false) : true));
  }

  /** Resolves when `predicate` holds over what has been received (checked on every request). */
  waitFor(predicate: () => boolean, timeoutMs = 30_000): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`OTLP receiver: condition not met within ${timeoutMs} ms (${this.spans.length} spans)`)), timeoutMs);
      this.waiters.push({ predicate, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    this.server.close();
  }
}
