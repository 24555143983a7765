// CRL files watched while the controller runs: a replaced CRL takes effect, a bad change never
// drops revocations (the file's last good CRL stays), and the first read still fails loudly.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCa, createCrl } from '../../src/identity/issue.js';
import { TrustWatcher } from '../../src/identity/trust-watch.js';
import { TrustError } from '../../src/identity/trust.js';
import type { Trust } from '../../src/identity/types.js';
import { tempDir, testPki } from '../helpers/pki.js';

const tmp = tempDir('trust-watch-');
after(() => tmp.cleanup());
let n = 0;
const watchers: TrustWatcher[] = [];
after(() => watchers.forEach((w) => w.stop()));

function setup(crlPem: string) {
  const { ca } = testPki();
  const dir = join(tmp.dir, `d${n++}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'ca.crt'), ca.certPem);
  const crl = join(dir, 'trust.crl');
  writeFileSync(crl, crlPem);
  const w = new TrustWatcher({ ca: [join(dir, 'ca.crt')], crl: [crl], identity: 'xmppaddr' }, undefined, 20);
  watchers.push(w);
  return { ca, dir, crl, w };
}

type Outcome = { event: 'change'; trust: Trust } | { event: 'rejected'; errors: { file: string; reason: string }[] };
function next(w: TrustWatcher): Promise<Outcome> {
  return new Promise((resolve) => {
    const onChange = (trust: Trust) => { w.off('rejected', onRejected); resolve({ event: 'change', trust }); };
    const onRejected = (errors: { file: string; reason: string }[]) => { w.off('change', onChange); resolve({ event: 'rejected', errors }); };
    w.once('change', onChange);
    w.once('rejected', onRejected);
  });
}
const serials = (t: Trust) => t.crls.flatMap((c) => [...c.revokedSerials]).sort();

test('a CRL replaced by rename takes effect; a broken or foreign replacement keeps the last good one', async () => {
  const { ca, dir, crl, w } = setup(createCrl(testPki().ca, ['A']));
  assert.deepEqual(serials(w.start()), ['A']);

  let o = next(w);
  writeFileSync(join(dir, 'trust.crl.tmp'), createCrl(ca, ['A', 'B']));
  renameSync(join(dir, 'trust.crl.tmp'), crl);
  let r = await o;
  assert.equal(r.event, 'change');
  assert.deepEqual(serials(w.current()), ['A', 'B']);

  // Half-written: the PEM block is cut, so nothing parses.
  o = next(w);
  const whole = createCrl(ca, ['A', 'B', 'C']);
  writeFileSync(crl, whole.slice(0, whole.length / 2));
  r = await o;
  assert.equal(r.event, 'rejected');
  assert.deepEqual(serials(w.current()), ['A', 'B'], 'the revocations in force stay');

  // Signed by another key under the same name: does not verify with the trust anchor.
  o = next(w);
  const impostor = createCa({ O: 'Test Grid', CN: 'Test Grid Root' });
  writeFileSync(crl, createCrl(impostor, []));
  r = await o;
  assert.equal(r.event, 'rejected');
  assert.match(r.event === 'rejected' ? r.errors[0]!.reason : '', /does not verify/);

  // A CRL of another issuer instead of ours: would drop our revocations.
  o = next(w);
  writeFileSync(crl, createCrl(createCa({ O: 'Other', CN: 'Other Root' }), []));
  r = await o;
  assert.equal(r.event, 'rejected');
  assert.match(r.event === 'rejected' ? r.errors[0]!.reason : '', /no longer holds the CRL of/);
  assert.deepEqual(serials(w.current()), ['A', 'B']);

  // The completed file applies.
  o = next(w);
  writeFileSync(crl, whole);
  r = await o;
  assert.equal(r.event, 'change');
  assert.deepEqual(serials(w.current()), ['A', 'B', 'C']);
});

test('an unreadable CRL at start is a TrustError naming the file', () => {
  const { crl, w } = setup('not a CRL');
  assert.throws(() => w.start(), (e: unknown) => e instanceof TrustError && e.message.startsWith(crl));
});
