export * from "./transport.js";
export * from "./grpc-transport.js";
export { encodeMessage, decodeMessage } from "./codec.js";
