// The manager package: one export line per component.
export * from "./replication/index.js";
export * from "./ca/index.js";
export * from "./orchestrator/index.js";
export * from "./control/index.js";
export * from "./scheduler/index.js";
export * from "./api/index.js";
export * from "./updater/index.js";
export * from "./allocator/index.js";
