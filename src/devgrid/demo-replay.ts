// Step 3 of the demo: the provider publishes the marked ATT&CK for ICS copy bundle by bundle;
// then every consumer's live deliveries are checked against a filtered query over the stored
// items (the same cut), which is also how the demo knows the last notification arrived.
import type { GridClient } from '../agent/index.js';
import type { DemoOptions, DemoSummary } from './demo-types.js';
import { addObjects, ATTACK_COPYRIGHT, bundleDoc, objectsOf, type Packed } from './demo-data.js';
import { abortable, AbortError, type Receiver } from './demo-nodes.js';
import { countList, type Screen } from './demo-screen.js';

/**
 * Items per query page. A page is one stanza from the controller, and Prosody closes the
 * component stream (not-well-formed) on one over its component stanza limit (512 KiB);
 * demo items are up to 150 KB, so three fit.
 */
const QUERY_PAGE = 3;

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    const onAbort = () => { clearTimeout(timer); reject(new AbortError()); };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export async function replay(screen: Screen, provider: GridClient, receivers: Receiver[], packed: Packed, summary: DemoSummary, o: DemoOptions): Promise<void> {
  const n = packed.bundles.reduce((s, b) => s + b.content.length, 0);
  screen.section(`3. Replay: MITRE ATT&CK for ICS v18.1 — ${n.toLocaleString('en-US')} objects in ${packed.bundles.length} bundles, published by sandbox1`);
  screen.line(screen.paint('  NOTE: ATT&CK carries no TLP marking. The demo publishes a COPY in which every object gets a TLP 2.0', 'yellow'));
  screen.line(screen.paint('  marking picked from its id (about 35% CLEAR, 30% GREEN, 20% AMBER, 15% RED), so the TLP cuts show.', 'yellow'));
  if (packed.skipped.length) screen.line(screen.paint(`  left out: ${packed.skipped.length} object(s) too big for one item (${packed.skipped.map((x) => `${x.type} ${x.id}`).join(', ')})`, 'dim'));
  screen.line(screen.paint(`  ${ATTACK_COPYRIGHT}`, 'dim'));
  const names = receivers.map((r) => r.node.name);
  screen.line(screen.paint(`  item      objects  most common types${' '.repeat(27)}items received so far: ${names.join(' · ')}`, 'dim'));
  for (const b of packed.bundles) {
    if (o.signal?.aborted) throw new AbortError();
    const r = await abortable(provider.publish(summary.topic, bundleDoc(b), { id: b.itemId }), o.signal);
    addObjects(summary.published, b.content);
    const types: Record<string, number> = {};
    for (const x of b.content) types[x.type] = (types[x.type] ?? 0) + 1;
    const got = receivers.map((x) => String(x.items.size).padStart(x.node.name.length)).join(' · ');
    screen.line(`  ${screen.paint(r.id, 'cyan')} ↑ ${String(b.content.length).padStart(3)}  ${countList(types, 2).padEnd(54)} ${got}`);
    await pause(o.delayMs ?? 120, o.signal);
  }
}

/** Waits until each consumer has every item its filtered query lists, then compares counts. */
export async function drain(screen: Screen, receivers: Receiver[], summary: DemoSummary, signal?: AbortSignal): Promise<void> {
  for (const r of receivers) {
    const ids: string[] = [];
    let objects = 0;
    for await (const page of r.client.query(summary.topic, { max: QUERY_PAGE, ...(r.node.filter ? { filter: r.node.filter } : {}) })) {
      if (signal?.aborted) throw new AbortError();
      for (const it of page.items) {
        ids.push(it.id);
        objects += objectsOf(it.payload).filter((x) => x.type !== 'identity' && x.type !== 'marking-definition').length;
      }
    }
    const missing = await r.waitFor(ids, 15_000, signal);
    const sameItems = missing.length === 0 && r.items.size === ids.length;
    const matchesQuery = sameItems && objects === r.counts.objects;
    const sub = r.client.subscriptionsHeld.find((s) => s.topic === summary.topic);
    // A snapshot: the TAXII step (demo-taxii.ts) delivers one more item afterwards.
    summary.consumers.push({
      name: r.node.name, jid: r.client.bareJid, ...(r.node.filter ? { filter: r.node.filter } : {}),
      ...(sub?.subtopic ? { subtopic: sub.subtopic } : {}), ...(r.cap ? { cap: r.cap } : {}), ...r.counts, byType: { ...r.counts.byType }, byTlp: { ...r.counts.byTlp }, matchesQuery, missing,
    });
    if (!matchesQuery) {
      screen.warn(`${r.node.name}: live ${r.items.size} items / ${r.counts.objects} objects, but the filtered query lists ` +
        `${ids.length} items / ${objects} objects${missing.length ? `; never arrived: ${missing.join(', ')}` : ''}`);
    }
  }
}
