import { defineConfig } from 'tsdown';

export default defineConfig({ entry: ['src/index.ts'], dts: true, format: 'esm', platform: 'node', target: 'node22' });
