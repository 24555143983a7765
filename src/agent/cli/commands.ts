// The actions behind each `grid-node` subcommand: connect, do one thing, print, close.
import { GridClient } from '../client.js';
import type { AccountState, Filter, GridEvent, TopicInfo } from '../grid-types.js';
import { parseFilterSpecs } from '../filters.js';
import { usageError } from '../errors.js';
import { clientOptions, type ConnectionFlags } from './settings.js';
import { dataLine, info, itemLine } from './output.js';
import { publishAll } from './publish.js';
import { provide } from './provide.js';

export async function withClient<T>(flags: ConnectionFlags, fn: (c: GridClient) => Promise<T>): Promise<T> {
  const client = await GridClient.connect(clientOptions(flags));
  try {
    return await fn(client);
  } finally {
    await client.close().catch(() => undefined);
  }
}

function accountLine(jid: string, a: AccountState, json: boolean): void {
  if (json) return dataLine({ jid, registered: a.registered, status: a.status ?? null, groups: a.groups });
  const state = a.registered ? `${a.status}${a.groups.length ? ` (groups: ${a.groups.join(', ')})` : ''}` : 'not registered';
  process.stdout.write(`${jid}: ${state}\n`);
}

export interface RegisterFlags extends ConnectionFlags { groups?: string; deviceType?: string; description?: string; wait?: string | boolean; json?: boolean }

export async function registerCmd(f: RegisterFlags): Promise<void> {
  await withClient(f, async (c) => {
    const groups = f.groups?.split(',').map((g) => g.trim()).filter(Boolean);
    let state = await c.register({ ...(groups?.length ? { groups } : {}), ...(f.deviceType ? { deviceType: f.deviceType } : {}),
      ...(f.description ? { description: f.description } : {}) });
    if (f.wait && state.status !== 'approved') {
      const ms = typeof f.wait === 'string' ? Number(f.wait) * 1000 : 300_000;
      if (!Number.isFinite(ms) || ms <= 0) throw usageError(`--wait takes seconds, got "${f.wait}"`);
      info(`registered; waiting up to ${ms / 1000} s for approval`);
      state = await c.waitForApproval(ms);
    }
    accountLine(c.bareJid, state, !!f.json);
  });
}

export async function statusCmd(f: ConnectionFlags & { json?: boolean }): Promise<void> {
  await withClient(f, async (c) => accountLine(c.bareJid, await c.status(), !!f.json));
}

function topicText(t: TopicInfo): string {
  return [`${t.node}${t.title ? `  ${t.title}` : ''}`,
    `  content type: ${t.contentType ?? t.payloadType ?? '?'}   filtering: ${t.filtering ?? '?'}   subscribers: ${t.subscribers ?? '?'}`,
    `  filter fields: ${t.filterFields.join(', ') || '-'}`,
    `  publishers: ${t.publishers.join(', ') || '-'}`].join('\n');
}

export async function topicsCmd(f: ConnectionFlags & { json?: boolean }): Promise<void> {
  await withClient(f, async (c) => {
    const topics = await c.topics();
    if (f.json) topics.forEach((t) => dataLine(t));
    else process.stdout.write(topics.length ? topics.map(topicText).join('\n') + '\n' : '(no topics this node may discover)\n');
  });
}

export async function publishCmd(topic: string, files: string[], f: ConnectionFlags & { split?: boolean; id?: string }): Promise<void> {
  const summary = await withClient(f, (c) => publishAll(c, topic, files.length ? files : ['-'], { split: !!f.split, ...(f.id ? { id: f.id } : {}) }));
  const bad = summary.files.filter((x) => x.errors.length).map((x) => x.source);
  if (summary.failed) throw usageError(`${bad.length} of ${summary.files.length} files not (wholly) published: ${bad.join(', ')}`);
}

export interface SubscribeFlags extends ConnectionFlags { filter: string[]; keep?: boolean; count?: string }

/** Streams items as JSON lines until interrupted (or --count items); unsubscribes on exit unless --keep. */
export async function subscribeCmd(topic: string, f: SubscribeFlags): Promise<void> {
  const filter = parseFilterSpecs(f.filter);
  const max = f.count !== undefined ? Number(f.count) : Infinity;
  if (Number.isNaN(max) || max < 1) throw usageError(`--count takes a positive number, got "${f.count}"`);
  await withClient(f, async (c) => {
    const events = c.items();
    const sub = await c.subscribe(topic, filter, { keep: !!f.keep });
    info(`subscribed to ${topic} as ${c.jid} (subid ${sub.subid}${sub.subtopic ? `, subtopic ${sub.subtopic}` : ''})`);
    keepNote(f);
    // A reconnect renews the subscription (a new subid): follow it.
    let current = sub.subid;
    let seen = 0;
    const stop = () => { void events.return?.(); };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      for await (const e of events) {
        if (e.kind === 'item' && (!e.subid || e.subid === current) && e.topic === topic) {
          dataLine(itemLine(e));
          if (++seen >= max) break;
        } else if (endsOurs(e, topic, current)) {
          throw usageError(`the controller ended the subscription to ${topic} (policy or account change)`);
        } else {
          if (e.kind === 'reconnected') current = e.resubscribed.find((r) => r.topic === topic)?.subid ?? current;
          report(e);
        }
      }
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      if (!f.keep) await c.unsubscribe(topic, current).catch((err) => info(`unsubscribe failed: ${(err as Error).message}`));
    }
  });
}

/** --keep keeps a subscription addressed to this process's resource: say how to come back to it. */
export function keepNote(f: SubscribeFlags): void {
  if (f.keep && !f.resource) info('--keep without --resource: the kept subscription is addressed to this run\'s own resource; pass --resource to come back to it');
}

export function endsOurs(e: GridEvent, topic: string, subid: string): boolean {
  return (e.kind === 'subscription-ended' && e.topic === topic && (!e.subid || e.subid === subid)) || (e.kind === 'delete' && e.topic === topic);
}

export function report(e: GridEvent): void {
  if (e.kind === 'retract') info(`item ${e.id} retracted from ${e.topic}`);
  else if (e.kind === 'account') info(`account is now ${e.status}${e.groups.length ? ` (groups: ${e.groups.join(', ')})` : ''}`);
  else if (e.kind === 'reconnected') info(`reconnected${e.resubscribed.length ? `; renewed ${e.resubscribed.length} subscription(s)` : ''}`);
  else if (e.kind === 'disconnected') info('connection lost; reconnecting');
}

export interface QueryFlags extends ConnectionFlags { filter: string[]; addedAfter?: string; afterSeq?: string; limit?: string; pageSize?: string }

export async function queryCmd(topic: string, f: QueryFlags): Promise<void> {
  const num = (v: string | undefined, name: string) => {
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v)) throw usageError(`${name} takes a whole number, got "${v}"`);
    return Number(v);
  };
  const filter: Filter | undefined = parseFilterSpecs(f.filter);
  const afterSeq = num(f.afterSeq, '--after-seq');
  const limit = num(f.limit, '--limit');
  const max = num(f.pageSize, '--page-size');
  await withClient(f, async (c) => {
    let pages = 0;
    let items = 0;
    for await (const page of c.query(topic, { ...(filter ? { filter } : {}), ...(afterSeq !== undefined ? { afterSeq } : {}),
      ...(f.addedAfter ? { addedAfter: f.addedAfter } : {}), ...(limit !== undefined ? { limit } : {}), ...(max !== undefined ? { max } : {}) })) {
      if (pages === 0 && page.truncated) info(`some items after seq ${afterSeq} are gone (the topic keeps only its newest items)`);
      for (const it of page.items) dataLine(itemLine(it));
      items += page.items.length;
      if (++pages > 1) info(`page ${pages}: ${items} items so far`);
    }
    info(`${items} item(s) from ${topic}`);
  });
}

export async function provideCmd(topic: string, f: ConnectionFlags & { watch: string; split?: boolean }): Promise<void> {
  await withClient(f, async (c) => {
    await c.registerPublisher(topic);
    const p = provide(c, topic, f.watch, { split: !!f.split });
    info(`watching ${f.watch} for files to publish to ${topic} (Ctrl-C to stop)`);
    await new Promise<void>((resolve) => { process.once('SIGINT', resolve); process.once('SIGTERM', resolve); });
    p.stop();
    await p.idle();
    info(`stopped: ${p.counts.published} published, ${p.counts.failed} failed`);
  });
}
