import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/unit/**/*.test.ts", "integration_tests/**/*.test.ts"],
    // kill -9 and soak runs: `npm run test:slow` (vitest.slow.config.ts)
    exclude: ["integration_tests/slow/**", "**/node_modules/**"],
    globalSetup: ["integration_tests/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: integration files share one stand-in; keep parallelism modest.
    pool: "forks",
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
