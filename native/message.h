// A point-to-point message on the wire (both ends are this addon).
//
// A small message (payload <= SMALL) is one MPI message: an 8-byte header (MAGIC | element
// kind) and a copy of the payload. A large one is two: a 4-byte header (LMAGIC | the kind;
// 4 bytes, so a probe tells it from a small message by its size) on the communicator, and
// the payload, contiguous from the caller's memory, with the same tag on a shadow duplicate
// of the communicator. Both ends then hand MPI plain contiguous bytes, which every MPI moves
// by its zero-copy path (an hindexed datatype over {header, payload}, used before, is as fast
// under MPICH/UCX but Open MPI's ob1/vader packs it: a 4 MiB C ping-pong takes about 1.7x as
// long with it).
//
// Headers are matched first, in MPI's order; the payload of a matched header is the next one
// from that source with that tag on the shadow (sent in pairs, under the mutex, and taken in
// header order), received into a buffer of exactly its size that JS gets as an external
// ArrayBuffer (no copy), or straight into the caller's typed array (recvInto).
#pragma once
#include <cstddef>
#include <cstdint>

namespace orchid {

constexpr uint32_t MAGIC = 0x4f524300u;  // "ORC\0" | element kind
constexpr size_t HDR = 8;
constexpr size_t SMALL = 8192;  // at or below: one message, payload copied behind the header
constexpr uint32_t LMAGIC = 0x4f524c00u;  // "ORL\0" | element kind: a large message's header
constexpr int LHDR = 4;

}  // namespace orchid
