// A writer thread's entry (./writer-thread.ts), for either engine. The store is TypeScript: the thread registers
// tsx's loader itself (a worker does not inherit the loader registered by bin/vigil.mjs), then loads the engine's
// writer module, which the store names in the thread's data (WriterThreadOptions.engineModule).
import { workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
await import(workerData.engineModule);
