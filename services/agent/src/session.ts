// The agent's session with the managers: heartbeats to the leader, as messages on a Heartbeats
// stream (as Heartbeat calls to a manager that lacks the stream). It dials the manager it last
// reached (the leader), follows a follower's redirect to the leader at once, asks a slow leader
// again (up to MAX_UNANSWERED heartbeats in a row), and rotates through the known managers when
// one refuses or keeps not answering. It keeps a connection open to the other managers too, so
// that a new leader needs no TLS handshakes to hear from it. Each new session (first heartbeat,
// or after any failure) re-sends the node description, so that a new leader sees one that
// changed. It reports what the cluster says back (managers, desired role, removal) through
// callbacks and never acts on them itself: the node daemon decides.
import * as grpc from "@grpc/grpc-js";
import { Backoff, describeError, sleep, systemRandom, type Logger, type Random } from "@shoal/common";
import { LEADER_ADDR_KEY, RemoteError, StreamedCalls, callUnary, dispatcherServiceDefinition, isNoAnswer, type controlpb } from "@shoal/proto";

export interface SessionTls {
  credentials: grpc.ChannelCredentials;
  channelOptions: grpc.ChannelOptions;
}

export interface ManagerAddr {
  nodeId: string;
  addr: string;
}

export interface SessionOptions {
  /** The address this node is reached at (IP). */
  advertiseAddr: string;
  /** Managers to start with (host:port); updated from the heartbeat answers that carry the list. */
  managers: string[];
  /**
   * This node's own manager's address (host:port) while it is a manager, else undefined: tried
   * first whatever the leader's list says. A manager that had just joined heard a list naming the
   * leader alone; when that leader was cut off, its agent knew no other manager to ask, while its
   * own manager, which knew the new leader, would have sent it there.
   */
  self?: () => string | undefined;
  /** The node description (hostname, platform, resources…) as a JSON-able object. */
  describe: () => object;
  /** Until the first answer tells the period. */
  initialPeriodMs?: number;
}

export interface SessionEvents {
  onManagers?: (managers: ManagerAddr[]) => void;
  onDesiredRole?: (role: number) => void;
  onRemoved?: () => void;
  onConnected?: (addr: string) => void;
}

export interface SessionModules {
  logger: Logger;
  tls: () => SessionTls;
  random?: Random;
}


/** Heartbeats in a row a manager may leave unanswered before the agent tries the others. */
const MAX_UNANSWERED = 3;

export class AgentSession {
  private readonly log: Logger;
  private readonly random: Random;
  private readonly abort = new AbortController();
  private readonly clients = new Map<string, grpc.Client>();
  private managers: string[];
  private current: string | undefined;
  private next = 0;
  private loop: Promise<void> | undefined;
  private periodMs: number;
  private connectedTo: string | undefined;
  /** The version of the manager list we hold, as the managers named it ("" until one does). */
  private managersVersion = "";
  /** Heartbeats on a stream to the manager, or as calls to one that lacks the stream. */
  private readonly beats: StreamedCalls<controlpb.IHeartbeatRequest, controlpb.HeartbeatResponse>;

  constructor(
    private readonly opts: SessionOptions,
    private readonly modules: SessionModules,
    private readonly events: SessionEvents = {},
  ) {
    this.log = modules.logger.child({ component: "agent-session" });
    this.random = modules.random ?? systemRandom;
    this.managers = [...opts.managers];
    this.periodMs = opts.initialPeriodMs ?? 2_000;
    this.beats = new StreamedCalls(
      dispatcherServiceDefinition.heartbeats,
      (client, req, timeoutMs) => callUnary(client, dispatcherServiceDefinition.heartbeat, req, { deadlineMs: timeoutMs, signal: this.abort.signal }),
      (addr) => this.log.info({ manager: addr }, "agent: the manager has no heartbeat stream; heartbeating with calls"),
    );
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** The manager the last heartbeat reached (the leader), if any. */
  get leader(): string | undefined {
    return this.connectedTo;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    // Fails a heartbeat waiting for its answer, so the loop sees the abort at once.
    this.beats.close();
    await this.loop;
    this.beats.close();
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  /**
   * The managers known from the last heartbeat answer, this node's own first while it is one (the
   * session and the AssignmentsClient rotate through them).
   */
  get knownManagers(): string[] {
    const self = this.opts.self?.();
    return self === undefined ? [...this.managers] : [self, ...this.managers.filter((a) => a !== self)];
  }

  /** The session's channel to a manager, shared with the AssignmentsClient (closed by stop()). */
  client(addr: string): grpc.Client {
    let c = this.clients.get(addr);
    if (c === undefined) {
      const tls = this.modules.tls();
      // grpc-js would wait 1 s, then up to 2 minutes between attempts to connect: after a leader
      // change (a new leader busy with a thousand TLS handshakes) some agents then found it last.
      c = new grpc.Client(addr, tls.credentials, { "grpc.initial_reconnect_backoff_ms": 100, "grpc.max_reconnect_backoff_ms": 2_000, ...tls.channelOptions });
      this.clients.set(addr, c);
    }
    return c;
  }

  /**
   * Keeps a connection open to every other manager (asks each idle channel to connect; a no-op
   * once connected). After a leader change every agent needs the new leader at once: with its
   * TLS handshake still to do, a thousand agents queued on a busy new leader's handshakes and
   * found it over 45 s. A follower holds one idle connection per node for it.
   */
  private warmOthers(current: string): void {
    for (const addr of this.knownManagers) {
      if (addr === current) continue;
      try {
        this.client(addr).getChannel().getConnectivityState(true);
      } catch {
        // A malformed address: the heartbeat loop reports it when it tries that manager.
      }
    }
  }

  private pick(): string | undefined {
    if (this.current !== undefined) return this.current;
    const managers = this.knownManagers;
    if (managers.length === 0) return undefined;
    const addr = managers[this.next % managers.length];
    this.next++;
    return addr;
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    const backoff = new Backoff({ initialMs: 100, maxMs: 2_000 }, () => this.random.next());
    let newSession = true;
    /** Heartbeats in a row the manager we talk to did not answer in time. */
    let unanswered = 0;
    /**
     * The description a new session sends, read once for all its attempts: after a leader change
     * a node may try every manager several times, and reading the OS (its CPU list) each time was
     * a twentieth of a busy agent process's time. Read again for the next session.
     */
    let description: Uint8Array | undefined;
    while (!signal.aborted) {
      const addr = this.pick();
      if (addr === undefined) {
        await sleep(backoff.next(), signal).catch(() => undefined);
        continue;
      }
      try {
        const req: controlpb.IHeartbeatRequest = { advertiseAddr: this.opts.advertiseAddr, newSession, managersVersion: this.managersVersion };
        if (newSession) req.description = description ??= new TextEncoder().encode(JSON.stringify(this.opts.describe()));
        const res = await this.beats.request(addr, this.client(addr), req, Math.max(1_000, this.periodMs));
        backoff.reset();
        unanswered = 0;
        if (res.removed) {
          this.log.warn("agent: the cluster removed this node");
          this.events.onRemoved?.();
          return;
        }
        newSession = false;
        description = undefined;
        this.current = addr;
        if (this.connectedTo !== addr) {
          this.connectedTo = addr;
          this.log.info({ manager: addr }, "agent: session established");
          this.events.onConnected?.(addr);
        }
        this.periodMs = Math.max(100, Number(res.periodMs) || this.periodMs);
        // No list: ours is current (the answer names the version we sent), or the manager has none to give.
        const peers: controlpb.IManagerPeer[] = res.managers ?? [];
        const managers: ManagerAddr[] = peers.map((m) => ({ nodeId: m.nodeId ?? "", addr: m.addr ?? "" })).filter((m) => m.addr !== "");
        if (managers.length > 0) {
          this.managers = managers.map((m) => m.addr);
          this.events.onManagers?.(managers);
        }
        // A version is kept only with the list it names (a manager of an older version sends no
        // version, so the list keeps coming).
        if (managers.length > 0) this.managersVersion = res.managersVersion ?? "";
        else if (res.managersVersion !== this.managersVersion) this.managersVersion = "";
        this.events.onDesiredRole?.(res.desiredRole ?? 0);
        this.warmOthers(addr);
        // Heartbeat a little early (75–95 % of the period, jittered so that a thousand nodes do not
        // beat in step): a slow round trip never costs a period, and the manager is DOWN-marking
        // only after 3 periods. Earlier than that only multiplies the leader's heartbeat load.
        await sleep(this.periodMs * (0.75 + 0.2 * this.random.next()), signal).catch(() => undefined);
      } catch (err) {
        if (signal.aborted) break;
        newSession = true;
        this.connectedTo = undefined;
        const redirect = err instanceof RemoteError ? err.meta[LEADER_ADDR_KEY] : undefined;
        if (typeof redirect === "string" && redirect !== "" && redirect !== addr) {
          this.log.info({ from: addr, to: redirect }, "agent: redirected to the leader");
          this.current = redirect;
          continue;
        }
        // The leader (or the manager a follower named) did not answer in time: a new leader is busy
        // for seconds taking over. Ask it again at once rather than go round the other managers
        // with backoff: that round took longer than the leader's grace period, and a new leader
        // marked hundreds of live nodes DOWN. After MAX_UNANSWERED misses in a row, try the others.
        if (isNoAnswer(err) && addr === this.current && ++unanswered < MAX_UNANSWERED) {
          this.log.info({ manager: addr, unanswered }, "agent: heartbeat unanswered; asking the same manager again");
          continue;
        }
        unanswered = 0;
        this.current = undefined;
        this.log.info({ manager: addr, err: describeError(err) }, "agent: heartbeat failed; trying another manager");
        await sleep(backoff.next(), signal).catch(() => undefined);
      }
    }
  }
}
