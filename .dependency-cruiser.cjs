// The architecture's boundaries (docs/architecture.md), checked on every test run.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "core-is-pure",
      comment: "core holds domain types and pure helpers: it imports nothing else of Vigil.",
      severity: "error",
      from: { path: "^src/core/" },
      to: { path: "^src/", pathNot: "^src/core/" },
    },
    {
      name: "sources-know-no-storage",
      comment: "Sources fetch from APIs; they know nothing of storage, detection or wiring.",
      severity: "error",
      from: { path: "^src/sources/" },
      to: { path: "^src/(storage|pipeline|detections|alerts|destinations|server|cli|simulator|schema)/" },
    },
    {
      name: "storage-is-a-leaf",
      comment:
        "Storage persists what it is given; it does not call sources, pipeline or detection. The exceptions are the pure alert-window and alert-limiter functions, which the stores apply inside the page transaction.",
      severity: "error",
      from: { path: "^src/storage/" },
      to: {
        path: "^src/(sources|pipeline|detections|alerts|destinations|server|cli|simulator|schema)/",
        pathNot: "^src/alerts/(windows|limiter)\\.ts$",
      },
    },
    {
      name: "schema-and-detections-do-no-io",
      comment: "Normalization and rules are pure: no storage, no sources, no wiring.",
      severity: "error",
      from: { path: "^src/(schema|detections)/" },
      to: { path: "^src/(storage|sources|pipeline|server|destinations|simulator)/" },
    },
    {
      name: "simulator-is-standalone",
      comment: "The simulator plays the remote API: it shares only core types with Vigil.",
      severity: "error",
      from: { path: "^src/simulator/" },
      to: { path: "^src/(storage|sources|pipeline|detections|alerts|destinations|server|schema)/" },
    },
    {
      name: "only-cli-imports-cli",
      comment: "The CLI is an entry point; nothing below it depends on it.",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/cli/" },
      to: { path: "^src/cli/" },
    },
    {
      name: "use-cases-serve-the-entry-points",
      comment:
        "src/usecases holds the rules of adding and changing sources and destinations, once, for the CLI and the HTTP server (the config file loader is one of them); nothing below them calls up into them.",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/(cli|server|usecases)/" },
      to: { path: "^src/usecases/" },
    },
    {
      name: "server-uses-the-runtime",
      comment:
        "The HTTP server reaches sources, storage and detection through the use cases, the runtime, the storage ports and the detection listing; it never imports the CLI, the simulator or a source client directly.",
      severity: "error",
      from: { path: "^src/server/" },
      to: { path: "^src/(cli|simulator|sources|schema)/" },
    },
    {
      name: "only-cli-imports-server",
      comment: "The server is started by `vigil start` (and its auth helpers back `vigil users`/`vigil tokens`).",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/(cli|server)/" },
      to: { path: "^src/server/" },
    },
    {
      name: "no-circular",
      severity: "error",
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "\\.test\\.ts$" },
    parser: "swc",
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js", ".mjs", ".json"] },
  },
};
