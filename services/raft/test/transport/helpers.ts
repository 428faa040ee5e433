// Shared fixtures for the transport tests: messages, a transport on a free loopback port, waiting.
import { silentLogger } from "@shoal/common";
import { GrpcTransport, type GrpcTransportOptions } from "../../src/transport/grpc-transport.js";
import { MessageType, type Message, type NodeId } from "../../src/core/types.js";

export function msg(from: NodeId, to: NodeId, over: Partial<Message> = {}): Message {
  return {
    type: MessageType.App,
    to,
    from,
    term: 1,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    ...over,
  };
}

export interface Harness {
  t: GrpcTransport;
  received: Message[];
  unreachable: NodeId[];
  /** Peers reported down: their address refused a connection. */
  down: NodeId[];
  snapshotStatus: Array<{ id: NodeId; ok: boolean }>;
}

export async function startTransport(id: NodeId, opts: Partial<GrpcTransportOptions> = {}): Promise<Harness> {
  const t = new GrpcTransport({ id, listen: "127.0.0.1:0", backoff: { initialMs: 20, maxMs: 200 }, ...opts }, { logger: silentLogger() });
  const h: Harness = { t, received: [], unreachable: [], down: [], snapshotStatus: [] };
  t.onMessage((m) => h.received.push(m));
  t.onUnreachable((p) => h.unreachable.push(p));
  t.onDown((p) => h.down.push(p));
  t.onSnapshotStatus((p, ok) => h.snapshotStatus.push({ id: p, ok }));
  await t.start();
  return h;
}

export async function waitFor(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
