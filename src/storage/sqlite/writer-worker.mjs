// The writer thread's entry (see writer-thread.ts). A worker does not inherit a loader registered in code
// (bin/vigil.mjs registers tsx through its API), so it registers its own before loading the TypeScript host.
import { register } from "tsx/esm/api";

register();
await import("./writer-host.ts");
