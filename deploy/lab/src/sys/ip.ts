// Typed wrapper around iproute2's `ip`. Everything is addressed into a named network namespace with
// `ip -n NS` (the tool's own setns; no `ip netns exec`, whose /sys remount the lab avoids), so the
// lab never lists or changes the machine's own interfaces. The only root-namespace effect is the
// /run/netns/NAME file that `ip netns add` creates and `ip netns del` removes.
import type { Logger } from "@shoal/common";
import { run } from "./run.js";

export interface IpOpts {
  timeoutMs?: number;
}
export interface IpModules {
  logger: Logger;
}
export interface Sig {
  signal?: AbortSignal;
}

export class Ip {
  private readonly log: Logger;
  constructor(
    private readonly opts: IpOpts,
    modules: IpModules,
  ) {
    this.log = modules.logger.child({ tool: "ip" });
  }

  private async ip(args: string[], sig: Sig, allowFailure = false): Promise<string> {
    const r = await run(this.log, "ip", args, { timeoutMs: this.opts.timeoutMs ?? 15_000, signal: sig.signal, allowFailure });
    return r.stdout;
  }

  async netnsAdd(name: string, sig: Sig = {}): Promise<void> {
    await this.ip(["netns", "add", name], sig);
  }

  /** Deletes a namespace; a missing one is not an error (down is idempotent). */
  async netnsDel(name: string, sig: Sig = {}): Promise<void> {
    if (!(await this.netnsList(sig)).includes(name)) return;
    await this.ip(["netns", "del", name], sig);
  }

  async netnsList(sig: Sig = {}): Promise<string[]> {
    const out = await this.ip(["netns", "list"], sig);
    // Lines look like "name" or "name (id: 3)".
    return out
      .split("\n")
      .map((l) => l.trim().split(/\s+/)[0] ?? "")
      .filter((n) => n !== "");
  }

  /** PIDs of every process whose network namespace is NAME (processes this lab started in it). */
  async netnsPids(name: string, sig: Sig = {}): Promise<number[]> {
    const out = await this.ip(["netns", "pids", name], sig, true);
    return out
      .split(/\s+/)
      .filter((s) => /^\d+$/.test(s))
      .map(Number);
  }

  async bridgeAdd(ns: string, name: string, sig: Sig = {}): Promise<void> {
    // STP off: a port forwards as soon as it is up, and partitions move ports between bridges.
    await this.ip(["-n", ns, "link", "add", name, "type", "bridge", "stp_state", "0"], sig);
  }

  async linkDel(ns: string, dev: string, sig: Sig = {}): Promise<void> {
    await this.ip(["-n", ns, "link", "del", dev], sig);
  }

  /** A veth pair whose two ends are born inside their namespaces: nothing appears in the root one. */
  async vethAdd(end: { name: string; ns: string }, peer: { name: string; ns: string }, sig: Sig = {}): Promise<void> {
    await this.ip(["link", "add", end.name, "netns", end.ns, "type", "veth", "peer", "name", peer.name, "netns", peer.ns], sig);
  }

  async linkSetMaster(ns: string, dev: string, master: string, sig: Sig = {}): Promise<void> {
    await this.ip(["-n", ns, "link", "set", dev, "master", master], sig);
  }

  async linkSetUp(ns: string, dev: string, sig: Sig = {}): Promise<void> {
    await this.ip(["-n", ns, "link", "set", dev, "up"], sig);
  }

  async addrAdd(ns: string, dev: string, cidr: string, sig: Sig = {}): Promise<void> {
    await this.ip(["-n", ns, "addr", "add", cidr, "dev", dev], sig);
  }

  async linkNames(ns: string, sig: Sig = {}): Promise<string[]> {
    const out = await this.ip(["-n", ns, "-o", "link", "show"], sig);
    return out
      .split("\n")
      .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1])
      .filter((n): n is string => n !== undefined);
  }
}
