// Executors: the interface the worker drives, its errors, and the simulated executor (tests only).
export * from "./executor.js";
export * from "./errors.js";
export * from "./simulated.js";
