import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Native code runs in child processes: a crash fails its test file, not the runner.
    pool: "forks",
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 600_000,
  },
});
