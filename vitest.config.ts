import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // ONNX sessions and sharp pools are heavy: run files one after another on this 2-core budget.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 300_000,
    globalSetup: ['test/support/global-setup.ts'],
    // In-process runs keep their user data (journal signing key, move locks) out of the real home folder.
    env: { TRIAGEM_DATA_DIR: fileURLToPath(new URL('./.cache/test-user-data', import.meta.url)) },
  },
});
