// The web console's pure parts: the escaping template (hostile JIDs, topic names, filter
// values and audit fields stay text), the pages built with it, the CSRF token and Origin
// check, and the bounded audit ring.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { html, escapeHtml, Html } from '../../src/console/html.js';
import { auditPage, nodesPage, pendingPage, topicsPage, layout } from '../../src/console/pages.js';
import { Csrf, sameOrigin } from '../../src/console/csrf.js';
import { AuditRing } from '../../src/admin/audit-ring.js';
import type { NodeRow, PendingRow, TopicRow } from '../../src/console/views.js';

const EVIL = `"><script>alert(1)</script><img src=x onerror='alert(2)'>&amp;\``;
const ESCAPED = '&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&#39;alert(2)&#39;&gt;&amp;amp;&#96;';

/** No markup from `evil` survives: no tag, no attribute break-out. */
function assertInert(page: string): void {
  assert.ok(!page.includes('<script'), 'no script element');
  assert.ok(!page.includes('<img'), 'no img element');
  assert.ok(!/onerror=['"]?alert/.test(page.replace(/onerror=&#39;/g, '')), 'no live handler attribute');
  assert.ok(page.includes(ESCAPED), 'the text is there, escaped');
}

test('html``: values are escaped, Html is kept, arrays join, nothing renders as nothing', () => {
  assert.equal(escapeHtml(EVIL), ESCAPED);
  const inner = html`<b>${'a<b'}</b>`;
  assert.equal(html`<p title="${EVIL}">${inner}${[1, '<', null, undefined, false]}</p>`.value, `<p title="${ESCAPED}"><b>a&lt;b</b>1&lt;</p>`);
  assert.ok(inner instanceof Html);
  // A string that looks like markup is still a string.
  assert.equal(html`${'<i>x</i>'}`.value, '&lt;i&gt;x&lt;/i&gt;');
});

const node: NodeRow = { jid: `n${EVIL}@grid.test`, state: 'approved', groups: [EVIL], requested: [EVIL], deviceType: EVIL, online: true, lastSeen: null, decidedBy: `admin:${EVIL}`, decidedAt: '2026-01-01T00:00:00.000Z' };

test('pages: hostile JIDs, groups, device types, certificate names stay text', () => {
  assertInert(layout(EVIL, 'nodes', EVIL, nodesPage([node])).value);
  const pending: PendingRow = { ...node, state: 'pending', description: EVIL, certSubject: `CN=${EVIL}`, certIssuer: EVIL, fingerprint: EVIL, notAfter: '2027-01-01T00:00:00.000Z', since: '2026-01-01T00:00:00.000Z' };
  const page = pendingPage([pending], `tok${EVIL}`).value;
  assertInert(page);
  // The JID rides in a hidden field of each form, as an attribute that cannot break out.
  assert.equal(page.match(/<input type="hidden" name="jid" value="n&quot;&gt;&lt;script&gt;/g)?.length, 2);
  assert.match(page, /<form method="post" action="\/admin\/accounts\/approve">/);
});

test('pages: hostile topic names, subtopic filters and audit fields stay text', () => {
  const topic: TopicRow = {
    name: `t/${EVIL}`, title: EVIL, contentType: 'application/stix+json;version=2.1', filtering: 'controller', filterFields: { [EVIL]: 'x' }, source: 'create',
    subscribers: 1, subtopics: [{ node: `t/${EVIL}/filtered/ab`, filter: { [EVIL]: [EVIL] }, subscribers: 1 }],
    items: 2, maxItems: 10, lastHour: 1, lastDay: 2, lastPublished: null, publishedBy: [EVIL],
  };
  const tp = topicsPage([topic]).value;
  assertInert(tp);
  assert.ok(tp.includes(`href="/admin/topics#t%2F%22%3E%3Cscript%3E`), 'the anchor is URL-encoded, then escaped');
  const ring = new AuditRing(5);
  ring.add(EVIL, { jid: EVIL, reason: EVIL });
  assertInert(auditPage(ring.recent(), ring.total).value);
});

test('csrf: a token is bound to its session and its admin; Origin must be this server', () => {
  const c = new Csrf();
  const s = c.newSession();
  assert.ok(c.isSession(s));
  const t = c.token(s, 'admin@grid.test');
  assert.ok(c.check(s, 'admin@grid.test', t));
  assert.ok(!c.check(s, 'other@grid.test', t), 'another admin');
  assert.ok(!c.check(c.newSession(), 'admin@grid.test', t), 'another session');
  assert.ok(!c.check(undefined, 'admin@grid.test', t), 'no cookie');
  assert.ok(!c.check(s, 'admin@grid.test', undefined), 'no token');
  assert.ok(!c.check(s, 'admin@grid.test', [t]), 'a repeated field');
  assert.ok(!new Csrf().check(s, 'admin@grid.test', t), 'another process (a restart)');
  assert.ok(!c.isSession('../../etc'));
  assert.ok(sameOrigin('https://127.0.0.1:8443', '127.0.0.1:8443'));
  assert.ok(!sameOrigin('https://evil.example', '127.0.0.1:8443'));
  assert.ok(!sameOrigin('http://127.0.0.1:8443', '127.0.0.1:8443'), 'not https');
  assert.ok(!sameOrigin(undefined, '127.0.0.1:8443'));
  assert.ok(!sameOrigin('null', '127.0.0.1:8443'));
  assert.ok(sameOrigin('https://grid.example', '10.0.0.1:8443', 'https://grid.example/taxii2/'), 'the public URL');
});

test('audit ring: the newest first, bounded by count and by field size; a copy of the fields', () => {
  let t = 0;
  const ring = new AuditRing(3, () => new Date(Date.UTC(2026, 0, 1, 0, 0, t++)));
  const f = { jid: 'a@g', n: 0 };
  for (let i = 0; i < 5; i++) ring.add(`e${i}`, { ...f, n: i });
  assert.deepEqual(ring.recent().map((e) => e.event), ['e4', 'e3', 'e2']);
  assert.deepEqual(ring.recent(2).map((e) => [e.event, e.fields.n]), [['e4', 4], ['e3', 3]]);
  assert.equal(ring.total, 5);
  const mutable = { jid: 'b@g', groups: ['x'] };
  ring.add('copy', mutable);
  mutable.groups.push('y');
  assert.deepEqual(ring.recent(1)[0]!.fields, { jid: 'b@g', groups: ['x'] });
  ring.add('big', { blob: 'x'.repeat(10_000) });
  const big = ring.recent(1)[0]!.fields as { truncated: string };
  assert.ok(big.truncated.length < 2100);
  ring.add('odd', { n: 1n } as unknown as Record<string, unknown>);
  assert.deepEqual(ring.recent(1)[0]!.fields, { unserialisable: true });
  assert.equal(ring.recent().length, 3);
});

test('the console is a door: nothing it imports, however indirectly, is src/xmpp, src/taxii or the CLI', async () => {
  const { readFileSync } = await import('node:fs');
  const { dirname, join, relative, resolve } = await import('node:path');
  const root = resolve('src');
  const seen = new Set<string>();
  const walk = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'/gm)) walk(join(dirname(file), m[1]!.replace(/\.js$/, '.ts')));
  };
  walk(join(root, 'console/index.ts'));
  const reached = [...seen].map((f) => relative(root, f));
  assert.ok(reached.includes('console/plugin.ts') && reached.includes('https/index.ts'), 'the walk follows imports');
  assert.deepEqual(reached.filter((f) => /^(xmpp|taxii|cli)\//.test(f)), []);
});
