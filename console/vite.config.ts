import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The console is a static single-page app: `npx vite build` (from console/) writes console/dist/, which
// `vigil start` serves. In development `npx vite` proxies the API to a running Vigil.
const target = `http://127.0.0.1:${process.env.VIGIL_PORT ?? "8080"}`;

export default defineConfig({
  root: import.meta.dirname,
  base: "/",
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 1500 },
  server: { proxy: { "/api": target, "/healthz": target } },
});
