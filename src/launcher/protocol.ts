// The launcher <-> proxy protocol: JSON lines on the proxy's stdin (control) and stdout
// (events). The same protocol runs over a local pipe (fork bootstrap) or an ssh session.

export interface RankSpec {
  rank: number;
  /** Per-rank variables (ORCHID_RANK, ORCHID_LOCAL_RANK, …). */
  env: Record<string, string>;
  /** MPMD: this rank's section's script and arguments (instead of the spec's). */
  script?: string;
  args?: string[];
}

/** First line the launcher sends: everything this host's proxy needs to start its ranks. */
export interface HostJobSpec {
  t: 'spec';
  job: string;
  host: string;
  /** Job secret, base64. Handed to each rank on fd 3, never via argv or env. */
  secret: string;
  /** Script as resolved by the launcher; the proxy turns it into a command line. */
  script: string;
  args: string[];
  wdir: string;
  /** Added on top of the proxy's own environment (which is the launcher's, for fork). */
  env: Record<string, string>;
  ranks: RankSpec[];
  /** The rank whose stdin is fed by `stdin` messages, or null (all ranks get /dev/null). */
  stdinRank: number | null;
  killGraceMs: number;
  /**
   * Set for remote hosts: the coordinator's host:port. The proxy sets ORCHID_ADDR for its
   * ranks to its own address on the route towards it (what the ranks bind and advertise).
   */
  routeTo?: string;
  /** When set, the launcher sends `hb` lines this often and the proxy ends its ranks after hearing nothing for `heartbeatTimeoutMs`. */
  heartbeatMs?: number;
  heartbeatTimeoutMs?: number;
  /** `--bind-to core`: the proxy pins its ranks to this host's cores, in rank order (binding.ts). */
  bindTo?: 'core';
  /** `--report-bindings`: each rank's binding as a line on its stderr. */
  reportBindings?: boolean;
}

export type ControlMessage =
  | HostJobSpec
  | { t: 'stdin'; data: string }
  | { t: 'stdin-end' }
  | { t: 'signal'; sig: string }
  /** End all ranks: `sig` (default SIGTERM) to each rank's process group, SIGKILL after graceMs. */
  | { t: 'kill'; sig?: string; graceMs?: number }
  /** Heartbeat: the launcher is there. */
  | { t: 'hb' }
  /** Ask every rank what it waits for; one `pending` event per rank comes back. */
  | { t: 'pending?'; id: number };

export type OutStream = 'stdout' | 'stderr';

export type ProxyEvent =
  | { t: 'ready'; host: string; pid: number; addr?: string }
  /** Heartbeat: the proxy is there. */
  | { t: 'hb' }
  | { t: 'started'; rank: number; pid: number }
  | { t: 'out'; rank: number; stream: OutStream; text: string }
  | { t: 'exit'; rank: number; code: number | null; signal: string | null; pid: number | null; error?: string }
  | { t: 'done' }
  /** A rank's uncaught error, as it reported it on its launcher pipe before dying. */
  | { t: 'rank-error'; rank: number; error: RankError }
  /** What a rank waits for (`text`), in answer to `pending?` `id`. */
  | { t: 'pending'; id: number; rank: number; text: string }
  | { t: 'error'; message: string };

export interface RankError {
  name?: string;
  code?: string | number;
  message?: string;
  /** file:line:col of the first stack frame in user code */
  at?: string;
}

/** The proxy's environment variable for the ranks' secret pipe. */
export const SECRET_FD = 3;
