/**
 * The OTLP mapping against the official OTLP protobuf definitions (the generated root that
 * @opentelemetry/otlp-transformer 0.52 ships, built from opentelemetry-proto): the JSON for a minute of
 * rollups (2 cameras) converts into ExportMetricsServiceRequest, verifies, survives a protobuf round trip;
 * every histogram's bucket counts sum to its count and its bounds ascend; resource and data-point attributes
 * carry the tags; and a minimal OTLP/HTTP receiver (decoding with the same definitions) accepts it.
 */
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';
import { toOtlp } from '../src/sync/otlp.ts';
import { rollFrames, type Rollup } from '../src/telemetry/rollup.ts';
import { syntheticRecords } from '../e2e/pages/synthetic.ts';
import type { Batch } from '../src/sync/payload.ts';

const root = createRequire(import.meta.url)('@opentelemetry/otlp-transformer/build/src/generated/root.js');
const Request = root.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;

const start = Date.UTC(2026, 11, 1, 10, 0);
const rollups: Rollup[] = ['line-1', 'line-2'].flatMap((camera, i) => [...rollFrames(syntheticRecords(600, start, 10, { camera, seed: 3 + i }), '1m').values()]);
const batch: Pick<Batch, 'source' | 'rollups'> = {
  source: { id: 'source-1', device_id: 'kiosk-7', app_version: '0.1.0', monitors: [] },
  rollups,
};

type Attrs = { key: string; value: { stringValue?: string } }[];
const attr = (a: Attrs, k: string) => a.find((x) => x.key === k)?.value.stringValue;

describe('OTLP metrics', () => {
  const json = toOtlp(batch);
  const decoded = Request.toObject(Request.decode(Request.encode(Request.fromObject(json)).finish()), { longs: String, defaults: false });

  it('is a valid ExportMetricsServiceRequest under the official protobuf definitions, and round-trips', () => {
    // the JSON mapping (64-bit integers as strings) converts into the message, which then verifies
    expect(Request.verify(Request.fromObject(json))).toBeNull();
    expect(decoded.resourceMetrics).toHaveLength(2); // one resource per camera (model version × tags)
    const names = decoded.resourceMetrics[0].scopeMetrics[0].metrics.map((m: { name: string }) => m.name);
    expect(names).toEqual(expect.arrayContaining(['inference.frames', 'inference.frames.valid', 'inference.stage.latency', 'inference.confidence', 'inference.confidence.mean']));
  });

  it('carries the tags on the resource and on every data point', () => {
    for (const rm of decoded.resourceMetrics) {
      const a = rm.resource.attributes as Attrs;
      expect(attr(a, 'service.name')).toBe('inference-health-monitor');
      expect(attr(a, 'device.id')).toBe('kiosk-7');
      expect(attr(a, 'service.instance.id')).toBe('source-1');
      expect(attr(a, 'model_version')).toBe('4c7094b7091d');
      expect(attr(a, 'location')).toBe('line-3');
      const camera = attr(a, 'camera_id');
      expect(['line-1', 'line-2']).toContain(camera);
      for (const m of rm.scopeMetrics[0].metrics)
        for (const p of (m.sum ?? m.gauge ?? m.histogram).dataPoints) {
          expect(attr(p.attributes, 'camera_id')).toBe(camera);
          expect(attr(p.attributes, 'model_version')).toBe('4c7094b7091d');
        }
    }
  });

  it('histograms: bucket counts sum to the count, bounds ascend, one more bucket than bounds; counts equal the rollups', () => {
    let seen = 0;
    for (const rm of decoded.resourceMetrics) {
      const camera = attr(rm.resource.attributes, 'camera_id');
      const r = rollups.find((x) => x.g.includes(`camera_id=${camera}`))!;
      for (const m of rm.scopeMetrics[0].metrics.filter((x: { histogram?: unknown }) => x.histogram)) {
        expect(m.histogram.aggregationTemporality).toBe(1); // delta
        for (const p of m.histogram.dataPoints) {
          const counts = p.bucketCounts.map(Number);
          expect(counts.reduce((a: number, b: number) => a + b, 0)).toBe(Number(p.count));
          expect(counts).toHaveLength(p.explicitBounds.length + 1);
          expect(p.explicitBounds.every((b: number, i: number) => i === 0 || b > p.explicitBounds[i - 1])).toBe(true);
          expect(Number(p.timeUnixNano) - Number(p.startTimeUnixNano)).toBe(60e9);
          if (m.name === 'inference.stage.latency' && attr(p.attributes, 'stage') === 'inference') expect(Number(p.count)).toBe(r.frames);
          seen++;
        }
      }
      const frames = rm.scopeMetrics[0].metrics.find((x: { name: string }) => x.name === 'inference.frames');
      expect(frames.sum.isMonotonic).toBe(true);
      expect(Number(frames.sum.dataPoints[0].asInt)).toBe(r.frames);
    }
    expect(seen).toBeGreaterThan(4);
  });

  describe('a minimal OTLP/HTTP receiver', () => {
    const received: unknown[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        let err: string | null = req.url === '/v1/metrics' && req.headers['content-type'] === 'application/json' ? null : 'wrong path or type';
        let message: unknown;
        try {
          message = Request.fromObject(JSON.parse(body)); // the OTLP JSON mapping → the protobuf message
          err ??= Request.verify(message);
        } catch (e) {
          err = (e as Error).message;
        }
        if (err) return void res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 3, message: err }));
        received.push(message);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    afterAll(() => void server.close());

    it('accepts the export', async () => {
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as { port: number }).port;
      const res = await fetch(`http://127.0.0.1:${port}/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(json) });
      expect(res.status).toBe(200);
      expect(received).toHaveLength(1);
      // a bad one is refused by the same definitions
      const bad = structuredClone(json) as unknown as { resourceMetrics: { scopeMetrics: { metrics: { histogram?: { dataPoints: { explicitBounds: unknown }[] } }[] }[] }[] };
      bad.resourceMetrics[0]!.scopeMetrics[0]!.metrics.find((m) => m.histogram)!.histogram!.dataPoints[0]!.explicitBounds = 'not a list';
      expect((await fetch(`http://127.0.0.1:${port}/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(bad) })).status).toBe(400);
    });
  });
});
