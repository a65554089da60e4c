// Help texts and the version, shared by orchidrun and orchid.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../package-root.js';

export function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export const RUN_HELP = `Usage: orchidrun [options] SCRIPT [ARGS...]
       orchidrun [global options] [-n N] [-env K V] SCRIPT [ARGS...] : [-n N] SCRIPT2 ... (MPMD)
       orchidrun [global options] -configfile FILE
       orchid run [options] SCRIPT [ARGS...]

Start SCRIPT as a job of N ranks. SCRIPT is a .js/.mjs/.cjs file, a .ts/.mts/.cts
file (run through tsx, no build step), or any executable. Everything after SCRIPT
(up to a lone ":") is passed to it.

MPMD (MPICH): sections separated by ":" run as one world, ranks numbered across the
sections in order; each section has its own -n (default 1), script, arguments and
-env. -configfile FILE: one section per line, # starts a comment.

Options:
  -n, -np N              number of ranks (default: slots in the host list, else
                         this host's cores; with --ppn: ppn x hosts); per section
  -f, --hostfile FILE    hosts, one per line: "host", "host:slots" (MPICH) or
      -machinefile FILE  "host slots=N" (Open MPI); # starts a comment
      --hosts LIST       hosts inline: a,b:2,c
  -H, --host LIST        the same
      --ppn N            ranks per host (instead of each host's slots)
  -N, --npernode N       the same
      --map-by slot|node slot (default): fill each host's slots in turn; node:
                         one rank per host, round-robin
      --display-map      print the rank -> host map before the job starts
      --bind-to core|none  core: pin each rank to one core of its host
                         (taskset, util-linux), in rank order, wrapping around;
                         fastest cores first on big.LITTLE boards (default none)
      --report-bindings  each rank's binding as a line on its stderr
      --oversubscribe    more ranks than a host's slots or cores is intended
                         (lifts the limit on ranks per host)
      --transport T      auto | ws | mpi (default auto)
      --bootstrap B      fork | ssh | slurm (default: fork for this host, ssh
                         for others; slurm inside a Slurm allocation)
      --env K=V          set K for the ranks (repeatable); in MPMD for this
      -env K V           section only (MPICH's -env)
      -genv K V|K=V      set K for every rank of every section
      --export K[,K2]    pass the launcher's K to the ranks (repeatable)
  -x K[=V]               Open MPI: pass K with value V, or the launcher's K
  -l, --tag-output       prefix every output line with [rank]
      --output-filename DIR  also write each rank's output to
                         DIR/1/rank.N/stdout and DIR/1/rank.N/stderr
      --timeout S        end the job after S seconds (exit status 124)
      --wdir DIR         working directory of the ranks
      --ssh CMD          ssh command line for the ssh bootstrap (default: ssh)
      --iface NAME|ADDR  interface or address the job advertises (default: the
                         one that routes to the first remote host)
      --trace DIR        record every call of every rank: DIR/trace.json (Chrome
                         Trace Event format: ui.perfetto.dev, chrome://tracing)
                         and DIR/timeline.html (timeline, bytes matrix, per call)
      --profile[=FILE]   at exit, a summary per call on stderr (count, time,
                         share, min/max across ranks; bytes per rank pair);
                         =FILE: also as JSON
      --live[=PORT]      serve a live page of the job on 127.0.0.1 (URL on
                         stderr): each rank's current call, rates, pending calls
      -configfile FILE   the MPMD sections, one per line
  -h, --help             show this help
      --version          show the version

Exit status: 0 when every rank exits 0; otherwise the first failing rank's code
(128+n for signal n), 124 on --timeout, 130 on Ctrl-C, 2 for bad arguments.
Standard input goes to rank 0.
`;

export const ORCHID_HELP = `Usage: orchid COMMAND [options]

Commands:
  run        start a job (the same as orchidrun; see "orchid run --help")
  exec       run a shell command on every host
  doctor     check hosts, Node, orchid, MPI, clocks, ports
  ssh-setup  set up passwordless SSH to the hosts
  bench      run the benchmarks (see "orchid bench --help")

Options:
  -h, --help     show this help
      --version  show the version
`;

