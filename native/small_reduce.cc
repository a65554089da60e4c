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

void combine(void* invec, void* inoutvec, int* count, MPI_Datatype*) {
  for (int k = 0; k < *count; k++) {
    auto* in = static_cast<char*>(invec) + k * SR_BLOCK;
    auto* io = static_cast<char*>(inoutvec) + k * SR_BLOCK;
    int32_t hi[SR_HDR / 4], ho[SR_HDR / 4];
    memcpy(hi, in, SR_HDR);
    memcpy(ho, io, SR_HDR);
    bool same = memcmp(hi, ho, SR_FIELDS * sizeof(int32_t)) == 0 && !hi[SR_error] && hi[SR_len] == -hi[SR_negLen] &&
                hi[SR_kind] == -hi[SR_negKind] && hi[SR_op] == -hi[SR_negOp];
    if (same) {
      int n = hi[SR_len], op = hi[SR_op];
      char* di = in + SR_HDR;
      char* dio = io + SR_HDR;
      switch (hi[SR_kind]) {
#define ORCHID_X(code, ctype, mpi, reduces)                                                         \
  case code:                                                                                        \
    if constexpr (reduces) apply(op, reinterpret_cast<ctype*>(di), reinterpret_cast<ctype*>(dio), n); \
    break;
        ORCHID_ELEMENT_KINDS(ORCHID_X)
#undef ORCHID_X
      }
    }
    for (int j = 0; j < SR_HDR / 4; j++) ho[j] = hi[j] > ho[j] ? hi[j] : ho[j];
    memcpy(io, ho, SR_HDR);
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
