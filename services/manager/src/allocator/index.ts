// The allocator (DESIGN §2): published ports and service endpoints, and NEW → PENDING for tasks.
// Pure decisions in core/, the store-watching edge in allocator.ts, the API's port check.
export * from "./errors.js";
export * from "./core/index.js";
export * from "./check-ports.js";
export * from "./allocator.js";
