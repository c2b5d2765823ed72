/**
 * Executors: how `bench run` gets a plan's unfinished jobs done. A new one is
 * one module calling registerExecutor plus one line here; the CLI's
 * --executor choices and flags, and the run's dispatch, come from the registry.
 */
import './local.js';
import './pool.js';
import './slurm.js';

export * from './registry.js';
