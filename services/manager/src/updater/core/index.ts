// The rolling updater's pure core: update policy, progress read from the store, status
// transitions and the per-service decision. No IO, no clock: `now` is passed in.
export * from "./config.js";
export * from "./progress.js";
export * from "./status.js";
export * from "./decide.js";
