// Converters between store objects and the Docker Engine API's JSON, one file per kind.
export * from "./time.js";
export * from "./tls-info.js";
export * from "./node.js";
export * from "./cluster.js";
export * from "./swarm.js";
export * from "./system.js";
export * from "./enum-names.js";
export * from "./task-spec.js";
export * from "./service.js";
export * from "./task.js";
export * from "./codec.js";
