/**
 * The fleet server forwards what it receives to an OpenTelemetry Collector (FLEET_OTLP_URL): each new batch's
 * rollups, as one OTLP/HTTP JSON export through the durable forwarding queue — decoded here by a minimal
 * receiver with the official protobuf definitions; a replayed batch is not forwarded again; a receiver that
 * fails first gets the export once it answers 200.
 */
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batch, getJson, MIN, post, rollupsFor, type Server, startServer } from './server-helpers.ts';

const Request = createRequire(import.meta.url)('@opentelemetry/otlp-transformer/build/src/generated/root.js').opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
const TOKEN = 'otlp-forward-token-0123';

describe('the server forwards batches to an OpenTelemetry Collector', () => {
  let server: Server;
  const exports: { idem: string; request: any }[] = [];
  let failFirst = 1;
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      if (failFirst-- > 0) return void res.writeHead(503, { 'retry-after': '1' }).end();
      const message = Request.fromObject(JSON.parse(body));
      const err = req.url === '/v1/metrics' ? Request.verify(message) : 'wrong path';
      if (err) return void res.writeHead(400).end(err);
      exports.push({ idem: String(req.headers['idempotency-key']), request: Request.toObject(message, { longs: String }) });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });

  beforeAll(async () => {
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const port = (receiver.address() as { port: number }).port;
    server = await startServer({ FLEET_TOKENS: `kiosk:${TOKEN}:*`, FLEET_OTLP_URL: `http://127.0.0.1:${port}/v1/metrics`, FLEET_FORWARD_BACKOFF_MS: '100', FLEET_FORWARD_BACKOFF_MAX_MS: '500' });
  }, 30_000);
  afterAll(async () => {
    await server?.stop();
    receiver.close();
  });

  it('forwards each new batch once, decodable with the official definitions, after the Collector comes back', async () => {
    const start = Math.floor(Date.now() / MIN) * MIN - 5 * MIN;
    const rollups = rollupsFor(start, 1, 11);
    const body = JSON.stringify(batch('kiosk-o', 1, rollups, {}, 'dev-o'));
    expect((await post(server.url, TOKEN, body)).status).toBe(200);
    expect((await post(server.url, TOKEN, body)).status).toBe(200); // a replay: not forwarded again
    const end = Date.now() + 15_000;
    while (!exports.length && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 1000));
    expect(exports).toHaveLength(1);
    expect(exports[0]!.idem).toBe('kiosk-o:1:otlp');
    const rms = exports[0]!.request.resourceMetrics;
    expect(rms).toHaveLength(2); // two cameras
    const device = rms[0].resource.attributes.find((a: { key: string }) => a.key === 'device.id').value.stringValue;
    expect(device).toBe('dev-o');
    const frames = rms.flatMap((rm: any) => rm.scopeMetrics[0].metrics.filter((m: any) => m.name === 'inference.frames').flatMap((m: any) => m.sum.dataPoints)).reduce((a: number, p: any) => a + Number(p.asInt), 0);
    expect(frames).toBe(rollups.reduce((a, r) => a + r.frames, 0));
    const status = await getJson(server.url, TOKEN, '/v1/forwarding');
    expect(status.body.targets.find((t: { name: string }) => t.name === 'otlp')).toMatchObject({ delivered: 1, pending: 0, deadLetters: 0 });
  }, 30_000);
});
