// Lint for the whole monorepo. The second block is the purity rule: decision cores (raft core,
// and later the scheduler, reconcilers and allocator) may not read time, randomness, disk or network.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const PURE_CORES = [
  "services/raft/src/core/**/*.ts",
  "services/lincheck/src/**/*.ts",
  "services/manager/src/scheduler/core/**/*.ts",
  "services/manager/src/orchestrator/core/**/*.ts",
  "services/manager/src/allocator/core/**/*.ts",
  "services/manager/src/updater/core/**/*.ts",
];

const IO_MODULES = ["fs", "fs/promises", "net", "dgram", "http", "https", "http2", "child_process", "worker_threads", "cluster", "dns", "tls"];

export default tseslint.config(
  { ignores: ["**/dist/**", "**/node_modules/**", "**/gen/**", "**/*.js", "**/*.cjs", "!eslint.config.js"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-console": "off",
      "no-constant-condition": ["error", { checkLoops: false }],
    },
  },
  {
    files: PURE_CORES,
    rules: {
      "no-restricted-globals": [
        "error",
        ...["setTimeout", "setInterval", "setImmediate", "clearTimeout", "clearInterval", "queueMicrotask", "Date", "performance", "process", "fetch"].map(
          (name) => ({ name, message: `pure core: '${name}' is IO or time; inject it (Clock/Random) at the edge` }),
        ),
      ],
      "no-restricted-properties": [
        "error",
        { object: "Math", property: "random", message: "pure core: take a Random (seeded in tests)" },
        { object: "Date", property: "now", message: "pure core: count ticks, never read the clock" },
      ],
      "no-restricted-imports": [
        "error",
        {
          paths: IO_MODULES.flatMap((m) => [m, `node:${m}`]).map((name) => ({ name, message: "pure core: no IO; do it in the driver" })),
          patterns: [{ group: ["level", "classic-level", "@grpc/*", "pino"], message: "pure core: no IO libraries" }],
        },
      ],
    },
  },
  {
    files: ["**/src/**/*.ts"],
    ignores: ["services/cli/src/output/**", "test/src/**", "deploy/**"],
    rules: { "no-console": "error" },
  },
);
