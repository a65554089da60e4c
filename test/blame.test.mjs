// The launcher's failure rules without processes (src/launcher/blame.ts): how a rank's exit
// reads in the summary line, and which rank is blamed when one fails because of another.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeRankError, earlyLeaver, isVictim, rankFailure } from '../dist/launcher/blame.js';

const rank = (over = {}) => ({ host: 'node1', exited: true, ...over });

test('an uncaught error is quoted by name, code, message and place, not the last stderr line', () => {
  const ranks = [rank({ lastErr: '}', error: { name: 'OrchidError', code: 'ERR_RANK', message: 'send: destination 8 …', at: '/p.mjs:12:9' } })];
  const f = rankFailure(ranks, 0, 1, null, undefined);
  assert.equal(f.code, 1);
  assert.equal(f.message, 'rank 0 on host node1 exited with code 1 after an uncaught OrchidError (ERR_RANK): send: destination 8 … (at /p.mjs:12:9)');
  assert.doesNotMatch(f.message, /"}"/);
});

test('without an error report: the signal (128+n) or the code, with the last stderr line as a hint', () => {
  assert.equal(rankFailure([rank()], 0, null, 'SIGKILL', undefined).code, 137);
  const f = rankFailure([rank({ lastErr: 'boom' })], 0, 3, null, undefined);
  assert.equal(f.code, 3);
  assert.equal(f.message, 'rank 0 on host node1 exited with code 3 (last stderr line: "boom")');
  assert.equal(rankFailure([rank()], 0, null, null, 'could not be started: no such file').code, 127);
});

test('a rank that failed with ERR_PEER_LOST is a victim; the rank that left early with code 0 is blamed', () => {
  const ranks = [
    rank({ error: { name: 'OrchidError', code: 'ERR_PEER_LOST', message: 'recv: rank 0 lost rank 1' } }),
    rank({ host: 'node2', code: 0 }),
  ];
  assert.equal(isVictim(ranks[0]), true);
  assert.equal(isVictim(rank({ error: { name: 'TypeError', message: 'x' } })), false);
  const f = earlyLeaver(ranks, 0, rankFailure(ranks, 0, 1, null, undefined));
  assert.equal(f.failed.rank, 1);
  assert.match(f.message, /^rank 1 on host node2 exited with code 0 while the others still needed it .*; rank 0 then failed with OrchidError \(ERR_PEER_LOST\)/);
  assert.equal(earlyLeaver([ranks[0], rank({ exited: false })], 0, f), undefined);
});

test('long messages are cut', () => {
  assert.ok(describeRankError({ name: 'Error', message: 'x'.repeat(1000) }).length < 320);
});
