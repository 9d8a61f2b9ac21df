import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The console is a static single-page app: `npx vite build` (from console/) writes console/dist/, which
// `vigil start` serves. In development `npx vite` proxies the API to a running Vigil.
const target = `http://127.0.0.1:${process.env.VIGIL_PORT ?? "8080"}`;

export default defineConfig({
  root: import.meta.dirname,
  base: "/",
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    // Pages are lazy chunks (src/main.tsx); vendor code is split so that no chunk passes the default limit.
    chunkSizeWarningLimit: 500,
    rolldownOptions: {
      output: {
        codeSplitting: {
          groups: [
            {
              name: "react",
              test: /[\\/]node_modules[\\/](react|react-dom|scheduler|react-router|react-router-dom)[\\/]/,
            },
            { name: "vendor", test: /[\\/]node_modules[\\/]/ },
          ],
        },
      },
    },
  },
  server: { proxy: { "/api": target, "/healthz": target } },
});
