// The writer thread's entry (../store/writer-thread.ts). The store is TypeScript: the thread registers tsx's
// loader itself (a worker does not inherit the loader registered by bin/vigil.mjs), then loads it.
import { register } from "tsx/esm/api";

register();
await import("./writer-worker.ts");
