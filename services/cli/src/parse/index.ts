export * from "./duration.js";
export * from "./values.js";
