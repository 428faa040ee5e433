export * from "./commit.js";
export * from "./reconcile-loop.js";
export * from "./service-orchestrator.js";
export * from "./orchestrators.js";
export * from "./task-reaper.js";
export * from "./constraint-enforcer.js";
export * from "./orchestration.js";
