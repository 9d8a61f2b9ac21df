// A writer thread's entry (./writer-thread.ts), for either engine. The store is TypeScript, and the thread runs
// no TypeScript loader: it imports the engine's writer module, which the store names in the thread's data
// (WriterThreadOptions.engineModule), bundled as one module (./thread-bundle.mjs says why).
import { workerData } from "node:worker_threads";
import { bundleModule } from "./thread-bundle.mjs";

await import(await bundleModule(new URL(workerData.engineModule)));
