export * from "./errors.js";
export * from "./replicated-store.js";
