// Conformance checks, groups: comm.group, the group operations with MPI's ordering rules,
// translate between the groups of different communicators, comm.create() (members ranked in
// the group's order, null elsewhere), bad ranks and bad groups. Any world size >= 1.
import assert from 'node:assert/strict';
import { Group } from 'orchid-mpi';
import { range, rejects } from './common.mjs';

export const groups = [
  ['group: comm.group and incl/excl/range/union/intersection/difference/compare', async (w) => {
    const n = w.size;
    const g = w.group;
    assert.ok(g instanceof Group);
    assert.equal(g.size, n);
    assert.equal(g.rank, w.rank);
    assert.deepEqual(g.ranks, range(n));
    assert.equal(w.group, g, 'the same Group every time');
    const rev = g.incl(range(n).reverse());
    assert.deepEqual(rev.ranks, range(n).reverse());
    assert.equal(rev.rank, n - 1 - w.rank);
    const evens = g.incl(range(n).filter((r) => r % 2 === 0));
    const odds = g.excl(range(n).filter((r) => r % 2 === 0));
    assert.deepEqual(odds.ranks, range(n).filter((r) => r % 2 === 1));
    assert.equal(evens.rank, w.rank % 2 === 0 ? w.rank / 2 : undefined);
    assert.deepEqual(g.range([[0, n - 1, 2]]).ranks, evens.ranks);
    assert.deepEqual(g.range([[n - 1, 0, -1]]).ranks, rev.ranks);
    assert.deepEqual(g.rangeExcl([[0, n - 1, 2]]).ranks, odds.ranks);
    assert.equal(g.range([]).size, 0);
    assert.equal(g.excl(range(n)).rank, undefined);
    // union: this group's order, then the other's new members in its order
    assert.deepEqual(odds.union(rev).ranks, [...odds.ranks, ...rev.ranks.filter((r) => r % 2 === 0)]);
    assert.deepEqual(rev.intersection(evens).ranks, rev.ranks.filter((r) => r % 2 === 0));
    assert.deepEqual(rev.difference(evens).ranks, rev.ranks.filter((r) => r % 2 === 1));
    assert.equal(evens.intersection(odds).size, 0);
    assert.equal(g.compare(w.group), 'ident');
    assert.equal(g.compare(rev), n > 1 ? 'similar' : 'ident');
    assert.equal(g.compare(evens), n > 1 ? 'unequal' : 'ident');
    // translate: ranks of one group in another, undefined where a process is not in it
    assert.deepEqual(rev.translate(range(n), g), range(n).reverse());
    assert.deepEqual(g.translate(range(n), evens), range(n).map((r) => (r % 2 === 0 ? r / 2 : undefined)));
    // the groups of split(), dup() and splitShared() hold their members' world ranks, in rank order
    const half = await w.split(w.rank % 2, -w.rank);
    assert.deepEqual(half.group.ranks, range(n).filter((r) => r % 2 === w.rank % 2).reverse());
    assert.deepEqual((await half.dup()).group.ranks, half.group.ranks);
    const hosts = await w.allgather(w.hostname);
    const node = await w.splitShared();
    assert.deepEqual(node.group.ranks, range(n).filter((r) => hosts[r] === w.hostname));
    assert.deepEqual(node.group.translate([node.rank], g), [w.rank]);
  }],

  ['group: bad ranks are ERR_RANK naming the call', async (w) => {
    const g = w.group;
    const n = w.size;
    const fails = (f, code, re) => assert.throws(f, (e) => (code === 'TypeError' ? e instanceof TypeError : e.code === code) && re.test(e.message));
    fails(() => g.incl([n]), 'ERR_RANK', /group\.incl: .*not a rank of this group/);
    fails(() => g.incl([0, 0]), 'ERR_RANK', /group\.incl: rank 0 is given twice/);
    fails(() => g.excl([-1]), 'ERR_RANK', /group\.excl/);
    fails(() => g.incl([0.5]), 'ERR_RANK', /group\.incl/);
    fails(() => g.translate([n], g), 'ERR_RANK', /group\.translate/);
    fails(() => g.range([[0, n, 1]]), 'ERR_RANK', /group\.range/);
    fails(() => g.range([[0, 0, 0]]), 'ERR_ARG', /stride 0/);
    fails(() => g.range([[1, 0, 1]]), 'ERR_ARG', /group\.range/);
    fails(() => g.incl('0'), 'TypeError', /group\.incl/);
    fails(() => g.union([0]), 'TypeError', /group\.union: expected a Group/);
  }],

  ['create: members get a communicator in the group\'s order, the others null', async (w) => {
    const n = w.size;
    const g = w.group;
    const rev = await w.create(g.incl(range(n).reverse()));
    assert.equal(rev.size, n);
    assert.equal(rev.rank, n - 1 - w.rank);
    assert.deepEqual(rev.group.ranks, range(n).reverse());
    assert.deepEqual(await rev.allgather(w.rank), range(n).reverse());
    const evens = g.incl(range(n).filter((r) => r % 2 === 0));
    const ec = await w.create(evens);
    if (w.rank % 2 === 1) assert.equal(ec, null);
    else {
      assert.equal(ec.size, evens.size);
      assert.equal(ec.rank, w.rank / 2);
      assert.equal(await ec.allreduce(w.rank), evens.ranks.reduce((a, b) => a + b, 0));
      // a group of a sub-communicator: its ranks are world ranks, translate maps back
      assert.deepEqual(ec.group.ranks, evens.ranks);
      assert.deepEqual(ec.group.translate(range(ec.size), w.group), evens.ranks);
      const top = await ec.create(ec.group.incl([ec.size - 1]));
      if (ec.rank === ec.size - 1) assert.equal(top.size, 1);
      else assert.equal(top, null);
    }
    // disjoint groups, each passed by its members: one communicator each (MPI-2.2)
    const mine = w.rank % 2 === 0 ? evens : g.excl(evens.ranks);
    const both = await w.create(mine);
    assert.equal(both.size, mine.size);
    assert.deepEqual(await both.allgather(w.rank), mine.ranks);
    // the empty group
    assert.equal(await w.create(g.excl(range(n))), null);
  }],

  ['create: bad groups fail, none hangs', async (w) => {
    await rejects(w.create([0]), 'TypeError', /create: expected a Group/);
    if (w.size > 1) {
      // a group with processes that are not members of the communicator
      const half = await w.split(w.rank === 0 ? 0 : 1);
      await rejects(half.create(w.group), 'ERR_RANK', /create: the group holds world rank \d+, which is not a member/);
      // members that pass different groups
      const g = w.group;
      const mine = w.rank === 0 ? g.incl([0]) : g;
      const p = w.create(mine);
      if (w.rank === 0) assert.equal((await p).size, 1, 'rank 0 alone passed {0}: a communicator of one');
      else await rejects(p, 'ERR_COLLECTIVE', /create: rank \d+ passed a group of \d+ ranks, but world rank 0 of it passed a different group/);
    }
    assert.equal(await w.allreduce(1), w.size, 'the world works afterwards');
  }],
];
