export * from "./types.js";
export * from "./shape.js";
export * from "./system.js";
export * from "./swarm.js";
export * from "./nodes.js";
export * from "./services.js";
export * from "./tasks.js";
