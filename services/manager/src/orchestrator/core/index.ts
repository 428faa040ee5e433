// The orchestrators' pure decision cores: state in, decisions (Plans) out; no IO, no clock.
export * from "./task-states.js";
export * from "./new-task.js";
export * from "./plan.js";
export * from "./restart.js";
export * from "./slots.js";
export * from "./slot-reconcile.js";
export * from "./replicated.js";
export * from "./global.js";
export * from "./jobs.js";
export * from "./reaper.js";
export * from "./constraint-enforcer.js";
export * from "./placement.js";
export * from "./orphans.js";
