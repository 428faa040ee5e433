export * from "./table.js";
export * from "./fields.js";
export * from "./format.js";
export * from "./printer.js";
export * from "./progress.js";
