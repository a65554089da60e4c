// The wildcards of receives and probes (MPI_ANY_SOURCE, MPI_ANY_TAG). They are values of the
// public API; each backend translates them for its transport (the ws matcher has its own
// wildcard, the mpi addon maps them to MPI's).
export const ANY_SOURCE = -2;
export const ANY_TAG = -1;
