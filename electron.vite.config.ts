import { resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'electron-vite';
import { cspPlugin } from './src/main/security';

// Native addons load .node binaries at run time and must stay in node_modules, never in a bundle.
const NATIVE = ['onnxruntime-node', 'sharp', 'better-sqlite3', 'sqlite-vec', 'usearch', 'tesseract.js'];

export default defineConfig({
  main: {
    build: {
      externalizeDeps: { include: NATIVE },
      rollupOptions: {
        input: {
          index: resolve(__dirname, 'src/main/index.ts'),
          // The utility process that owns ONNX sessions and SQLite (see src/main/engine-host.ts).
          engine: resolve(__dirname, 'src/main/engine-process.ts'),
        },
        // Shared code stays beside the entries: src/engine/paths.ts finds resources/ two levels up
        // from the module that holds it, which a chunks/ subfolder would break.
        output: { chunkFileNames: '[name]-[hash].js' },
      },
    },
  },
  preload: {
    build: {
      // Sandboxed preloads cannot require packages, and only load CommonJS.
      externalizeDeps: false,
      rollupOptions: {
        input: { index: resolve(__dirname, 'src/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve(__dirname, 'src/renderer'),
    base: './',
    plugins: [react(), cspPlugin()],
    build: {
      // Browser mode serves this over HTTP; a minified bundle loads noticeably faster there.
      minify: 'esbuild',
      rollupOptions: { input: { index: resolve(__dirname, 'src/renderer/index.html') } },
    },
  },
});
