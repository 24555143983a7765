// The TAXII workload (issue 18, PROTOCOL §13): GET objects over a topic of 100,000 stored
// objects in pages of 1,000 (objects/s, p99 per page, the cost of a deep page against a
// shallow one), and POST of envelopes of 100 objects (envelopes/s). The controller runs in
// this process with the HTTPS server on loopback; the client is node:https with keep-alive
// and a node certificate, as a TIP would connect.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startDevGrid } from '../src/devgrid/devgrid.js';
import { signChallenge } from '../src/identity/pop.js';
import { collectionId } from '../src/taxii/ids.js';
import { percentileOf } from './stats.js';
import { log } from './workloads.js';

const TOPIC = 'bench/taxii';
const MEDIA = 'application/taxii+json;version=2.1';
const POLICY = `admins: [admin@grid.test]
groups:
  readers: TAXII readers
  writers: TAXII writers
topics:
  - name: ${TOPIC}
    content_type: application/stix+json;version=2.1
    max_items: 1000000
rules:
  - id: readers
    effect: permit
    operations: [discover, query]
    groups: [readers]
    topics: ["bench/**"]
    max_tlp: amber
  - id: writers
    effect: permit
    operations: [discover, publish, query]
    groups: [writers]
    topics: ["bench/**"]
# The bench measures the door, not the per-account rate limits (README "Rate limits"): raised out of the way.
limits:
  groups:
    readers: { iq_per_s: 1000000, iq_burst: 1000000, inflight: 512, queue: 100000 }
    writers: { iq_per_s: 1000000, iq_burst: 1000000, publish_per_s: 1000000, publish_burst: 1000000, payload_bytes_per_s: 1000000000, payload_burst_bytes: 1000000000, inflight: 512, queue: 100000 }
# end
`;

export interface TaxiiBench {
  stored_objects: number;
  page_size: number;
  fill_s: number;
  /** The first request after a start reads the topic into the object index. */
  index_build_ms: number;
  get: { pages: number; objects: number; objects_per_s: number; p50_ms?: number; p99_ms?: number; max_ms?: number; first10_mean_ms: number; last10_mean_ms: number; deep_to_shallow: number };
  post: { envelopes: number; objects_per_envelope: number; envelopes_per_s: number; objects_per_s: number; p50_ms?: number; p99_ms?: number };
  note: string;
}

let n = 0;
function indicator(i: number) {
  const tlp = ['marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9', 'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da', 'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82'][i % 3]!;
  return { type: 'indicator', spec_version: '2.1', id: `indicator--${randomUUID()}`, created: '2026-01-01T00:00:00.000Z', modified: '2026-01-01T00:00:00.000Z',
    name: `bench ${++n}`, pattern: `[ipv4-addr:value = '10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}']`, pattern_type: 'stix', valid_from: '2026-01-01T00:00:00Z', object_marking_refs: [tlp] };
}

export async function taxiiWorkload(o: { objects: number; pageSize: number; postEnvelopes: number }): Promise<TaxiiBench> {
  const policies = mkdtempSync(join(tmpdir(), 'bench-taxii-policy-'));
  writeFileSync(join(policies, 'bench.yaml'), POLICY);
  const grid = await startDevGrid({ nodes: [{ name: 'reader', OU: 'bench', keyType: 'ec' }, { name: 'writer', OU: 'bench', keyType: 'ec' }], policiesDir: policies, taxii: {} });
  try {
    const c = grid.controller!;
    for (const [name, group] of [['reader', 'readers'], ['writer', 'writers']] as const) {
      const jid = `${name}@grid.test`;
      const challenge = c.accounts.challenge(jid);
      const files = grid.pki.nodes[name]!;
      const r = await c.accounts.register(jid, { challenge, certificatePem: readFileSync(files.cert, 'utf8'), signature: signChallenge(readFileSync(files.key, 'utf8'), challenge), groups: [] });
      if ('fail' in r) throw new Error(`bench registration of ${jid}: ${r.fail} ${r.text ?? ''}`);
      await c.accounts.approve(jid, 'bench', [group]);
    }
    const writer = c.accounts.get('writer@grid.test')!;
    const subject = { jid: writer.jid, groups: writer.groups, cert: { subject: writer.cert.subject, issuer: writer.cert.issuer } };
    log(`TAXII: storing ${o.objects} objects as items of 100`);
    const t0 = performance.now();
    for (let i = 0; i < o.objects; i += 100) {
      const objects = Array.from({ length: Math.min(100, o.objects - i) }, (_, k) => indicator(i + k));
      const r = await c.items.publish(subject, TOPIC, undefined, { kind: 'json', text: JSON.stringify({ objects }) });
      if ('fail' in r) throw new Error(`bench fill: ${r.fail} ${r.text ?? ''}`);
    }
    const fillS = (performance.now() - t0) / 1000;
    const agentFor = (name: string) => new Agent({ keepAlive: true, maxSockets: 1, ca: readFileSync(grid.pki.ca.cert), cert: readFileSync(grid.pki.nodes[name]!.cert), key: readFileSync(grid.pki.nodes[name]!.key), servername: 'localhost' });
    const base = c.https!.url;
    const call = (agent: Agent, path: string, method = 'GET', body?: string) => new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(new URL(path, base), { method, agent, headers: { accept: MEDIA, ...(body ? { 'content-type': MEDIA, 'content-length': String(Buffer.byteLength(body)) } : {}) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      if (body) req.write(body);
      req.end();
    });
    const reader = agentFor('reader');
    const obj = `/grid/collections/${collectionId(grid.cfg.xmpp.domain, TOPIC)}/objects/`;
    const tIdx = performance.now();
    const warm = await call(reader, `${obj}?limit=1`);
    if (warm.status !== 200) throw new Error(`TAXII bench: ${warm.status} ${warm.text.slice(0, 200)}`);
    const indexMs = performance.now() - tIdx;
    log(`TAXII: index built in ${Math.round(indexMs)} ms; paging with limit=${o.pageSize}`);
    const lat: number[] = [];
    let objects = 0;
    let next: string | undefined;
    const tGet = performance.now();
    do {
      const s = performance.now();
      const r = await call(reader, `${obj}?limit=${o.pageSize}${next ? `&next=${next}` : ''}`);
      lat.push(performance.now() - s);
      if (r.status !== 200) throw new Error(`TAXII bench page: ${r.status} ${r.text.slice(0, 200)}`);
      const body = JSON.parse(r.text) as { objects?: unknown[]; more?: boolean; next?: string };
      objects += body.objects?.length ?? 0;
      next = body.more ? body.next : undefined;
    } while (next);
    const getS = (performance.now() - tGet) / 1000;
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    const first10 = mean(lat.slice(0, 10));
    const last10 = mean(lat.slice(-10));
    log(`TAXII: ${lat.length} pages, ${objects} objects in ${getS.toFixed(2)} s; p99 ${percentileOf(lat, 99)?.toFixed(1)} ms`);
    const writerAgent = agentFor('writer');
    const postLat: number[] = [];
    const tPost = performance.now();
    for (let i = 0; i < o.postEnvelopes; i++) {
      const body = JSON.stringify({ objects: Array.from({ length: 100 }, (_, k) => indicator(k)) });
      const s = performance.now();
      const r = await call(writerAgent, obj, 'POST', body);
      postLat.push(performance.now() - s);
      if (r.status !== 202) throw new Error(`TAXII bench POST: ${r.status} ${r.text.slice(0, 200)}`);
    }
    const postS = (performance.now() - tPost) / 1000;
    reader.destroy();
    writerAgent.destroy();
    const r1 = (x: number | undefined) => (x === undefined ? undefined : Math.round(x * 100) / 100);
    return {
      stored_objects: o.objects, page_size: o.pageSize, fill_s: r1(fillS)!, index_build_ms: Math.round(indexMs),
      get: {
        pages: lat.length, objects, objects_per_s: Math.round(objects / getS), p50_ms: r1(percentileOf(lat, 50)), p99_ms: r1(percentileOf(lat, 99)), max_ms: r1(Math.max(...lat)),
        first10_mean_ms: r1(first10)!, last10_mean_ms: r1(last10)!, deep_to_shallow: r1(last10 / first10)!,
      },
      post: { envelopes: o.postEnvelopes, objects_per_envelope: 100, envelopes_per_s: r1(o.postEnvelopes / postS)!, objects_per_s: Math.round((o.postEnvelopes * 100) / postS), p50_ms: r1(percentileOf(postLat, 50)), p99_ms: r1(percentileOf(postLat, 99)) },
      note: 'controller, HTTPS server and client in one process on a shared 2-CPU machine; the reader is capped at TLP:AMBER (every object checked against the cap)',
    };
  } finally {
    await grid.stop();
    rmSync(policies, { recursive: true, force: true });
  }
}
