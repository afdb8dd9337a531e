// The one build config shared by every package: each package runs `tsup --config ../../tsup.config.ts`
// from its own folder and builds src/index.ts to ESM + CJS with a .d.ts / .d.cts per condition.
// Files in src/entries/ are extra entry points run as their own processes (e.g. a forked child).
import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/entries/*.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'node',
  splitting: false,
  treeshake: true,
  // import.meta.url (used to load optional peer dependencies) also works in the CJS output.
  shims: true,
});
