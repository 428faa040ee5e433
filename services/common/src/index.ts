export * from "./errors.js";
export * from "./clock.js";
export * from "./random.js";
export * from "./sleep.js";
export * from "./logger.js";
export * from "./metrics.js";
export * from "./ports.js";
export * from "./slices.js";
