import { defineConfig } from "vitest/config";

/** `npm run test:slow`: kill -9, fault matrix and soak runs (minutes); `.ci/run` runs it after `npm test`. */
export default defineConfig({
  test: {
    include: ["integration_tests/slow/**/*.test.ts"],
    globalSetup: ["integration_tests/global-setup.ts"],
    testTimeout: 600_000,
    hookTimeout: 120_000,
    pool: "forks",
    poolOptions: { forks: { maxForks: 1, minForks: 1 } },
  },
});
