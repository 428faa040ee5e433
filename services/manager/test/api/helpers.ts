// Shared setup for API tests: a fake backend and an app built over it, closed after each test.
import { silentLogger } from "@shoal/common";
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from "fastify";
import { buildApi } from "../../src/api/index.js";
import { FakeBackend } from "./fake-backend.js";

export interface Harness {
  backend: FakeBackend;
  app: FastifyInstance;
  /** inject, with a JSON body when `body` is given. */
  call(method: InjectOptions["method"], url: string, body?: unknown): Promise<LightMyRequestResponse>;
}

export async function harness(opts: { bodyLimitBytes?: number } = {}): Promise<Harness> {
  const backend = await FakeBackend.create();
  const app = buildApi(opts, { backend, logger: silentLogger() });
  return {
    backend,
    app,
    call: (method, url, body) => app.inject(body === undefined ? { method, url } : { method, url, payload: body as object }),
  };
}

/** Registers a harness for each test of the enclosing describe; the app is closed after each. */
export function useHarness(opts: { bodyLimitBytes?: number } = {}): () => Harness {
  let h: Harness | undefined;
  beforeEach(async () => {
    h = await harness(opts);
  });
  afterEach(async () => {
    await h?.app.close();
    h = undefined;
  });
  return () => h!;
}

export function messageOf(res: LightMyRequestResponse): string {
  return (JSON.parse(res.body) as { message: string }).message;
}
