import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileNameToTopic, topicToFileName } from '../../src/store/names.js';

test('topic names map to safe, distinct file names and back', () => {
  const cases: [string, string][] = [
    ['threat-intel/indicators', 'threat-intel%2Findicators.log'],
    ['a.b_c-d~e', 'a.b_c-d%7Ee.log'],
    ['Ab', '%41b.log'],
    ['ab', 'ab.log'],
    ['%41b', '%2541b.log'],
    ['é', '%C3%A9.log'],
    ['..', '...log'],
  ];
  for (const [topic, file] of cases) {
    assert.equal(topicToFileName(topic), file, topic);
    assert.equal(fileNameToTopic(file), topic, file);
    assert.ok(!file.slice(0, -4).includes('/'));
  }
});

test('file names that are not ours are not topics', () => {
  for (const name of ['notes.txt', 'Ab.log', '%zz.log', 'a%2f.log', '.log', 'x.log.torn-1', 'x.log.compact-tmp']) {
    assert.equal(fileNameToTopic(name), undefined, name);
  }
});

test('empty and over-long topic names are refused with the reason', () => {
  assert.throws(() => topicToFileName(''), /empty/);
  assert.throws(() => topicToFileName('/'.repeat(100)), /too long.*300 bytes/);
});
