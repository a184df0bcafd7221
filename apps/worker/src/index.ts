export {
  buildWorkerDeps,
  KEYRING_FILE_NAME,
  SQLITE_FILE_NAME,
  storeUrlFor,
  type WorkerDependencies,
  withExtraCa,
} from './build-worker-deps.ts';
export { createWorker, type Worker, type WorkerDeps } from './create-worker.ts';
export { type Env, loadEnv, WorkerConfigError } from './env.ts';
export { createWorkerMetrics, type WorkerMetrics } from './worker-metrics.ts';
