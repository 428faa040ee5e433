// Orchestration (DESIGN §2): pure decision cores in core/, leader-only store-watching edges in edge/.
export * from "./errors.js";
export * from "./core/index.js";
export * from "./edge/index.js";
