// The scheduler's pure core: placement decisions from state, no IO, no clock (DESIGN §1).
export * from "./errors.js";
export * from "./constraints.js";
export * from "./resources.js";
export * from "./requirements.js";
export * from "./node-info.js";
export * from "./state.js";
export * from "./filters.js";
export * from "./schedule.js";
