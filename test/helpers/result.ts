// Reading a Result in a test: the value (asserting there is one, else failing with the reason),
// or the refusal (asserting there is one).
import assert from 'node:assert/strict';
import { isFail, type Fail, type Result } from '../../src/result.js';

export function valueOf<T>(r: Result<T>): T {
  assert.ok(!isFail(r), isFail(r) ? `refused: ${r.fail}: ${r.text ?? ''}` : '');
  return r.value;
}

export function failOf<T>(r: Result<T>): Fail {
  assert.ok(isFail(r), `expected a refusal, got ${JSON.stringify(r).slice(0, 200)}`);
  return r;
}

export { isFail };
