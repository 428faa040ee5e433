// Free TCP ports on 127.0.0.1 for tests, the lab harness and benchmarks.
import { createServer } from "node:net";

// Below the kernel's ephemeral range (32768+ by default): a port handed out by bind(0) may be taken
// by another process's outgoing connection between our probe and the real bind.
const LOW = 20000;
const SPAN = 12000;

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

/**
 * `n` distinct ports on 127.0.0.1 that were free when probed, none of them in `exclude` (ports the
 * caller handed out already and has not bound yet: a probe finds those free too). Another process
 * may still take one before the caller binds it; callers surface that as a start failure rather
 * than hide it.
 */
export async function freeLoopbackPorts(n: number, random: () => number = Math.random, exclude: Iterable<number> = []): Promise<number[]> {
  const taken = new Set(exclude);
  const ports = new Set<number>();
  while (ports.size < n) {
    const port = LOW + Math.floor(random() * SPAN);
    if (!ports.has(port) && !taken.has(port) && (await canBind(port))) ports.add(port);
  }
  return [...ports];
}

/** One free port on 127.0.0.1 (see freeLoopbackPorts). */
export async function freeLoopbackPort(random?: () => number): Promise<number> {
  const [port] = await freeLoopbackPorts(1, random);
  return port!;
}
