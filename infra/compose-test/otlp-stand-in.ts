/**
 * Stand-in for Jaeger in scripts/compose-test.sh: Jaeger's image cannot be pulled on a
 * machine without a container registry, so this listens on Jaeger's OTLP ports instead,
 * 4318 (OTLP/HTTP, protobuf or JSON) and 4317 (OTLP/gRPC), keeps the spans it receives in
 * memory and serves them at GET /spans on 4318 for the checks. It has no UI (16686).
 */
import { createServer } from 'node:http';
import { createServer as createHttp2Server } from 'node:http2';
import { decodeJsonTraces, decodeProtobufTraces, type Span } from './otlp-wire.ts';

const spans: Span[] = [];
const counts = { httpRequests: 0, grpcRequests: 0, metricsRequests: 0, undecodable: 0 };

function take(decode: () => Span[]): void {
  try {
    spans.push(...decode());
  } catch (err) {
    counts.undecodable++;
    console.error(`otlp stand-in: could not decode a trace export: ${(err as Error).message}`);
  }
}

const http = createServer(async (req, res) => {
  if (req.method === 'GET' && req.url === '/spans') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ counts, spans }));
    return;
  }
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const body = Buffer.concat(chunks);
  if (req.url === '/v1/traces') {
    counts.httpRequests++;
    const json = (req.headers['content-type'] ?? '').includes('json');
    take(() => (json ? decodeJsonTraces(body.toString('utf8')) : decodeProtobufTraces(body)));
  } else if (req.url === '/v1/metrics') counts.metricsRequests++;
  // An empty ExportTraceServiceResponse: protobuf's is zero bytes, JSON's is {}.
  const json = (req.headers['content-type'] ?? '').includes('json');
  res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
  res.end(json ? '{}' : '');
});

// gRPC: one length-prefixed message per unary call; answered with an empty message.
const grpc = createHttp2Server((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    if (req.url.endsWith('TraceService/Export')) {
      counts.grpcRequests++;
      if (body.length >= 5 && body[0] === 0) take(() => decodeProtobufTraces(body.subarray(5, 5 + body.readUInt32BE(1))));
      else counts.undecodable++;
    } else if (req.url.endsWith('MetricsService/Export')) counts.metricsRequests++;
    res.writeHead(200, { 'content-type': 'application/grpc' });
    res.addTrailers({ 'grpc-status': '0' });
    res.end(Buffer.alloc(5));
  });
});

http.listen(4318, '0.0.0.0', () => console.log('otlp stand-in (not Jaeger): OTLP/HTTP on 4318, GET /spans'));
grpc.listen(4317, '0.0.0.0', () => console.log('otlp stand-in (not Jaeger): OTLP/gRPC on 4317'));
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => process.exit(0));
