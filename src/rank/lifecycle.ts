// Where this process is in its life as a rank: isInitialized() and isFinalized(), as
// MPI_Initialized and MPI_Finalized (init.ts and runtime.ts mark the steps).
let initialized = false;
let finalized = false;

/** True once init() has resolved in this process. */
export function isInitialized(): boolean {
  return initialized;
}

/** True once finalize() has resolved in this process. */
export function isFinalized(): boolean {
  return finalized;
}

export function markInitialized(): void {
  initialized = true;
}

export function markFinalized(): void {
  finalized = true;
}
