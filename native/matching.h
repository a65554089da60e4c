// Matching receives of unknown size (message.h) in MPI's order: posted receives and probes
// wait in `progress.waiting`, large receives whose header matched wait for their payload in
// `progress.payloads`. Every function here runs with `progress.mu` held.
#pragma once
#include "progress.h"

namespace orchid {

// Try to match `p`: true when it left the waiting state (matched: a probe has its result, a
// receive its request or, for a large message, its header; or failed: rc).
bool tryMatch(Pending* p);
// A large receive's payload: probe the shadow for it and start receiving it. True when
// started (or failed); `p` must be the first of `payloads` for its (comm, src, tag).
bool tryPayload(Pending* p);
// Whether a large receive on (comm, src, tag) waits for its payload: then the next payload
// from there is that receive's, not a later header's.
bool payloadPending(int comm, int src, int tag);
// The payload size of the large message whose header is the next from (src, tag) on `comm`,
// if its payload has arrived. False: not known yet (in flight), or rc set.
bool payloadSize(int comm, int src, int tag, size_t* n, int* rc);
// Whether an earlier posted receive could take the message `p` would match.
bool blockedByEarlier(const Pending* p);
// A received message is complete: pull the header out of a small one.
void finishRecv(Pending* p);
// One pass over `waiting` / `payloads` in order; true when any left it.
bool matchWaiting();
bool matchPayloads();

}  // namespace orchid
