#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx: users get `.ts` rules with no build step,
// and so does Vigil itself.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv);
