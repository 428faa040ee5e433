export * from "./duration.js";
export * from "./values.js";
export * from "./service-values.js";
