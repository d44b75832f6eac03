import { defineConfig } from "vitest/config";

/** `npm test`: everything the clone itself carries. The external suites run with `npm run test:conformance`. */
export const shared = {
  globalSetup: ["integration_tests/global-setup.ts"],
  testTimeout: 60_000,
  hookTimeout: 60_000,
  // Two cores: integration files share one stand-in; keep parallelism modest.
  pool: "forks" as const,
  poolOptions: { forks: { maxForks: 2, minForks: 1 } },
};

export default defineConfig({
  test: {
    ...shared,
    include: ["test/unit/**/*.test.ts", "integration_tests/**/*.test.ts"],
    // kill -9 and soak runs: `npm run test:slow`; external suites: `npm run test:conformance`; installs: `npm run test:package`
    exclude: ["integration_tests/slow/**", "integration_tests/conformance/**", "integration_tests/package/**", "**/node_modules/**"],
  },
});
