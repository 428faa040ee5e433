// A minimal client for a host's REST API over its unix socket: JSON in, JSON out, with the
// server's {message} surfaced on failure. The lab uses it to form a swarm and to wait for one;
// it is not the shoal CLI (services/cli) and knows only the few calls the lab needs.
import { request } from "node:http";
import { LabError } from "./errors.js";

export interface ApiResponse {
  status: number;
  body: unknown;
}

export function apiCall(socketPath: string, method: string, path: string, body?: unknown, timeoutMs = 30_000): Promise<ApiResponse> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        socketPath,
        method,
        path,
        headers: payload === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed: unknown = text;
          try {
            parsed = text === "" ? undefined : JSON.parse(text);
          } catch {
            // plain text (e.g. /_ping's "OK")
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** The call's JSON body, or a LabError carrying the API's message. */
export async function apiJson<T>(socketPath: string, method: string, path: string, body?: unknown, timeoutMs?: number): Promise<T> {
  const res = await apiCall(socketPath, method, path, body, timeoutMs);
  if (res.status >= 400) {
    const msg = (res.body as { message?: unknown } | undefined)?.message;
    throw new LabError("LAB_API", `${method} ${path}: ${res.status} ${typeof msg === "string" ? msg : JSON.stringify(res.body)}`, { status: res.status });
  }
  return res.body as T;
}
