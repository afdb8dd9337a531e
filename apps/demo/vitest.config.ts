import { defineConfig, mergeConfig, type ViteUserConfig } from 'vitest/config';
import shared from '../../vitest.shared.ts';

// The integration tests run the built CLI: build it first when it is out of date.
const config: ViteUserConfig = mergeConfig(
  shared,
  defineConfig({ test: { globalSetup: ['test/global-setup.ts'] } }),
);

export default config;
