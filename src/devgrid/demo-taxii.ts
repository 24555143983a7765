// Step 5 of the demo: the same grid over TAXII 2.1 (PROTOCOL §13). soc1 and partner1 read the
// topic the provider published over XMPP, as a TIP or SIEM connector would (mutual TLS with
// their node certificates; partner1 sees its TLP cap), then sandbox1 POSTs an envelope over
// TAXII and the XMPP subscribers receive it as any publish.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import type { GridEvent, ItemEvent } from '../agent/index.js';
import { collectionId } from '../taxii/ids.js';
import type { DevGrid } from './devgrid.js';
import type { DemoSummary } from './demo-types.js';
import { nextEvent, type Receiver } from './demo-nodes.js';
import type { Screen } from './demo-screen.js';
import { shortPath } from './demo-run.js';

const MEDIA = 'application/taxii+json;version=2.1';

function client(grid: DevGrid, name: string) {
  const n = grid.pki.nodes[name]!;
  const agent = new Agent({ keepAlive: true, ca: readFileSync(grid.pki.ca.cert), cert: readFileSync(n.cert), key: readFileSync(n.key), servername: 'localhost' });
  const base = grid.controller!.https!.url;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const call = (path: string, method = 'GET', body?: string) => new Promise<{ status: number; json: any }>((resolve, reject) => {
    const req = request(new URL(path, base), { method, agent, headers: { accept: MEDIA, ...(body ? { 'content-type': MEDIA, 'content-length': String(Buffer.byteLength(body)) } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) });
        } catch {
          reject(new Error(`TAXII ${path}: ${res.statusCode} ${text.slice(0, 120)}`));
        }
      });
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
  return { call, close: () => agent.destroy() };
}

/** Every object of the collection, following `next` in pages of 500. */
async function readAll(c: ReturnType<typeof client>, objects: string): Promise<{ objects: number; pages: number }> {
  let next: string | undefined;
  let count = 0;
  let pages = 0;
  do {
    const r = await c.call(`${objects}?limit=500${next ? `&next=${next}` : ''}`);
    if (r.status !== 200) throw new Error(`TAXII read: ${r.status} ${r.json.description ?? ''}`);
    pages++;
    count += r.json.objects?.length ?? 0;
    next = r.json.more ? r.json.next : undefined;
  } while (next);
  return { objects: count, pages };
}

export async function taxiiStep(grid: DevGrid, screen: Screen, receivers: Receiver[], summary: DemoSummary): Promise<void> {
  const https = grid.controller!.https;
  if (!https) return;
  const cid = collectionId(grid.cfg.xmpp.domain, summary.topic);
  const objects = `/grid/collections/${cid}/objects/`;
  screen.section(`5. TAXII 2.1: the same topic over HTTPS — ${https.url}/taxii2/ (collection ${cid} = ${summary.topic})`);
  const soc = client(grid, 'soc1');
  const partner = client(grid, 'partner1');
  const sandbox = client(grid, 'sandbox1');
  try {
    const socRead = await readAll(soc, objects);
    screen.ok(`soc1 reads ${socRead.objects.toLocaleString('en-US')} objects in ${socRead.pages} pages (what sandbox1 published over XMPP)`);
    const partnerRead = await readAll(partner, objects);
    screen.ok(`partner1 reads ${partnerRead.objects.toLocaleString('en-US')}: objects above its TLP:GREEN cap and unmarked ones do not exist for it`);
    const posted = { type: 'attack-pattern', spec_version: '2.1', id: `attack-pattern--${randomUUID()}`, created: new Date().toISOString(), modified: new Date().toISOString(),
      name: 'Demo technique posted over TAXII', object_marking_refs: ['marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487'] };
    const isIt = (e: GridEvent): e is ItemEvent => e.kind === 'item' && e.topic === summary.topic && JSON.stringify(e.payload).includes(posted.id);
    const waits = receivers.map((r) => nextEvent(r.client, isIt, `${r.node.name}'s notification of the TAXII POST`).then(() => r.node.name));
    const r = await sandbox.call(objects, 'POST', JSON.stringify({ objects: [posted] }));
    if (r.status !== 202) throw new Error(`TAXII POST: ${r.status} ${r.json.description ?? ''}`);
    screen.ok(`sandbox1 POSTs an envelope: 202, status ${r.json.id} ${r.json.status} (${r.json.success_count}/${r.json.total_count})`);
    const got = await Promise.all(waits);
    screen.ok(`XMPP subscribers notified of it: ${got.join(', ')} (a TLP:CLEAR attack-pattern passes every filter here)`);
    summary.taxii = { url: `${https.url}/taxii2/`, collection: cid, soc1Objects: socRead.objects, partner1Objects: partnerRead.objects, posted: posted.id, notified: got };
    const n = grid.pki.nodes.soc1!;
    screen.line(screen.paint(`  try it: curl --cacert ${shortPath(grid.pki.ca.cert)} --cert ${shortPath(n.cert)} --key ${shortPath(n.key)} \\`, 'dim'));
    screen.line(screen.paint(`    -H 'Accept: ${MEDIA}' '${https.url.replace('127.0.0.1', 'localhost')}${objects}?limit=2&match[type]=attack-pattern'`, 'dim'));
  } finally {
    soc.close();
    partner.close();
    sandbox.close();
  }
}
