// `grid-node subscribe --state FILE`: the subscription that catches up by itself (catchup.ts).
// Every item is one JSON line on stdout, once and in seq order, across reconnects and across
// restarts of this command; the place is kept in FILE after each line.
import type { GridClient } from '../client.js';
import { Follower } from '../catchup.js';
import { StateFile } from '../state-file.js';
import { parseFilterSpecs } from '../filters.js';
import { usageError } from '../errors.js';
import { dataLine, info, itemLine } from './output.js';
import { endsOurs, keepNote, report, withClient, type SubscribeFlags } from './commands.js';

export interface FollowFlags extends SubscribeFlags { state: string; afterSeq?: string }

export async function followCmd(topic: string, f: FollowFlags): Promise<void> {
  const filter = parseFilterSpecs(f.filter);
  const max = f.count !== undefined ? Number(f.count) : Infinity;
  if (Number.isNaN(max) || max < 1) throw usageError(`--count takes a positive number, got "${f.count}"`);
  if (f.afterSeq !== undefined && !/^\d+$/.test(f.afterSeq)) throw usageError(`--after-seq takes a whole number, got "${f.afterSeq}"`);
  const state = StateFile.open(f.state);
  const place = state.place(topic, filter);
  await withClient(f, async (c: GridClient) => {
    const follower = new Follower(c, { topic, ...(filter ? { filter } : {}), state, keep: !!f.keep, ...(f.afterSeq !== undefined ? { afterSeq: Number(f.afterSeq) } : {}) });
    const sub = await follower.start();
    const from = place?.seq ?? (f.afterSeq !== undefined ? Number(f.afterSeq) : 0);
    info(`subscribed to ${topic} as ${c.jid} (subid ${sub.subid}${sub.subtopic ? `, subtopic ${sub.subtopic}` : ''}); catching up after seq ${from} (state ${f.state})`);
    keepNote(f);
    let seen = 0;
    const stop = () => follower.stop();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      for await (const e of follower) {
        if (e.kind === 'item') {
          const commit = follower.stage(e);
          dataLine(itemLine(e));
          commit();
          if (++seen >= max) break;
        } else if (e.kind === 'caught-up') info(`caught up: ${e.count} item(s) after seq ${e.afterSeq}`);
        else if (e.kind === 'truncated') info(`some items after seq ${e.afterSeq} are gone (the topic keeps only its newest items)`);
        else if (e.kind === 'catch-up-failed') info(`catch-up failed, items may be missing: ${e.error.message}`);
        else if (endsOurs(e, topic, follower.subscription?.subid ?? sub.subid)) {
          throw usageError(`the controller ended the subscription to ${topic} (policy or account change)`);
        } else report(e);
      }
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      follower.stop();
      const current = follower.subscription?.subid ?? sub.subid;
      if (!f.keep) await c.unsubscribe(topic, current).catch((err) => info(`unsubscribe failed: ${(err as Error).message}`));
    }
  });
}
