// Builds the dashboard page into dist/dashboard/, which the ops HTTP server serves at `/`
// (src/ops/dashboard/static.ts). Everything is bundled: the page loads nothing from elsewhere.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  resolve: {
    alias: { react: 'preact/compat', 'react-dom': 'preact/compat' },
  },
  build: {
    outDir: fileURLToPath(new URL('../dist/dashboard', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // The page's script is served only by the broker, which sets a CSP without inline code.
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
});
