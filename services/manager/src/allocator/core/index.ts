// The allocator's pure core: published ports (ingress claims, dynamic range, conflicts), service
// endpoints, and the NEW → PENDING task transition. No IO, no clock.
export * from "./ports.js";
export * from "./endpoints.js";
export * from "./tasks.js";
