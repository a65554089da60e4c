// Group: an ordered set of the job's processes, as MPI_Group (README.md, "Groups"). A group
// is local: making one never communicates. Members are kept as world ranks (a process's rank
// in init()'s world, the same on every communicator); a group's own ranks are positions in
// it. comm.group gives a communicator's group, comm.create(group) a communicator of one.
import { OrchidError } from '../errors.js';

export type GroupCompare = 'ident' | 'similar' | 'unequal';

/** A `[first, last, stride]` triplet of group.range() and group.rangeExcl() (MPI_Group_range_incl). */
export type RankRange = readonly [first: number, last: number, stride: number];

export class Group {
  /** number of members */
  readonly size: number;
  /** this process's rank in the group, undefined when it is not a member */
  readonly rank: number | undefined;
  readonly #members: readonly number[];
  readonly #me: number;
  /** world rank -> rank in this group, made on first use */
  #index?: Map<number, number>;

  /** @internal groups come from comm.group and the operations below */
  constructor(members: readonly number[], me: number) {
    this.#members = Object.freeze([...members]);
    this.#me = me;
    this.size = members.length;
    const r = members.indexOf(me);
    this.rank = r < 0 ? undefined : r;
  }

  /** The world rank of each member, in group order. */
  get ranks(): readonly number[] {
    return this.#members;
  }

  /** The members at `ranks` (ranks of this group), in that order (MPI_Group_incl). */
  incl(ranks: readonly number[]): Group {
    return this.#make(this.#ranks('group.incl', ranks).map((r) => this.#members[r]!));
  }

  /** The members not at `ranks`, in this group's order (MPI_Group_excl). */
  excl(ranks: readonly number[]): Group {
    const out = new Set(this.#ranks('group.excl', ranks));
    return this.#make(this.#members.filter((_, r) => !out.has(r)));
  }

  /** The members at the ranks of `[first, last, stride]` triplets, in that order (MPI_Group_range_incl). */
  range(ranges: readonly RankRange[]): Group {
    return this.incl(this.#expand('group.range', ranges));
  }

  /** The members not in the triplets' ranks, in this group's order (MPI_Group_range_excl). */
  rangeExcl(ranges: readonly RankRange[]): Group {
    return this.excl(this.#expand('group.rangeExcl', ranges));
  }

  /** The rank in `other` of the member at each of `ranks`; undefined for one not in `other` (MPI_Group_translate_ranks). */
  translate(ranks: readonly number[], other: Group): (number | undefined)[] {
    const call = 'group.translate';
    checkGroup(call, other, this.#me);
    return this.#ranks(call, ranks, true).map((r) => other.#indexOf(this.#members[r]!));
  }

  /** This group's members, then those of `other` not in it, in their orders (MPI_Group_union). */
  union(other: Group): Group {
    checkGroup('group.union', other, this.#me);
    return this.#make([...this.#members, ...other.#members.filter((w) => this.#indexOf(w) === undefined)]);
  }

  /** This group's members that are in `other`, in this group's order (MPI_Group_intersection). */
  intersection(other: Group): Group {
    checkGroup('group.intersection', other, this.#me);
    return this.#make(this.#members.filter((w) => other.#indexOf(w) !== undefined));
  }

  /** This group's members that are not in `other`, in this group's order (MPI_Group_difference). */
  difference(other: Group): Group {
    checkGroup('group.difference', other, this.#me);
    return this.#make(this.#members.filter((w) => other.#indexOf(w) === undefined));
  }

  /** 'ident': same members in the same order; 'similar': same members; else 'unequal' (MPI_Group_compare). */
  compare(other: Group): GroupCompare {
    checkGroup('group.compare', other, this.#me);
    if (other.size !== this.size) return 'unequal';
    if (this.#members.every((w, i) => other.#members[i] === w)) return 'ident';
    return this.#members.every((w) => other.#indexOf(w) !== undefined) ? 'similar' : 'unequal';
  }

  #make(members: readonly number[]): Group {
    return new Group(members, this.#me);
  }

  #indexOf(world: number): number | undefined {
    this.#index ??= new Map(this.#members.map((w, i) => [w, i]));
    return this.#index.get(world);
  }

  /** `ranks` checked: an Array of distinct ranks of this group (repeats allowed for translate). */
  #ranks(call: string, ranks: unknown, repeats = false): number[] {
    if (!Array.isArray(ranks)) throw new TypeError(`${call}: ranks must be an Array of ranks of the group, got ${describe(ranks)} (called on world rank ${this.#me})`);
    const seen = new Set<number>();
    for (const r of ranks) {
      if (typeof r !== 'number' || !Number.isInteger(r) || r < 0 || r >= this.size)
        throw new OrchidError('ERR_RANK', `${call}: ${describe(r)} is not a rank of this group (size ${this.size}; called on world rank ${this.#me})`);
      if (!repeats && seen.has(r)) throw new OrchidError('ERR_RANK', `${call}: rank ${r} is given twice (called on world rank ${this.#me})`);
      seen.add(r);
    }
    return ranks as number[];
  }

  /** The ranks that `[first, last, stride]` triplets stand for, in order. */
  #expand(call: string, ranges: unknown): number[] {
    if (!Array.isArray(ranges)) throw new TypeError(`${call}: expected an Array of [first, last, stride] triplets, got ${describe(ranges)} (called on world rank ${this.#me})`);
    const out: number[] = [];
    for (const t of ranges) {
      if (!Array.isArray(t) || t.length !== 3 || !t.every((x) => typeof x === 'number' && Number.isInteger(x)))
        throw new TypeError(`${call}: ${describe(t)} is not a [first, last, stride] triplet of integers (called on world rank ${this.#me})`);
      const [first, last, stride] = t as [number, number, number];
      if (stride === 0) throw new OrchidError('ERR_ARG', `${call}: [${t.join(', ')}] has stride 0 (called on world rank ${this.#me})`);
      if ((stride > 0 && first > last) || (stride < 0 && first < last))
        throw new OrchidError('ERR_ARG', `${call}: [${t.join(', ')}] never reaches ${last} from ${first} with stride ${stride} (called on world rank ${this.#me})`);
      for (let r = first; stride > 0 ? r <= last : r >= last; r += stride) {
        if (r < 0 || r >= this.size)
          throw new OrchidError('ERR_RANK', `${call}: [${t.join(', ')}] holds ${r}, not a rank of this group (size ${this.size}; called on world rank ${this.#me})`);
        out.push(r);
      }
    }
    return out;
  }
}

function checkGroup(call: string, g: unknown, me: number): asserts g is Group {
  if (!(g instanceof Group)) throw new TypeError(`${call}: expected a Group (comm.group or one made from it), got ${describe(g)} (called on world rank ${me})`);
}

export function describe(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x) => (typeof x === 'number' ? String(x) : typeof x)).join(', ')}]`;
  if (v === null) return 'null';
  return typeof v === 'number' || typeof v === 'boolean' ? String(v) : typeof v;
}
