// The stock docker CLI (28.2, preinstalled here and on CI) against the API over a unix socket, with
// a fake backend: registered per describe, the server and its temp dir removed after it.
import { existsSync } from "node:fs";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { silentLogger } from "@shoal/common";
import { startApiServer, type ApiServer } from "../../src/api/index.js";
import { FakeBackend } from "./fake-backend.js";

const run = promisify(execFile);
const DOCKER = ["/usr/local/bin/docker", "/usr/bin/docker"].find((p) => existsSync(p)) ?? "/usr/local/bin/docker";

export interface DockerResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface DockerCli {
  backend(): FakeBackend;
  docker(...args: string[]): Promise<DockerResult>;
}

/** Starts the API with a fresh fake backend before the enclosing describe's tests; stops it after. */
export function useDockerCli(): DockerCli {
  let dir: string | undefined;
  let server: ApiServer | undefined;
  let env: NodeJS.ProcessEnv = {};
  let backend: FakeBackend | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "shoal-docker-cli-"));
    const socketPath = join(dir, "api.sock");
    backend = await FakeBackend.create();
    server = await startApiServer({ socketPath }, { backend, logger: silentLogger() });
    // Its own config dir: no contexts or credentials of the machine's user leak in.
    env = { PATH: process.env["PATH"], DOCKER_HOST: `unix://${socketPath}`, DOCKER_CONFIG: join(dir, "docker-config") };
  });

  after(async () => {
    await server?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  return {
    backend: () => backend!,
    docker: async (...args) => {
      try {
        const r = await run(DOCKER, args, { env, timeout: 20_000 });
        return { code: 0, stdout: r.stdout, stderr: r.stderr };
      } catch (err) {
        const e = err as { code?: number; stdout?: string; stderr?: string };
        return { code: typeof e.code === "number" ? e.code : -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
      }
    },
  };
}
