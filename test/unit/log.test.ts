import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/log.js';
import { createCa } from '../../src/identity/issue.js';

function capture() {
  const lines: string[] = [];
  const dest = new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } });
  return { log: createLogger({ level: 'debug', destination: dest as never }), lines };
}

test('private keys and PEMs never reach a log line, at any depth or inside strings', () => {
  const { keyPem, certPem } = createCa();
  const { log, lines } = capture();
  log.info({ keyPem, nested: { deeper: { key: 'k' } }, secret: 's3cret' }, 'one');
  log.warn({ err: new Error(`could not parse ${keyPem}`), reason: `bad certificate: ${certPem}` }, 'two');
  log.error(`message text with ${keyPem}`);
  const all = lines.join('');
  assert.equal(lines.length, 3);
  assert.doesNotMatch(all, /BEGIN PRIVATE KEY|BEGIN CERTIFICATE|s3cret/);
  assert.doesNotMatch(all, new RegExp(keyPem.split('\n')[1]!.slice(0, 30).replace(/[+/]/g, '.')));
  assert.match(all, /\[pem redacted\]/);
  assert.match(all, /\[redacted\]/);
});
