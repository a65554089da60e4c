// hpcc's two files: its input, hpccinf.txt (HPL.dat's lines and PTRANS's), and its summary,
// hpccoutf.txt, parsed into the numbers the bench reports and HPL's residual check.

export interface HpccSummary {
  HPL_Tflops: number;
  HPL_N: number;
  HPL_NB: number;
  HPL_nprow: number;
  HPL_npcol: number;
  HPL_time: number;
  StarDGEMM_Gflops: number;
  SingleDGEMM_Gflops: number;
  StarSTREAM_Triad: number;
  SingleSTREAM_Triad: number;
  PTRANS_GBs: number;
  MPIRandomAccess_GUPs: number;
  StarRandomAccess_GUPs: number;
  RandomlyOrderedRingLatency_usec: number;
  RandomlyOrderedRingBandwidth_GBytes: number;
  NaturallyOrderedRingLatency_usec: number;
  NaturallyOrderedRingBandwidth_GBytes: number;
  CommWorldProcs: number;
  /** HPL ran and its scaled residual passed the check (every HPL test of the run) */
  hplPassed: boolean;
  /** HPL's scaled residual ||Ax-b||_oo / (eps (||A||_oo ||x||_oo + ||b||_oo) N), null if unknown */
  hplResidual: number | null;
  /** the threshold it is checked against (hpccinf.txt line 13) */
  hplThreshold: number;
  /** hpcc's Success=1: every test of the run passed its own check */
  success: boolean;
  /** every Key=Value of the summary section (numbers where the value is one) */
  all: Record<string, number | string>;
}

/** The summary keys parseHpccOutput requires (typed fields of HpccSummary). */
export const HPCC_KEYS = [
  'HPL_Tflops',
  'HPL_N',
  'HPL_NB',
  'HPL_nprow',
  'HPL_npcol',
  'HPL_time',
  'StarDGEMM_Gflops',
  'SingleDGEMM_Gflops',
  'StarSTREAM_Triad',
  'SingleSTREAM_Triad',
  'PTRANS_GBs',
  'MPIRandomAccess_GUPs',
  'StarRandomAccess_GUPs',
  'RandomlyOrderedRingLatency_usec',
  'RandomlyOrderedRingBandwidth_GBytes',
  'NaturallyOrderedRingLatency_usec',
  'NaturallyOrderedRingBandwidth_GBytes',
  'CommWorldProcs',
] as const;

type Key = (typeof HPCC_KEYS)[number];

/** A positive integer, or a RangeError naming `what`. */
export function positiveInt(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw new RangeError(`hpcc: ${what} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * hpccinf.txt: HPL.dat's 31 lines (one N, one NB, one row-major P x Q grid, HPL's usual
 * panel/broadcast settings, threshold 16.0), then hpcc's PTRANS lines with no additional
 * sizes: PTRANS then runs at N/2 (its two matrices together take the memory of HPL's one),
 * and STREAM, RandomAccess, FFT and DGEMM size themselves from HPL's memory (8 N^2 / PQ bytes
 * per process), so the whole run scales with N. Lines 1-4 and 32 are not read; hpcc reads
 * 82 characters of a line at most.
 */
export function hpccInput(o: { n: number; nb: number; p: number; q: number; tag?: string }): string {
  const n = positiveInt(o.n, 'N');
  const nb = positiveInt(o.nb, 'NB');
  const p = positiveInt(o.p, 'P');
  const q = positiveInt(o.q, 'Q');
  const row = (value: string | number, comment: string) => `${String(value).padEnd(12)} ${comment}`;
  const tag = (o.tag ?? 'orchid bench').replace(/[\r\n]/g, ' ').slice(0, 78);
  return [
    'HPLinpack benchmark input file',
    tag,
    row('HPL.out', 'output file name (if any)'),
    row(6, 'device out (6=stdout,7=stderr,file)'),
    row(1, '# of problems sizes (N)'),
    row(n, 'Ns'),
    row(1, '# of NBs'),
    row(nb, 'NBs'),
    row(0, 'PMAP process mapping (0=Row-,1=Column-major)'),
    row(1, '# of process grids (P x Q)'),
    row(p, 'Ps'),
    row(q, 'Qs'),
    row('16.0', 'threshold'),
    row(1, '# of panel fact'),
    row(2, 'PFACTs (0=left, 1=Crout, 2=Right)'),
    row(1, '# of recursive stopping criterium'),
    row(4, 'NBMINs (>= 1)'),
    row(1, '# of panels in recursion'),
    row(2, 'NDIVs'),
    row(1, '# of recursive panel fact.'),
    row(1, 'RFACTs (0=left, 1=Crout, 2=Right)'),
    row(1, '# of broadcast'),
    row(1, 'BCASTs (0=1rg,1=1rM,2=2rg,3=2rM,4=Lng,5=LnM)'),
    row(1, '# of lookahead depth'),
    row(1, 'DEPTHs (>=0)'),
    row(2, 'SWAP (0=bin-exch,1=long,2=mix)'),
    row(64, 'swapping threshold'),
    row(0, 'L1 in (0=transposed,1=no-transposed) form'),
    row(0, 'U  in (0=transposed,1=no-transposed) form'),
    row(1, 'Equilibration (0=no,1=yes)'),
    row(8, 'memory alignment in double (> 0)'),
    '##### This line (no. 32) is ignored (it serves as a separator). ######',
    row(0, 'Number of additional problem sizes for PTRANS'),
    row(Math.max(1, Math.floor(n / 2)), 'values of N (none read: PTRANS runs at N/2)'),
    row(0, 'number of additional blocking sizes for PTRANS'),
    row(nb, 'values of NB (none read: PTRANS uses NB)'),
    '',
  ].join('\n');
}

function sectionOf(text: string, name: string): string | null {
  const begin = text.lastIndexOf(`Begin of ${name} section.`);
  if (begin < 0) return null;
  const end = text.indexOf(`End of ${name} section.`, begin);
  return end < 0 ? null : text.slice(begin, end);
}

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

/** Parse hpccoutf.txt: its (last) summary section, and HPL's residual check. */
export function parseHpccOutput(text: string): HpccSummary {
  const begin = text.lastIndexOf('Begin of Summary section.');
  if (begin < 0) {
    const sections = [...text.matchAll(/^Begin of (\S+) section\./gm)].map((m) => m[1]);
    const last = sections.at(-1);
    throw new Error(
      `hpccoutf.txt has no summary section ("Begin of Summary section." not found): hpcc did not finish` +
        (last ? ` (the last section it began: ${last}${text.includes(`End of ${last} section.`) ? '' : ', not ended'})` : text.trim() ? '' : ' (the file is empty)'),
    );
  }
  const end = text.indexOf('End of Summary section.', begin);
  if (end < 0) throw new Error('hpccoutf.txt: the summary section is incomplete ("End of Summary section." not found): the file was cut short');
  const all: Record<string, number | string> = {};
  for (const line of text.slice(begin, end).split('\n').slice(1)) {
    const i = line.indexOf('=');
    if (i <= 0) continue;
    const key = line.slice(0, i).trim();
    const value = line.slice(i + 1).trim();
    all[key] = NUMBER.test(value) ? Number(value) : value;
  }
  const missing = HPCC_KEYS.filter((k) => all[k] === undefined);
  if (missing.length) throw new Error(`hpccoutf.txt: the summary section lacks ${missing.join(', ')}`);
  const num = (k: string): number => (typeof all[k] === 'number' ? (all[k] as number) : Number.NaN);

  // HPL's own verdict: "||Ax-b||_oo/(eps*(||A||_oo*||x||_oo+||b||_oo)*N)= 0.0059226 ...... PASSED"
  const hpl = sectionOf(text, 'HPL') ?? '';
  const threshold = Number(/residuals are less than\s+([0-9.eE+-]+)/.exec(hpl)?.[1] ?? 16);
  const checks = [...hpl.matchAll(/^\|\|Ax-b\|\|.*=\s*([-+0-9.eE]+|nan|-?inf)\s*\.+\s*(PASSED|FAILED)/gim)];
  let hplResidual: number | null = null;
  let hplPassed: boolean;
  if (checks.length) {
    hplResidual = Number(checks.at(-1)![1]);
    hplPassed = checks.every((m) => m[2]!.toUpperCase() === 'PASSED');
  } else {
    // no HPL section (trimmed output): the same residual from the summary's norms
    const r = num('HPL_RnormI') / (num('HPL_eps') * (num('HPL_AnormI') * num('HPL_XnormI') + num('HPL_BnormI')) * num('HPL_N'));
    hplResidual = Number.isFinite(r) && r >= 0 ? r : null;
    hplPassed = hplResidual !== null && hplResidual < threshold;
  }
  if (!(num('HPL_Tflops') > 0)) hplPassed = false; // HPL did not run (hpcc's -1000 Gflops default)

  const typed = Object.fromEntries(HPCC_KEYS.map((k) => [k, num(k)])) as Record<Key, number>;
  return { ...typed, hplPassed, hplResidual, hplThreshold: threshold, success: all.Success === 1, all };
}
