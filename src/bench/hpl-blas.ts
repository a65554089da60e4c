// The local dense kernels of HPL on Float64Arrays: the generated register-blocked gemm (the
// hot path, ~90% of the flops), the unit lower triangular solves, their row-major forms, and
// row copies. Each rank calls them on its own part; no messages here.

// ---- local kernels (column-major unless named RM; every matrix is an array, an offset and a leading dimension) ----

type Gemm = (m: number, n: number, k: number, A: Float64Array, a0: number, lda: number, B: Float64Array, b0: number, ldb: number, C: Float64Array, c0: number, ldc: number) => void;

// C(m x n) -= A(m x k) B(k x n). Generated once: blocks of 8 columns of C (then 4, then 1)
// by 8 values of k (then 1), the 8 x 8 values of B in locals and the loop over the rows
// of C innermost (contiguous in A and C): 64 multiply-adds per 8 loads of A and 8
// load/stores of C. On V8 this ran at ~7-8 GFLOP/s on one x86 core against ~1.4 for the
// plain i-k-j axpy loop, ~3.3 for 4 columns x 1 k, ~6 for 8 x 4. Only fixed strings go
// into the source.
function gemmSource(): string {
  const L: string[] = ['let j = 0;'];
  const colBlock = (jb: number): void => {
    for (let c = 0; c < jb; c++) L.push(`const cj${c} = c0 + (j + ${c}) * ldc, bj${c} = b0 + (j + ${c}) * ldb;`);
    L.push('let p = 0;');
    const kBlock = (pb: number): void => {
      L.push(`for (; p + ${pb} <= k; p += ${pb}) {`);
      for (let c = 0; c < jb; c++) for (let q = 0; q < pb; q++) L.push(`const b${c}_${q} = B[bj${c} + p + ${q}];`);
      for (let q = 0; q < pb; q++) L.push(`const ap${q} = a0 + (p + ${q}) * lda;`);
      L.push('for (let i = 0; i < m; i++) {');
      for (let q = 0; q < pb; q++) L.push(`const a${q} = A[ap${q} + i];`);
      for (let c = 0; c < jb; c++) L.push(`C[cj${c} + i] -= ${Array.from({ length: pb }, (_, q) => `a${q} * b${c}_${q}`).join(' + ')};`);
      L.push('}', '}');
    };
    kBlock(8);
    kBlock(1);
  };
  for (const jb of [8, 4, 1]) {
    L.push(`for (; j + ${jb} <= n; j += ${jb}) {`);
    colBlock(jb);
    L.push('}');
  }
  return L.join('\n');
}
export const gemm = new Function('m', 'n', 'k', 'A', 'a0', 'lda', 'B', 'b0', 'ldb', 'C', 'c0', 'ldc', gemmSource()) as Gemm;

/** B(m x n) := L^-1 B with L (m x m) unit lower triangular; recursive, the bulk in gemm. */
export function trsmLowerUnit(m: number, n: number, L: Float64Array, l0: number, ldl: number, B: Float64Array, b0: number, ldb: number): void {
  if (m <= 8) {
    for (let t = 0; t < n; t++) {
      const bt = b0 + t * ldb;
      for (let c = 1; c < m; c++) {
        let s = B[bt + c]!;
        for (let d = 0; d < c; d++) s -= L[l0 + c + d * ldl]! * B[bt + d]!;
        B[bt + c] = s;
      }
    }
    return;
  }
  const h = m > 16 ? (m >> 4) << 3 : m >> 1; // a multiple of 8 when it can be
  trsmLowerUnit(h, n, L, l0, ldl, B, b0, ldb);
  gemm(m - h, n, h, L, l0 + h, ldl, B, b0, ldb, B, b0 + h, ldb);
  trsmLowerUnit(m - h, n, L, l0 + h + h * ldl, ldl, B, b0 + h, ldb);
}

/** Row-major C(m x n) -= A(m x k) B(k x n): the column-major gemm on the transposes. */
export function gemmRM(m: number, n: number, k: number, A: Float64Array, a0: number, lda: number, B: Float64Array, b0: number, ldb: number, C: Float64Array, c0: number, ldc: number): void {
  gemm(n, m, k, B, b0, ldb, A, a0, lda, C, c0, ldc);
}

/** Row-major B(m x n) := L^-1 B with L (m x m, row-major) unit lower triangular. */
export function trsmLowerUnitRM(m: number, n: number, L: Float64Array, l0: number, ldl: number, B: Float64Array, b0: number, ldb: number): void {
  if (m <= 8) {
    for (let c = 1; c < m; c++) {
      const bc = b0 + c * ldb;
      for (let d = 0; d < c; d++) {
        const l = L[l0 + c * ldl + d]!;
        if (l === 0) continue;
        const bd = b0 + d * ldb;
        for (let t = 0; t < n; t++) B[bc + t] -= l * B[bd + t]!;
      }
    }
    return;
  }
  const h = m > 16 ? (m >> 4) << 3 : m >> 1;
  trsmLowerUnitRM(h, n, L, l0, ldl, B, b0, ldb);
  gemmRM(m - h, n, h, L, l0 + h * ldl, ldl, B, b0, ldb, B, b0 + h * ldb, ldb);
  trsmLowerUnitRM(m - h, n, L, l0 + h * ldl + h, ldl, B, b0 + h * ldb, ldb);
}

export function copy(src: Float64Array, s0: number, dst: Float64Array, d0: number, n: number): void {
  for (let i = 0; i < n; i++) dst[d0 + i] = src[s0 + i]!;
}

/** dst[d0 + i * ldd + c] = src[s0 + i + c * lds] for i < m, c < n (column-major m x n to row-major). */
export function transpose(src: Float64Array, s0: number, lds: number, m: number, n: number, dst: Float64Array, d0: number, ldd: number): void {
  for (let i = 0; i < m; i++) {
    const o = d0 + i * ldd;
    for (let c = 0; c < n; c++) dst[o + c] = src[s0 + i + c * lds]!;
  }
}
