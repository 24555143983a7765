// TAXII paging under load and across a restart (PROTOCOL §13): a client paging through a
// topic while it is being published to neither skips nor repeats an object, whether it
// follows `next` or resumes from X-TAXII-Date-Added-Last; a `next` and a status id made
// before a restart work after it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { collectionId } from '../../src/taxii/ids.js';
import { CTL } from '../helpers/grid-client.js';
import { TOPIC, indicator, startTaxiiGrid, type TaxiiGrid } from '../helpers/taxii-fixture.js';

const MEDIA = 'application/taxii+json;version=2.1';
const OBJ = `/grid/collections/${collectionId(CTL, TOPIC)}/objects/`;
let g: TaxiiGrid;

before(async () => {
  g = await startTaxiiGrid({ basic: false });
});
after(() => g?.close());

test('paging while items are published: no object skipped, none repeated', async () => {
  const published: string[] = [];
  const envelope = () => {
    const objs = [indicator({ tlp: 'green' }), indicator({ tlp: 'green' }), indicator({ tlp: 'green' })];
    published.push(...objs.map((o) => o.id));
    return { objects: objs };
  };
  for (let i = 0; i < 10; i++) await g.publish('sandbox', TOPIC, envelope());
  let publishing = true;
  const publisher = (async () => {
    // Half over XMPP, half over TAXII POST: both doors feed the same index.
    for (let i = 0; i < 40; i++) {
      if (i % 2) await g.publish('sandbox', TOPIC, envelope());
      else {
        const r = await g.as('sandbox')(OBJ, { method: 'POST', headers: { 'content-type': MEDIA }, body: JSON.stringify(envelope()) });
        assert.equal(r.status, 202);
      }
    }
    publishing = false;
  })();
  const seen: string[] = [];
  let resumeFrom: string | undefined;
  let pages = 0;
  for (;;) {
    const stillPublishing = publishing;
    let next: string | undefined;
    let query = resumeFrom ? `added_after=${resumeFrom}&limit=7` : 'limit=7';
    for (;;) {
      const r = await g.as('soc1')(`${OBJ}?${query}`);
      assert.equal(r.status, 200);
      pages++;
      const body = r.json();
      for (const o of body.objects ?? []) seen.push(o.id);
      if (r.headers['x-taxii-date-added-last']) resumeFrom = String(r.headers['x-taxii-date-added-last']);
      next = body.next;
      if (!body.more) break;
      assert.ok(next, 'more without next would make clients loop forever');
      query = `next=${next}`;
    }
    if (!stillPublishing) break;
  }
  await publisher;
  assert.equal(new Set(seen).size, seen.length, 'no object repeated');
  assert.deepEqual([...seen].sort(), [...published].sort(), 'no object skipped');
  assert.ok(pages > 10);
});

test('a next cursor and a status id survive a restart', async () => {
  const first = (await g.as('soc1')(`${OBJ}?limit=5`)).json();
  assert.ok(first.next);
  const second = (await g.as('soc1')(`${OBJ}?next=${first.next}&limit=5`)).json();
  const post = await g.as('sandbox')(OBJ, { method: 'POST', headers: { 'content-type': MEDIA }, body: JSON.stringify({ objects: [indicator({ tlp: 'clear' })] }) });
  assert.equal(post.status, 202);
  const status = post.json();
  await g.grid.stopController();
  await g.grid.startController();
  const again = (await g.as('soc1')(`${OBJ}?next=${first.next}&limit=5`)).json();
  assert.deepEqual(again.objects.map((o: any) => o.id), second.objects.map((o: any) => o.id));
  const s = await g.as('sandbox')(`/grid/status/${status.id}/`);
  assert.equal(s.status, 200);
  assert.deepEqual(s.json(), status);
  // Without limit, the same cursor gives the default page from the same place.
  const noLimit = (await g.as('soc1')(`${OBJ}?next=${first.next}`)).json();
  assert.deepEqual(noLimit.objects.slice(0, 5).map((o: any) => o.id), second.objects.map((o: any) => o.id));
});
