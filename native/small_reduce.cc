#include "small_reduce.h"

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "abi.h"

namespace orchid {
namespace {

template <typename T>
void apply(int op, const T* in, T* io, int n) {
  for (int i = 0; i < n; i++) {
    T a = in[i], b = io[i];
    switch (op) {
      case OP_sum: io[i] = a + b; break;
      case OP_prod: io[i] = a * b; break;
      case OP_min:
        if constexpr (std::is_floating_point_v<T>) io[i] = jsMin(a, b);
        else io[i] = a < b ? a : b;
        break;
      case OP_max:
        if constexpr (std::is_floating_point_v<T>) io[i] = jsMax(a, b);
        else io[i] = a > b ? a : b;
        break;
      case OP_land: io[i] = (a && b) ? 1 : 0; break;
      case OP_lor: io[i] = (a || b) ? 1 : 0; break;
      case OP_lxor: io[i] = (!a != !b) ? 1 : 0; break;
      default:
        if constexpr (std::is_integral_v<T>) {
          if (op == OP_band) io[i] = a & b;
          else if (op == OP_bor) io[i] = a | b;
          else if (op == OP_bxor) io[i] = a ^ b;
        }
    }
  }
}

// The call a (partial) header stands for, when its fields are consistent: the signature
// (sigHi and sigLo carry the same one), length, kind and op, and no error.
struct Agreed {
  double sig, len, kind, op;
  bool ok;
};

Agreed agreedOf(const double* h) {
  double sigHi = std::floor(h[SR_sigHi] / SR_RANKS), sigLo = -std::floor(h[SR_sigLo] / SR_RANKS);
  return {sigHi, h[SR_len], h[SR_kind], h[SR_op],
          sigHi == sigLo && h[SR_len] == -h[SR_negLen] && h[SR_kind] == -h[SR_negKind] && h[SR_op] == -h[SR_negOp] && h[SR_error] <= 0};
}

// Combine two blocks: the header field by field with MAX; the elements with the op when
// both sides agree on everything (else the result is flagged in the header and never read).
void combine(void* invec, void* inoutvec, int* count, MPI_Datatype*) {
  for (int k = 0; k < *count; k++) {
    auto* in = static_cast<char*>(invec) + k * SR_BLOCK;
    auto* io = static_cast<char*>(inoutvec) + k * SR_BLOCK;
    double hi[SR_FIELDS], ho[SR_FIELDS];
    memcpy(hi, in, sizeof hi);
    memcpy(ho, io, sizeof ho);
    Agreed a = agreedOf(hi), b = agreedOf(ho);
    if (a.ok && b.ok && a.sig == b.sig && a.len == b.len && a.kind == b.kind && a.op == b.op && a.len > 0 && a.kind >= 0) {
      int n = static_cast<int>(a.len), op = static_cast<int>(a.op);
      char* di = in + SR_HDR;
      char* dio = io + SR_HDR;
      switch (static_cast<int>(a.kind)) {
#define ORCHID_X(code, ctype, mpi, reduces)                                                                                     \
  case code:                                                                                                                    \
    if constexpr (reduces)                                                                                                      \
      if (n * sizeof(ctype) <= (size_t)SR_DATA) apply(op, reinterpret_cast<ctype*>(di), reinterpret_cast<ctype*>(dio), n); \
    break;
        ORCHID_ELEMENT_KINDS(ORCHID_X)
#undef ORCHID_X
      }
    }
    for (int j = 0; j < SR_FIELDS; j++) ho[j] = hi[j] > ho[j] ? hi[j] : ho[j];
    memcpy(io, ho, sizeof ho);
  }
}

template <typename T, bool isMin>
void minmaxOf(const T* in, T* io, int n) {
  for (int i = 0; i < n; i++) io[i] = isMin ? jsMin(in[i], io[i]) : jsMax(in[i], io[i]);
}

template <bool isMin>
void minmax(void* in, void* io, int* count, MPI_Datatype* dt) {
  if (*dt == MPI_DOUBLE) minmaxOf<double, isMin>(static_cast<const double*>(in), static_cast<double*>(io), *count);
  else if (*dt == MPI_FLOAT) minmaxOf<float, isMin>(static_cast<const float*>(in), static_cast<float*>(io), *count);
}

}  // namespace

void JsMinMax::create() {
  MPI_Op_create(minmax<true>, 1, &min);
  MPI_Op_create(minmax<false>, 1, &max);
}

void JsMinMax::free() {
  if (min != MPI_OP_NULL) MPI_Op_free(&min);
  if (max != MPI_OP_NULL) MPI_Op_free(&max);
}

void SmallReduce::create() {
  MPI_Type_contiguous(SR_BLOCK, MPI_BYTE, &type);
  MPI_Type_commit(&type);
  MPI_Op_create(combine, 1, &op);
}

void SmallReduce::free() {
  if (op != MPI_OP_NULL) MPI_Op_free(&op);
  if (type != MPI_DATATYPE_NULL) MPI_Type_free(&type);
}

}  // namespace orchid
