/// <reference types="node" preserve="true" />
// orchid-mpi/launcher: start a job programmatically (orchidrun is a thin shell over this).
import { JobRun, type Job } from './job.js';
import { MpiexecJob, autoPicksMpi } from './mpiexec.js';
import { planJob, type LaunchOptions } from './job-plan.js';
import { jobMapLines, outputDir, withOutputFiles } from './job-map.js';
import { SeeInside } from './see-inside.js';

export type { Job, JobResult, OutputLine } from './job.js';
export type { LaunchOptions, LaunchSection, TransportName } from './job-plan.js';
export type { HostSpec } from './hostfile.js';
export { parseHostfileText, parseHostList, readHostfile } from './hostfile.js';
export { placeRanks, type Placement, type RankPlacement, type HostPlan } from './placement.js';
export { Coordinator, type CoordinatorOptions } from './coordinator.js';

/**
 * Start a job. Bad options throw an OrchidError (ERR_ARG) right away; everything after
 * that is reported through `done`, which always resolves.
 */
export function launch(opts: LaunchOptions): Job {
  // mpi: the job runs under the matching mpiexec (src/launcher/mpiexec.ts)
  const files = opts.outputFilename !== undefined ? outputDir(opts.outputFilename) : undefined;
  let job: Job;
  if (opts.transport === 'mpi' || ((opts.transport ?? 'auto') === 'auto' && autoPicksMpi())) {
    job = new MpiexecJob(opts, (np) => SeeInside.from(opts, np, opts.script ?? opts.sections?.[0]?.script ?? '')); // prints its own --display-map
  } else {
    const plan = planJob(opts);
    const run = new JobRun(plan, SeeInside.from(opts, plan.placement.np, plan.script));
    job = run;
    // --display-map: before anything the ranks print
    if (plan.displayMap) for (const text of jobMapLines(plan)) run.output.push({ rank: -1, stream: 'stdout', text });
    void run.start();
  }
  return files !== undefined ? withOutputFiles(job, files) : job;
}
