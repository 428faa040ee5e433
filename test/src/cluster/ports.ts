// Free loopback ports for test clusters.
import { createServer } from "node:net";

/**
 * Asks the kernel for `n` distinct free ports on 127.0.0.1. All are held open until all are known,
 * so the same port is never handed out twice; another process may still grab one before our child
 * binds it, which callers surface as a start failure rather than hide.
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<import("node:net").Server>((resolve, reject) => {
          const s = createServer();
          s.once("error", reject);
          s.listen(0, "127.0.0.1", () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as import("node:net").AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}
