// Conformance checks, values of the program's own classes: registerClass() (default and
// custom encode/decode, nested, in collectives), a class the receiver did not register, an
// unregistered subclass, and cyclic values: a TypeError naming the call and the rank, before
// anything is sent.
import assert from 'node:assert/strict';
import { ANY_SOURCE, registerClass } from 'orchid-mpi';
import { rejects } from './common.mjs';

class Vec {
  constructor(x, y) {
    this.x = x;
    this.y = y;
  }
  norm() {
    return Math.hypot(this.x, this.y);
  }
}

class Money {
  #cents;
  constructor(cents) {
    this.#cents = cents;
  }
  get cents() {
    return this.#cents;
  }
}

class Sub extends Vec {}

// registered on every rank, as a program does at its top
registerClass(Vec);
registerClass(Money, { encode: (m) => String(m.cents), decode: (s) => new Money(Number(s)) });

const ring = (w) => [(w.rank + 1) % w.size, (w.rank - 1 + w.size) % w.size];

export const classes = [
  ['registerClass: instances arrive as instances, in point to point and collectives', async (w) => {
    const [right, left] = ring(w);
    const value = { v: new Vec(3, w.rank), list: [new Vec(1, 1), new Money(1234 + w.rank)], m: new Map([['k', new Vec(0, 2)]]) };
    const [, got] = await Promise.all([w.send(value, right, 71), w.recv(left, 71)]);
    assert.ok(got.v instanceof Vec);
    assert.equal(got.v.y, left);
    assert.equal(got.list[0].norm(), Math.SQRT2);
    assert.ok(got.list[1] instanceof Money);
    assert.equal(got.list[1].cents, 1234 + left, 'a private field through encode/decode');
    assert.ok(got.m.get('k') instanceof Vec);
    const b = await w.bcast(w.rank === 0 ? new Vec(5, 12) : undefined, 0);
    assert.ok(b instanceof Vec);
    assert.equal(b.norm(), 13);
    const all = await w.allgather(new Vec(w.rank, 0));
    assert.ok(all.every((v, i) => v instanceof Vec && v.x === i));
    const sum = await w.allreduce(new Vec(w.rank, 1), (a, c) => new Vec(a.x + c.x, a.y + c.y));
    assert.ok(sum instanceof Vec);
    assert.equal(sum.y, w.size);
  }],

  ['registerClass: a subclass that is not registered, bad registrations', async (w) => {
    await rejects(w.send(new Sub(1, 2), w.rank, 72), 'TypeError', /send: .*Sub.*extends the registered class Vec.*not registered itself/);
    assert.throws(() => registerClass(Map), TypeError);
    assert.throws(() => registerClass(() => 1), TypeError);
    assert.throws(() => registerClass(class extends Uint8Array {}), TypeError);
    assert.throws(() => registerClass(class Vec {}), /another class is registered as Vec/);
    assert.throws(() => registerClass(class {}), /needs \{ name \}/);
    assert.equal(w.iprobe(ANY_SOURCE, 72), undefined);
  }],

  ['registerClass: an instance of a class the receiver did not register is an error naming it', async (w) => {
    if (w.size === 1) return;
    class OnlyOnZero {
      constructor() {
        this.a = 1;
      }
    }
    if (w.rank === 0) registerClass(OnlyOnZero, { name: 'OnlyOnZero' });
    if (w.rank === 0) await w.send(new OnlyOnZero(), 1, 73);
    if (w.rank === 1) await rejects(w.recv(0, 73), 'ERR_TRANSPORT', /recv: rank 1 could not decode a message from rank 0: .*class OnlyOnZero, which is not registered on this rank/);
    await w.barrier();
  }],

  ['cyclic values: a TypeError naming the call and the rank, nothing sent', async (w) => {
    const [right] = ring(w);
    const a = { name: 'a', child: { list: [] } };
    a.child.list.push(a);
    const re = (call) => new RegExp(`^${call}: cannot send a cyclic value: value\\.child\\.list\\[0\\] is value again .*\\(on world rank \\d+\\)$`);
    await rejects(w.send(a, right, 74), 'TypeError', re('send'));
    assert.throws(() => w.isend(a, right, 74), (e) => e instanceof TypeError && re('isend').test(e.message));
    await rejects(w.sendrecv(a, right, ANY_SOURCE, 74, 75), 'TypeError', re('sendrecv'));
    const m = new Map();
    m.set('self', [m]);
    await rejects(w.send(m, right, 74), 'TypeError', /send: cannot send a cyclic value: value\.get\("self"\)\[0\] is value again/);
    const v = new Vec(1, 2);
    v.x = { back: v };
    await rejects(w.send(v, right, 74), 'TypeError', /send: cannot send a cyclic value: value\.x\.back is value again/);
    // collectives: every member fails, with the call's name
    await rejects(w.bcast(w.rank === 0 ? a : undefined, 0), 'TypeError', /bcast/);
    await rejects(w.allgather(w.rank === 0 ? a : 1), 'TypeError', /allgather/);
    await w.barrier();
    assert.equal(w.iprobe(ANY_SOURCE, 74), undefined, 'something was sent');
    // a deep value that is not cyclic is its own error; shared (acyclic) references travel
    let deep = {};
    for (let i = 0; i < 200_000; i++) deep = { d: deep };
    await rejects(w.send(deep, right, 74), 'TypeError', /send: the value is nested too deeply to send/);
    const shared = { s: 1 };
    const [, got] = await Promise.all([w.send([shared, shared], right, 76), w.recv(ANY_SOURCE, 76)]);
    assert.deepEqual(got, [{ s: 1 }, { s: 1 }]);
  }],
];
