// Terse builders for hand-written histories. `ret` undefined means the outcome is unknown.
import type { KvOperation, RegisterOperation } from "../../src/index.js";

export const write = (clientId: number, value: number, call: number, ret: number | undefined): RegisterOperation => ({
  clientId,
  input: { op: "write", value },
  call,
  output: {},
  return: ret,
});

export const read = (clientId: number, value: number, call: number, ret: number | undefined): RegisterOperation => ({
  clientId,
  input: { op: "read" },
  call,
  output: { value },
  return: ret,
});

export const put = (clientId: number, key: string, value: string, call: number, ret: number | undefined): KvOperation => ({
  clientId,
  input: { op: "put", key, value },
  call,
  output: {},
  return: ret,
});

export const get = (clientId: number, key: string, value: string, call: number, ret: number | undefined): KvOperation => ({
  clientId,
  input: { op: "get", key },
  call,
  output: { value },
  return: ret,
});

export const append = (clientId: number, key: string, value: string, call: number, ret: number | undefined): KvOperation => ({
  clientId,
  input: { op: "append", key, value },
  call,
  output: {},
  return: ret,
});

export const cas = (
  clientId: number,
  key: string,
  expected: string,
  value: string,
  ok: boolean,
  call: number,
  ret: number | undefined,
): KvOperation => ({
  clientId,
  input: { op: "cas", key, expected, value },
  call,
  output: { ok },
  return: ret,
});
