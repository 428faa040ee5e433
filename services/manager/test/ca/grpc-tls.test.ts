import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { TLSSocket, connect } from "node:tls";
import * as grpc from "@grpc/grpc-js";
import { freeLoopbackPort } from "@shoal/common";
import {
  CertificateAuthority,
  authorizeCall,
  bootstrapCredentials,
  checkCaDigest,
  clientCredentials,
  createCsr,
  createRootCa,
  generateNodeKey,
  grpcStatusOf,
  peerIdentity,
  serverCredentials,
  type NodeIdentity,
  type NodeRole,
  type ReloadableServerCredentials,
  type RootCaMaterial,
  type TlsMaterial,
} from "../../src/ca/index.js";

const CLUSTER = "cluster-a";

// A tiny JSON-over-gRPC service: one public method, one for any node, one for managers only.
type Reply = { identity: NodeIdentity | null };
const json = {
  requestSerialize: (v: object) => Buffer.from(JSON.stringify(v)),
  requestDeserialize: (b: Buffer) => JSON.parse(b.toString()) as object,
  responseSerialize: (v: Reply) => Buffer.from(JSON.stringify(v)),
  responseDeserialize: (b: Buffer) => JSON.parse(b.toString()) as Reply,
};
const method = (name: string): grpc.MethodDefinition<object, Reply> => ({ path: `/shoal.test.Probe/${name}`, requestStream: false, responseStream: false, ...json });
const probeService = { whoAmI: method("WhoAmI"), anyNode: method("AnyNode"), managerOnly: method("ManagerOnly") };
const ProbeClient = grpc.makeGenericClientConstructor(probeService, "Probe");

function guarded(roles: NodeRole[]): grpc.handleUnaryCall<object, Reply> {
  return (call, cb) => {
    try {
      cb(null, { identity: authorizeCall(call, { roles, clusterId: CLUSTER }) });
    } catch (err) {
      cb(grpcStatusOf(err) as grpc.ServiceError);
    }
  };
}

async function startServer(creds: grpc.ServerCredentials): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  server.addService(probeService, {
    whoAmI: (call: grpc.ServerUnaryCall<object, Reply>, cb: grpc.sendUnaryData<Reply>) => cb(null, { identity: peerIdentity(call) ?? null }),
    anyNode: guarded(["manager", "worker"]),
    managerOnly: guarded(["manager"]),
  });
  const port = await freeLoopbackPort();
  await new Promise<void>((resolve, reject) => server.bindAsync(`127.0.0.1:${port}`, creds, (err) => (err ? reject(err) : resolve())));
  return { server, port };
}

type Call = "whoAmI" | "anyNode" | "managerOnly";

class Probe {
  private readonly client: grpc.Client;
  constructor(port: number, c: { credentials: grpc.ChannelCredentials; channelOptions: grpc.ChannelOptions }) {
    this.client = new ProbeClient(`127.0.0.1:${port}`, c.credentials, c.channelOptions);
  }
  call(name: Call): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const fn = (this.client as unknown as Record<Call, (req: object, opts: grpc.CallOptions, cb: grpc.requestCallback<Reply>) => void>)[name].bind(this.client);
      fn({}, { deadline: Date.now() + 5_000 }, (err, res) => (err ? reject(err) : resolve(res!)));
    });
  }
  close(): void {
    this.client.close();
  }
}

async function rejectsWith(p: Promise<unknown>, code: grpc.status, details?: RegExp): Promise<void> {
  await assert.rejects(p, (err: grpc.ServiceError) => {
    assert.equal(err.code, code, `status ${grpc.status[err.code]} (${err.details})`);
    if (details) assert.match(err.details, details);
    return true;
  });
}

/** The serial of the certificate a fresh TLS handshake with the server is given. */
function servedSerial(port: number, rootCertPem: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, ca: rootCertPem, servername: "shoal-manager", ALPNProtocols: ["h2"] }, () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.destroy();
      resolve(serial);
    });
    socket.once("error", reject);
  });
}

const serialOf = (pem: string): string => new X509Certificate(pem).serialNumber;

describe("ca: gRPC over mutual TLS on 127.0.0.1", function () {
  this.timeout(20_000);
  let root: RootCaMaterial;
  let ca: CertificateAuthority;
  let foreignRoot: RootCaMaterial;
  const servers: grpc.Server[] = [];
  const clients: Probe[] = [];

  async function material(ca: CertificateAuthority, rootCertPem: string, nodeId: string, role: NodeRole, clusterId = CLUSTER): Promise<TlsMaterial> {
    const { keyPem } = await generateNodeKey();
    const certPem = await ca.issue({ csrPem: await createCsr(keyPem), nodeId, role, clusterId });
    return { rootCertPem, certPem, keyPem };
  }

  function probe(port: number, c: { credentials: grpc.ChannelCredentials; channelOptions: grpc.ChannelOptions }): Probe {
    const p = new Probe(port, c);
    clients.push(p);
    return p;
  }

  async function server(creds: grpc.ServerCredentials): Promise<number> {
    const s = await startServer(creds);
    servers.push(s.server);
    return s.port;
  }

  before(async () => {
    root = await createRootCa({ clusterId: CLUSTER });
    ca = new CertificateAuthority(root);
    foreignRoot = await createRootCa({ clusterId: CLUSTER });
  });

  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
    for (const s of servers.splice(0)) s.forceShutdown();
  });

  describe("a manager server", () => {
    let port: number;
    let manager: TlsMaterial;
    let worker: TlsMaterial;

    beforeEach(async () => {
      manager = await material(ca, root.certPem, "m-1", "manager");
      worker = await material(ca, root.certPem, "w-1", "worker");
      port = await server(serverCredentials(() => manager));
    });

    it("lets a manager certificate call a manager-only method and sees who called", async () => {
      const m2 = await material(ca, root.certPem, "m-2", "manager");
      const c = probe(port, clientCredentials({ ...m2, expect: { role: "manager", clusterId: CLUSTER } }));
      assert.deepEqual((await c.call("managerOnly")).identity, { nodeId: "m-2", role: "manager", clusterId: CLUSTER });
    });

    it("refuses a worker certificate on a manager-only method with PERMISSION_DENIED, and accepts it where workers may call", async () => {
      const c = probe(port, clientCredentials({ ...worker, expect: { role: "manager", clusterId: CLUSTER } }));
      await rejectsWith(c.call("managerOnly"), grpc.status.PERMISSION_DENIED, /permission denied: a worker certificate cannot call manager-only RPCs/);
      assert.equal((await c.call("anyNode")).identity?.nodeId, "w-1");
    });

    it("reads a connection's certificate once, however many calls it carries", async () => {
      const c = probe(port, clientCredentials({ ...worker, expect: { role: "manager", clusterId: CLUSTER } }));
      const read = TLSSocket.prototype.getPeerCertificate;
      let serverReads = 0;
      TLSSocket.prototype.getPeerCertificate = function (this: TLSSocket, ...args: [detailed?: boolean]) {
        if (this.localPort === port) serverReads++;
        return read.apply(this, args) as ReturnType<typeof read>;
      } as typeof read;
      try {
        for (let i = 0; i < 5; i++) assert.equal((await c.call("anyNode")).identity?.nodeId, "w-1");
        await rejectsWith(c.call("managerOnly"), grpc.status.PERMISSION_DENIED);
      } finally {
        TLSSocket.prototype.getPeerCertificate = read;
      }
      assert.equal(serverReads, 1);
    });

    it("accepts a client without a certificate on a public method and answers UNAUTHENTICATED on a protected one", async () => {
      const c = probe(port, clientCredentials({ rootCertPem: root.certPem, expect: { role: "manager" } }));
      assert.deepEqual(await c.call("whoAmI"), { identity: null });
      await rejectsWith(c.call("anyNode"), grpc.status.UNAUTHENTICATED);
    });

    it("does not authenticate a client whose certificate another CA issued", async () => {
      const rogue = await material(new CertificateAuthority(foreignRoot), root.certPem, "m-9", "manager");
      const c = probe(port, clientCredentials(rogue));
      assert.deepEqual(await c.call("whoAmI"), { identity: null });
      await rejectsWith(c.call("managerOnly"), grpc.status.UNAUTHENTICATED);
    });

    it("cannot be reached by a client that trusts another root CA", async () => {
      const stranger = await material(new CertificateAuthority(foreignRoot), foreignRoot.certPem, "m-9", "manager");
      const c = probe(port, clientCredentials(stranger));
      await rejectsWith(c.call("whoAmI"), grpc.status.UNAVAILABLE);
    });

    it("lets a joiner with bootstrap credentials reach it without trusting its root; the token digest is what pins the CA", async () => {
      const c = probe(port, bootstrapCredentials());
      assert.deepEqual(await c.call("whoAmI"), { identity: null });
      // What the joiner does with the root it was sent: accept ours, refuse any other.
      checkCaDigest(root.certPem, ca.digest);
      assert.throws(() => checkCaDigest(foreignRoot.certPem, ca.digest), { code: "CA_DIGEST_MISMATCH" });
    });
  });

  it("a client expecting cluster X refuses a server whose certificate names cluster Y", async () => {
    const other = await material(ca, root.certPem, "m-y", "manager", "cluster-y");
    const port = await server(serverCredentials(() => other));
    const client = await material(ca, root.certPem, "m-2", "manager");
    await rejectsWith(probe(port, clientCredentials({ ...client, expect: { clusterId: CLUSTER } })).call("whoAmI"), grpc.status.UNAVAILABLE);
    // Same chain without the expectation connects: the refusal was the cluster check.
    assert.deepEqual(await probe(port, clientCredentials(client)).call("whoAmI"), { identity: { nodeId: "m-2", role: "manager", clusterId: CLUSTER } });
  });

  it("serves a renewed certificate to new connections without restarting the server (reload, then polling)", async () => {
    let current = await material(ca, root.certPem, "m-1", "manager");
    const creds: ReloadableServerCredentials = serverCredentials(() => current, { refreshIntervalMs: 50 });
    const port = await server(creds);
    const first = current;
    assert.equal(await servedSerial(port, root.certPem), serialOf(first.certPem));

    current = await material(ca, root.certPem, "m-1", "manager");
    creds.reload();
    assert.equal(await servedSerial(port, root.certPem), serialOf(current.certPem));
    const m2 = await material(ca, root.certPem, "m-2", "manager");
    assert.equal((await probe(port, clientCredentials({ ...m2, expect: { role: "manager", clusterId: CLUSTER } })).call("managerOnly")).identity?.nodeId, "m-2");

    // Without reload(): the poll picks the new material up.
    current = await material(ca, root.certPem, "m-1", "manager");
    const want = serialOf(current.certPem);
    const deadline = Date.now() + 5_000;
    let served = "";
    while (Date.now() < deadline && (served = await servedSerial(port, root.certPem)) !== want) await new Promise((r) => setTimeout(r, 25));
    assert.equal(served, want);
  });
});
