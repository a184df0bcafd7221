import { defineConfig } from 'tsdown';

export default defineConfig({
  entry: ['src/index.ts', 'src/sqlite-writer-thread.ts', 'src/sqlite-checkpoint-thread.ts'],
  dts: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
});
