#!/usr/bin/env node
// orchidrun: the mpirun-style launcher.
import { runMain } from './run.js';

await runMain(process.argv.slice(2));
