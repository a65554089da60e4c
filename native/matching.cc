#include "matching.h"

#include <cstdlib>
#include <cstring>

#include "buffer_pool.h"

namespace orchid {
namespace {

bool overlaps(const Pending* a, const Pending* b) {
  return a->comm == b->comm && (a->src == b->src || a->src == MPI_ANY_SOURCE || b->src == MPI_ANY_SOURCE) &&
         (a->tag == b->tag || a->tag == MPI_ANY_TAG || b->tag == MPI_ANY_TAG);
}

// Where a receive goes once it left `waiting`.
void placeMatched(Pending* p) {
  if (p->rc != MPI_SUCCESS || p->action == Action::Probe) progress.done.push_back(p);
  else if (p->large && p->req == MPI_REQUEST_NULL) progress.payloads.push_back(p);
  else progress.active.push_back(p);
}

// Try the operations of `list` in order; one that overlaps an earlier one still waiting there
// (an earlier one that `blocks`) waits its turn.
template <typename Try, typename Blocks>
bool matchInOrder(std::list<Pending*>& list, Try attempt, Blocks blocks) {
  bool any = false;
  std::vector<Pending*> blocked;
  for (auto it = list.begin(); it != list.end();) {
    Pending* p = *it;
    bool skip = false;
    for (Pending* b : blocked)
      if (overlaps(b, p)) skip = true;
    if (!skip && attempt(p)) {
      it = list.erase(it);
      any = true;
      placeMatched(p);
      continue;
    }
    if (blocks(p)) blocked.push_back(p);
    ++it;
  }
  return any;
}

}  // namespace

bool payloadPending(int comm, int src, int tag) {
  for (Pending* p : progress.payloads)
    if (p->comm == comm && p->src == src && p->tag == tag) return true;
  return false;
}

bool payloadSize(int comm, int src, int tag, size_t* n, int* rc) {
  if (payloadPending(comm, src, tag)) return false;
  int flag = 0;
  MPI_Status st;
  *rc = MPI_Iprobe(src, tag, session.shadows[comm], &flag, &st);
  if (*rc != MPI_SUCCESS) return true;
  if (!flag) return false;
  int count = 0;
  MPI_Get_count(&st, MPI_BYTE, &count);
  *n = count;
  return true;
}

bool tryMatch(Pending* p) {
  MPI_Status st;
  int flag = 0;
  MPI_Comm c = session.comms[p->comm];
  if (p->action == Action::Probe) {
    p->rc = MPI_Iprobe(p->src, p->tag, c, &flag, &st);
    if (p->rc != MPI_SUCCESS) return true;
    if (!flag) return false;
    int count = 0;
    MPI_Get_count(&st, MPI_BYTE, &count);
    if (count == LHDR) {
      size_t n = 0;
      if (!payloadSize(p->comm, st.MPI_SOURCE, st.MPI_TAG, &n, &p->rc)) return false;
      p->len = n;
    } else {
      p->len = count >= (int)HDR ? count - HDR : 0;
    }
    p->rsrc = st.MPI_SOURCE;
    p->rtag = st.MPI_TAG;
    return true;
  }
  p->rc = MPI_Improbe(p->src, p->tag, c, &flag, &p->msg, &st);
  if (p->rc != MPI_SUCCESS) return true;
  if (!flag) return false;
  int count = 0;
  MPI_Get_count(&st, MPI_BYTE, &count);
  p->rsrc = st.MPI_SOURCE;
  p->rtag = st.MPI_TAG;
  if (count == LHDR) {
    // 4 bytes, already here (matched): take the header now; the payload follows on the shadow
    p->rc = MPI_Mrecv(p->hdr, LHDR, MPI_BYTE, &p->msg, MPI_STATUS_IGNORE);
    p->large = true;
    p->src = p->rsrc;
    p->tag = p->rtag;
    return true;
  }
  size_t n = count >= (int)HDR ? count - HDR : 0;
  p->len = n;
  p->small = true;
  p->data = static_cast<char*>(malloc(n + HDR));
  p->rc = MPI_Imrecv(p->data, count, MPI_BYTE, &p->msg, &p->req);
  return true;
}

// Contiguous, into a buffer of exactly its size (or the caller's, when it is of the kind
// asked for and fits).
bool tryPayload(Pending* p) {
  int flag = 0;
  MPI_Status st;
  MPI_Message msg;
  p->rc = MPI_Improbe(p->src, p->tag, session.shadows[p->comm], &flag, &msg, &st);
  if (p->rc != MPI_SUCCESS) return true;
  if (!flag) return false;
  int count = 0;
  MPI_Get_count(&st, MPI_BYTE, &count);
  p->len = count;
  if (p->into && static_cast<size_t>(count) <= p->cap && p->hdr[0] == p->wantElem) {
    p->wrote = true;
    p->rc = MPI_Imrecv(p->into, count, MPI_BYTE, &msg, &p->req);
    return true;
  }
  p->data = bufferPool.take(count ? count : 1);
  p->rc = MPI_Imrecv(p->data, count, MPI_BYTE, &msg, &p->req);
  return true;
}

bool blockedByEarlier(const Pending* p) {
  for (Pending* w : progress.waiting)
    if (w->action == Action::Recv && overlaps(w, p)) return true;
  return false;
}

void finishRecv(Pending* p) {
  if (p->small && p->data) memcpy(p->hdr, p->data, HDR);
}

// Receives and probes in posting order (MPI's order of posted receives; a probe blocks nobody).
bool matchWaiting() {
  return matchInOrder(progress.waiting, tryMatch, [](Pending* p) { return p->action == Action::Recv; });
}

// The payloads of matched large receives, in header order per (comm, src, tag).
bool matchPayloads() {
  return matchInOrder(progress.payloads, tryPayload, [](Pending*) { return true; });
}

}  // namespace orchid
