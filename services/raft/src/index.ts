export * from "./core/types.js";
export * from "./core/errors.js";
export * from "./core/raw-node.js";
export * from "./core/memory-storage.js";
export * from "./core/conf-change.js";
export * from "./storage/index.js";
export * from "./driver/index.js";
export * from "./transport/index.js";
