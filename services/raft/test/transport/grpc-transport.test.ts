import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { MessageType, EntryType, type Message } from "../../src/core/types.js";
import { msg, startTransport, waitFor, type Harness } from "./helpers.js";

describe("GrpcTransport over loopback", function () {
  this.timeout(20000);
  const started: Harness[] = [];
  const start = async (...args: Parameters<typeof startTransport>): Promise<Harness> => {
    const h = await startTransport(...args);
    started.push(h);
    return h;
  };
  afterEach(async () => {
    await Promise.all(started.splice(0).map((h) => h.t.stop()));
  });

  it("delivers messages in order, batching a burst into few frames", async () => {
    const a = await start(1);
    const b = await start(2);
    a.t.addPeer(2, b.t.address());
    const n = 2000;
    for (let i = 0; i < n; i++) {
      a.t.send([msg(1, 2, { index: i, entries: [{ term: 1, index: i + 1, type: EntryType.Normal, data: new Uint8Array([i & 0xff]) }] })]);
    }
    await waitFor("all messages", () => b.received.length === n);
    assert.deepEqual(
      b.received.map((m) => m.index),
      Array.from({ length: n }, (_, i) => i),
    );
    assert.equal(b.received[77]!.entries[0]!.data[0], 77);
    assert.ok(b.t.stats().framesReceived <= 5, `expected a few frames, got ${b.t.stats().framesReceived}`);
    assert.deepEqual(a.unreachable, []);
  });

  it("splits a burst of large appends into several frames", async () => {
    const a = await start(1);
    const b = await start(2);
    a.t.addPeer(2, b.t.address());
    const big = new Uint8Array(1 << 20).fill(7);
    for (let i = 0; i < 20; i++) a.t.send([msg(1, 2, { index: i, entries: [{ term: 1, index: i + 1, type: EntryType.Normal, data: big }] })]);
    await waitFor("all large messages", () => b.received.length === 20, 10000);
    assert.ok(b.t.stats().framesReceived >= 5, `expected frames of at most ~4 MiB, got ${b.t.stats().framesReceived} frames`);
    assert.equal(b.received[19]!.entries[0]!.data.length, 1 << 20);
    // The receiver asked for a wide HTTP/2 window on both of the sender's streams, so megabytes of
    // appends do not cross 64 KiB per turn of its event loop.
    assert.equal(b.t.stats().wideStreams, 2);
  });

  it("delivers a heartbeat sent after a burst of large appends before the appends have all arrived", async () => {
    const a = await start(1);
    const b = await start(2);
    a.t.addPeer(2, b.t.address());
    a.t.send([msg(1, 2, { index: 0 })]);
    await waitFor("the streams are open", () => b.received.length === 1);
    const big = new Uint8Array(1 << 20).fill(9);
    for (let i = 1; i <= 40; i++) a.t.send([msg(1, 2, { index: i, entries: [{ term: 1, index: i, type: EntryType.Normal, data: big }] })]);
    a.t.send([msg(1, 2, { type: MessageType.Heartbeat, index: 99 })]);
    await waitFor("everything", () => b.received.length === 42, 15000);
    const at = b.received.findIndex((m) => m.type === MessageType.Heartbeat);
    assert.ok(at < 41, `the heartbeat came after all 40 appends (position ${at}): it waited behind them`);
    const appends = b.received.filter((m) => m.type === MessageType.App).map((m) => m.index);
    assert.deepEqual(appends, Array.from({ length: 41 }, (_, i) => i), "appends keep their order");
    // Each lane has its own connection: streams of one HTTP/2 connection share its flow-control
    // window and its socket, where a heartbeat's frame queues behind appends' frames.
    assert.equal(b.t.stats().connections, 2);
  });

  it("sends a large snapshot in chunks, reassembled byte-exact, and reports success", async () => {
    const a = await start(1, { snapshotChunkBytes: 1 << 20 });
    const b = await start(2);
    a.t.addPeer(2, b.t.address());
    const data = randomBytes(5 * (1 << 20) + 12345);
    const confState = { voters: [1, 2], learners: [3], removed: [] };
    a.t.send([msg(1, 2, { type: MessageType.Snap, snapshot: { metadata: { index: 900, term: 4, confState }, data } })]);
    // Ordinary messages are not stuck behind the snapshot's data.
    a.t.send([msg(1, 2, { type: MessageType.Heartbeat })]);
    await waitFor("snapshot", () => b.received.some((m) => m.type === MessageType.Snap), 10000);
    const snap = b.received.find((m) => m.type === MessageType.Snap)!;
    assert.deepEqual(snap.snapshot!.metadata, { index: 900, term: 4, confState });
    assert.ok(Buffer.from(snap.snapshot!.data).equals(data), "snapshot data differs");
    assert.ok(b.t.stats().framesReceived >= 6, "the snapshot came in several chunk frames");
    await waitFor("snapshot status", () => a.snapshotStatus.length === 1);
    assert.deepEqual(a.snapshotStatus, [{ id: 2, ok: true }]);
  });

  it("reports a failed snapshot when the peer is down", async () => {
    const a = await start(1);
    const b = await start(2);
    const addr = b.t.address();
    await b.t.stop();
    a.t.addPeer(2, addr);
    a.t.send([msg(1, 2, { type: MessageType.Snap, snapshot: { metadata: { index: 1, term: 1, confState: { voters: [1], learners: [], removed: [] } }, data: new Uint8Array(10) } })]);
    await waitFor("snapshot status", () => a.snapshotStatus.length === 1);
    assert.deepEqual(a.snapshotStatus, [{ id: 2, ok: false }]);
  });

  /**
   * Member 1 (started with `opts`) sends to member 2 until 2 stops and 1 reports it unreachable;
   * then 2 starts again on the same address. 1's stream to 2 is then in its reconnect backoff.
   */
  async function restartAfterDown(opts: Parameters<typeof startTransport>[1] = {}): Promise<{ a: Harness; b: Harness }> {
    const a = await start(1, opts);
    const first = await start(2);
    const addr = first.t.address();
    a.t.addPeer(2, addr);
    a.t.send([msg(1, 2, { index: 1 })]);
    await waitFor("first message", () => first.received.length === 1);
    await first.t.stop();
    await waitFor("unreachable report", () => {
      a.t.send([msg(1, 2, { index: 2 })]);
      return a.unreachable.includes(2);
    });
    return { a, b: await start(2, { listen: addr }) };
  }

  it("reports a down peer unreachable and reconnects after its server restarts", async () => {
    const { a, b } = await restartAfterDown();
    await waitFor("message after restart", () => {
      a.t.send([msg(1, 2, { index: 3 })]);
      return b.received.some((m) => m.index === 3);
    });
  });

  it("reconnects to a peer at once when that peer sends to it, instead of waiting out its reconnect backoff", async () => {
    // A backoff far longer than the test's wait: only the wake-up can make the message arrive.
    const { a, b } = await restartAfterDown({ backoff: { initialMs: 10_000, maxMs: 10_000 } });
    b.t.addPeer(1, a.t.address());
    b.t.send([msg(2, 1, { index: 7 })]);
    await waitFor("b's message at a", () => a.received.some((m) => m.index === 7));
    await resendUntilReceived(a, b, msg(1, 2, { index: 3 }), "a's message at b, well before a's backoff ran out", 3_000);
  });

  it("gives a peer that sends to it a fresh channel when the old one is still in its reconnect backoff after failed connects", async () => {
    // grpc-js fails new calls on a channel whose last connect failed, at once, until its own
    // backoff runs out (pinned to 10 s here); only a fresh channel can carry a's message sooner.
    const pinned = { "grpc.initial_reconnect_backoff_ms": 10_000, "grpc.min_reconnect_backoff_ms": 10_000, "grpc.max_reconnect_backoff_ms": 10_000 };
    const a = await start(1, { backoff: { initialMs: 50, maxMs: 50 }, channelOptions: pinned });
    const first = await start(2);
    const addr = first.t.address();
    a.t.addPeer(2, addr);
    await resendUntilReceived(a, first, msg(1, 2, { index: 1 }), "a's first message", 5_000);
    await first.t.stop();
    // a's reconnects are refused meanwhile: its channels fail and enter their backoff.
    await waitFor("a down report", () => {
      a.t.send([msg(1, 2, { index: 2 })]);
      return a.down.includes(2);
    });
    const b = await start(2, { listen: addr });
    b.t.addPeer(1, a.t.address());
    b.t.send([msg(2, 1, { index: 7 })]);
    await waitFor("b's message at a", () => a.received.some((m) => m.index === 7));
    await resendUntilReceived(a, b, msg(1, 2, { index: 3 }), "a's message at b, well before its channel's backoff ran out", 3_000);
  });

  it("reports a peer down once its address refuses connections, and not for a full queue", async () => {
    const a = await start(1, { maxQueuedMessages: 2 });
    const b = await start(2);
    a.t.addPeer(2, b.t.address());
    for (let i = 0; i < 5; i++) a.t.send([msg(1, 2, { index: i })]);
    assert.ok(a.unreachable.includes(2), "a full queue is reported unreachable");
    await waitFor("queued messages", () => b.received.length === 2);
    assert.deepEqual(a.down, []);
    await b.t.stop();
    await waitFor("a down report after the peer's listener closed", () => {
      a.t.send([msg(1, 2, { index: 9 })]);
      return a.down.includes(2);
    });
  });

  it("replaces a connection whose stream is not accepted in time (a connect stuck in TCP's SYN backoff after a partition)", async () => {
    // A listener that takes the TCP connection and never answers HTTP/2: the stream waits to be
    // accepted as it would on a connect whose SYNs were lost. Its listening socket then closes
    // (the connection it took stays open and silent) and a real peer takes the port.
    const hole = await silentListener();
    const { port, sockets } = hole;
    try {
      const a = await start(1);
      a.t.addPeer(2, `127.0.0.1:${port}`);
      a.t.send([msg(1, 2, { index: 1 })]);
      await waitFor("a connection to the silent listener", () => sockets.length > 0);
      hole.stopListening();
      await new Promise((r) => setImmediate(r));
      const b = await start(2, { listen: `127.0.0.1:${port}` });
      await resendUntilReceived(a, b, msg(1, 2, { index: 2 }), "a message on a fresh connection", 10_000);
      assert.ok(a.t.stats().connectionsReplaced >= 1, "the stuck connection was replaced");
    } finally {
      hole.destroy();
    }
  });

  it("replaces a connection still waiting to be accepted at once when the peer's own messages get through", async () => {
    const hole = await silentListener();
    const { port, sockets } = hole;
    try {
      // A minute to be accepted: only the message from the peer can bring a fresh connection.
      const a = await start(1, { acceptTimeoutMs: 60_000 });
      a.t.addPeer(2, `127.0.0.1:${port}`);
      a.t.send([msg(1, 2, { index: 1 })]);
      await waitFor("a connection to the silent listener", () => sockets.length > 0);
      hole.stopListening();
      await new Promise((r) => setTimeout(r, 400));
      const b = await start(2, { listen: `127.0.0.1:${port}` });
      b.t.addPeer(1, a.t.address());
      await waitFor(
        "a's message on a fresh connection",
        () => {
          b.t.send([msg(2, 1, { index: 5 })]);
          a.t.send([msg(1, 2, { index: 2 })]);
          return b.received.some((m) => m.index === 2);
        },
        10_000,
      );
      assert.equal(a.t.stats().connectionsReplaced, 1);
    } finally {
      hole.destroy();
    }
  });

  it("closes a connection whose pings go unanswered, so that what a partition held back on it is never delivered after the heal", async () => {
    const b = await start(2, { receiverKeepalive: { intervalMs: 200, timeoutMs: 400 } });
    const proxy = await partitionProxy(Number(b.t.address().split(":")[1]));
    try {
      const a = await start(1);
      a.t.addPeer(2, `127.0.0.1:${proxy.port}`);
      a.t.send([msg(1, 2, { index: 1 })]);
      await waitFor("a's first message at b", () => b.received.some((m) => m.index === 1));
      // The cut: nothing crosses the connections open now, in either direction, and new ones are
      // held as well; a's next append is written into its connection and waits there, as it
      // would in TCP's retransmission queue.
      proxy.cut();
      a.t.send([msg(1, 2, { index: 2 })]);
      // Up to 3 s for b to give the connection up (then heal anyway: without the keepalive, the
      // held append is delivered and the assertion below says so).
      const allDropped = (): boolean => b.t.stats().connectionsDropped >= 1 && b.t.stats().connectionsDropped === b.t.stats().connections;
      await waitFor("b closing the connections its pings went unanswered on", allDropped, 3_000).catch(() => undefined);
      // The heal of the old connections only: what they held is let through.
      proxy.healOld();
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual(
        b.received.map((m) => m.index),
        [1],
        "the append held back by the partition was not delivered",
      );
      // Every connection a's streams reached b on was cut (those opened during the cut reached no
      // further than the proxy), and each was closed.
      assert.ok(b.t.stats().connectionsDropped >= 1);
      assert.equal(b.t.stats().connectionsDropped, b.t.stats().connections, "every connection of a's streams was closed");
    } finally {
      proxy.destroy();
    }
  });

  it("drops messages beyond the queue bound and reports the peer unreachable, without blocking", async () => {
    const a = await start(1, { maxQueuedMessages: 10 });
    const b = await start(2);
    a.t.addPeer(2, b.t.address());
    for (let i = 0; i < 25; i++) a.t.send([msg(1, 2, { index: i })]);
    assert.equal(a.unreachable.filter((p) => p === 2).length, 15);
    await waitFor("queued messages", () => b.received.length === 10);
    assert.deepEqual(
      b.received.map((m) => m.index),
      Array.from({ length: 10 }, (_, i) => i),
    );
  });

  it("drops messages to an unknown or removed peer silently", async () => {
    const a = await start(1);
    const b = await start(2);
    a.t.addPeer(2, b.t.address());
    a.t.removePeer(2);
    a.t.send([msg(1, 2), msg(1, 3)]);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(b.received.length, 0);
  });

  describe("on a shared gRPC server", () => {
    const servers: grpc.Server[] = [];
    afterEach(() => {
      for (const srv of servers.splice(0)) srv.forceShutdown();
    });
    async function sharedServer(): Promise<{ server: grpc.Server; address: string }> {
      const server = new grpc.Server();
      servers.push(server);
      const port = await new Promise<number>((resolve, reject) =>
        server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
      );
      return { server, address: `127.0.0.1:${port}` };
    }

    it("registers on the caller's server, advertises its listen address, and stop() leaves the server serving", async () => {
      const { server, address } = await sharedServer();
      const a = await start(1, { server, listen: address });
      assert.equal(a.t.address(), address);
      const b = await start(2);
      b.t.addPeer(1, address);
      b.t.send([msg(2, 1, { index: 3 })]);
      await waitFor("message through the shared server", () => a.received.length === 1);

      await a.t.stop();
      // The owner's server still runs: a new raft transport can register on it and be reached again.
      const again = await start(1, { server, listen: address });
      await waitFor("message to the re-registered service", () => {
        b.t.send([msg(2, 1, { index: 4 })]);
        return again.received.some((m) => m.index === 4);
      });
      assert.ok(a.received.every((m) => m.index === 3), "the stopped transport received nothing more");
    });
  });

  describe("with mutual TLS", () => {
    let dir: string;
    const pem = (f: string): Buffer => readFileSync(join(dir, f));
    const openssl = (...args: string[]): void => {
      execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
    };
    const makeCa = (name: string): void => {
      openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", `${name}.key`);
      openssl("req", "-x509", "-new", "-key", `${name}.key`, "-subj", `/CN=${name}`, "-days", "1", "-out", `${name}.crt`,
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    };
    const makeLeaf = (name: string, ca: string, extfile = "leaf.cnf"): void => {
      openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", `${name}.key`);
      openssl("req", "-new", "-key", `${name}.key`, "-subj", `/CN=${name}`, "-out", `${name}.csr`);
      openssl("x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.crt`, "-CAkey", `${ca}.key`, "-CAcreateserial", "-days", "1",
        "-extfile", extfile, "-out", `${name}.crt`);
    };
    const tlsFor = (name: string, ca: string) => ({
      server: grpc.ServerCredentials.createSsl(pem(`${ca}.crt`), [{ private_key: pem(`${name}.key`), cert_chain: pem(`${name}.crt`) }], true),
      client: grpc.credentials.createSsl(pem(`${ca}.crt`), pem(`${name}.key`), pem(`${name}.crt`)),
    });

    before(function () {
      this.timeout(20000);
      dir = mkdtempSync(join(tmpdir(), "shoal-raft-tls-"));
      writeFileSync(join(dir, "leaf.cnf"), "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature\n");
      makeCa("ca1");
      makeCa("ca2");
      makeLeaf("a", "ca1");
      makeLeaf("b", "ca1");
      makeLeaf("rogue", "ca2");
      // Manager certificates name the role, not an address: any manager address must verify.
      writeFileSync(join(dir, "role.cnf"), "subjectAltName=DNS:shoal-manager\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature\n");
      makeLeaf("m1", "ca1", "role.cnf");
      makeLeaf("m2", "ca1", "role.cnf");
    });
    after(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it("exchanges messages between members with certificates from the cluster CA", async () => {
      const a = await start(1, { tls: tlsFor("a", "ca1") });
      const b = await start(2, { tls: tlsFor("b", "ca1") });
      a.t.addPeer(2, b.t.address());
      b.t.addPeer(1, a.t.address());
      a.t.send([msg(1, 2, { index: 5 })]);
      b.t.send([msg(2, 1, { index: 6 })]);
      await waitFor("both directions", () => b.received.length === 1 && a.received.length === 1);
      assert.equal(b.received[0]!.index, 5);
      assert.equal(a.received[0]!.index, 6);
    });

    it("refuses a caller the authorize hook rejects (by certificate subject)", async () => {
      const seen: string[] = [];
      const b = await start(2, {
        tls: tlsFor("b", "ca1"),
        authorize: ({ certificate }) => {
          seen.push(String(certificate?.subject?.CN));
          return certificate?.subject?.CN === "a";
        },
      });
      const a = await start(1, { tls: tlsFor("a", "ca1") });
      const other = await start(3, { tls: tlsFor("b", "ca1") });
      a.t.addPeer(2, b.t.address());
      other.t.addPeer(2, b.t.address());
      a.t.send([msg(1, 2, { index: 1 })]);
      await waitFor("authorized message", () => b.received.length === 1);
      await waitFor("unauthorized caller reported unreachable", () => {
        other.t.send([msg(3, 2, { index: 2 })]);
        return other.unreachable.includes(2);
      });
      assert.deepEqual(b.received.map((m) => m.from), [1]);
      assert.ok(seen.includes("b"), "the hook saw the second caller's certificate");
    });

    it("reaches a peer whose certificate names only the role when channelOptions override the TLS target name", async () => {
      const b = await start(2, { tls: tlsFor("m2", "ca1") });
      const plain = await start(1, { tls: tlsFor("m1", "ca1") });
      const named = await start(3, { tls: tlsFor("m1", "ca1"), channelOptions: { "grpc.ssl_target_name_override": "shoal-manager" } });
      plain.t.addPeer(2, b.t.address());
      named.t.addPeer(2, b.t.address());
      named.t.send([msg(3, 2, { index: 7 })]);
      await waitFor("message over the overridden name", () => b.received.length === 1);
      assert.equal(b.received[0]!.from, 3);
      // Without the override 127.0.0.1 does not match the certificate and the handshake fails.
      await waitFor("plain peer reported unreachable", () => {
        plain.t.send([msg(1, 2, { index: 1 })]);
        return plain.unreachable.includes(2);
      });
      assert.deepEqual(b.received.map((m) => m.from), [3]);
    });

    it("refuses a client whose certificate comes from another CA", async () => {
      const b = await start(2, { tls: tlsFor("b", "ca1") });
      // The rogue trusts ca1 (so it would accept b's certificate) but presents a ca2 certificate.
      const rogueTls = {
        server: grpc.ServerCredentials.createInsecure(),
        client: grpc.credentials.createSsl(pem("ca1.crt"), pem("rogue.key"), pem("rogue.crt")),
      };
      const rogue = await start(9, { tls: rogueTls });
      rogue.t.addPeer(2, b.t.address());
      await waitFor("rogue reported unreachable", () => {
        rogue.t.send([msg(9, 2, { index: 1 })]);
        return rogue.unreachable.includes(2);
      });
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(b.received.length, 0);
    });
  });
});

/**
 * A loopback listener that takes TCP connections and never answers HTTP/2: a stream opened over
 * one waits to be accepted, as it would on a connect whose SYNs were lost.
 */
async function silentListener(): Promise<{ port: number; sockets: Socket[]; stopListening: () => void; destroy: () => void }> {
  const sockets: Socket[] = [];
  const server = createServer((sock) => void sockets.push(sock));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as AddressInfo).port,
    sockets,
    // close() stops listening at once (its callback would wait for the silent connections).
    stopListening: () => void server.close(),
    destroy: () => {
      for (const sock of sockets) sock.destroy();
      server.close();
    },
  };
}

/**
 * A loopback TCP proxy to `port` that can be cut like a partition: the connections it carries are
 * kept open, but nothing crosses them (bytes and closes are held), and new connections are held
 * too. healOld() lets through what the connections open at the cut held, and their closes.
 */
async function partitionProxy(port: number): Promise<{ port: number; cut: () => void; healOld: () => void; destroy: () => void }> {
  interface Pair {
    held: boolean;
    sockets: Socket[];
    flush: Array<() => void>;
  }
  const pairs: Pair[] = [];
  let cutting = false;
  const relay = (pair: Pair, from: Socket, to: Socket): (() => void) => {
    const queue: Buffer[] = [];
    let closed = false;
    from.on("data", (d: Buffer) => {
      if (pair.held) queue.push(d);
      else if (!to.destroyed) to.write(d);
    });
    from.on("close", () => {
      closed = true;
      if (!pair.held) to.destroy();
    });
    from.on("error", () => undefined);
    return () => {
      for (const d of queue.splice(0)) if (!to.destroyed) to.write(d);
      if (closed) to.destroy();
    };
  };
  const server: Server = createServer((client) => {
    const upstream = connect(port, "127.0.0.1");
    const pair: Pair = { held: cutting, sockets: [client, upstream], flush: [] };
    pair.flush.push(relay(pair, client, upstream), relay(pair, upstream, client));
    pairs.push(pair);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  let old: Pair[] = [];
  return {
    port: (server.address() as AddressInfo).port,
    cut: () => {
      cutting = true;
      old = [...pairs];
      for (const p of old) p.held = true;
    },
    healOld: () => {
      for (const p of old) {
        p.held = false;
        for (const f of p.flush) f();
      }
    },
    destroy: () => {
      for (const p of pairs) for (const sock of p.sockets) sock.destroy();
      server.close();
    },
  };
}

/** Sends `m` from `from` until `to` has received it (a stream may need a reconnect first). */
async function resendUntilReceived(from: Harness, to: Harness, m: Message, what: string, timeoutMs: number): Promise<void> {
  await waitFor(
    what,
    () => {
      from.t.send([m]);
      return to.received.some((r) => r.index === m.index);
    },
    timeoutMs,
  );
}
