// The TypeScript object model must mirror proto/objects.proto field for field, so that the codec
// can switch to protobuf without losing anything. Fully populated objects of every kind go through
// protobufjs (loaded from the .proto itself) and must come back unchanged, and together they must
// set every field of every message they reach; every TS enum must match its proto enum.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";
import { indexKeys, sameIndexedFields } from "../src/selectors.js";
import {
  CertificateStatus,
  MountType,
  NodeAvailability,
  NodeMembership,
  NodeRole,
  NodeState,
  PortProtocol,
  PublishMode,
  Reachability,
  ResolutionMode,
  RestartCondition,
  TaskState,
  UpdateFailureAction,
  UpdateOrder,
  UpdateState,
  type Cluster,
  type Config,
  type Kind,
  type StoreObject,
  type Network,
  type Node,
  type Secret,
  type Service,
  type ServiceSpec,
  type Task,
  type TaskSpec,
} from "../src/index.js";

const root = protobuf.loadSync(fileURLToPath(new URL("../../../../proto/objects.proto", import.meta.url)));
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const meta = { version: { index: 7 }, createdAt: 1_700_000_000_001, updatedAt: 1_700_000_000_002 };
const ann = (name: string) => ({ name, labels: { a: "b" } });
const drv = (name: string) => ({ name, options: { k: "v" } });

const taskSpec: TaskSpec = {
  container: {
    image: "busybox",
    labels: { l: "1" },
    command: ["sh"],
    args: ["-c", "true"],
    hostname: "h",
    env: ["A=1"],
    dir: "/",
    user: "root",
    groups: ["wheel"],
    tty: true,
    openStdin: true,
    readOnly: true,
    mounts: [
      {
        type: MountType.VOLUME,
        source: "v",
        target: "/v",
        readOnly: true,
        bindOptions: { propagation: "rprivate" },
        volumeOptions: { noCopy: true, labels: { x: "y" }, driverConfig: drv("local") },
        tmpfsOptions: { sizeBytes: 1024, mode: 0o700 },
      },
    ],
    stopGracePeriodNs: 10_000_000_000,
    stopSignal: "SIGTERM",
    healthcheck: { test: ["CMD", "true"], intervalNs: 1, timeoutNs: 2, retries: 3, startPeriodNs: 4, startIntervalNs: 5 },
    secrets: [{ secretId: "s", secretName: "sn", file: { name: "f", uid: "0", gid: "0", mode: 0o444 } }],
    configs: [{ configId: "c", configName: "cn", file: { name: "g", uid: "1", gid: "1", mode: 0o400 } }],
    hosts: ["1.2.3.4 x"],
    init: true,
    sysctls: { "net.ipv4.ip_forward": "1" },
    capabilityAdd: ["NET_ADMIN"],
    capabilityDrop: ["MKNOD"],
  },
  resources: {
    limits: { nanoCpus: 1e9, memoryBytes: 2 ** 30, generic: [{ kind: "gpu", named: "uuid-1" }, { kind: "ssd", discrete: 2 }] },
    reservations: { nanoCpus: 5e8, memoryBytes: 2 ** 29, generic: [{ kind: "gpu", discrete: 1 }] },
  },
  restart: { condition: RestartCondition.ON_FAILURE, delayNs: 5e9, maxAttempts: 3, windowNs: 6e10 },
  placement: {
    constraints: ["node.role==manager"],
    preferences: [{ spread: { spreadDescriptor: "node.labels.zone" } }],
    maxReplicas: 2,
    platforms: [{ architecture: "amd64", os: "linux" }],
  },
  networks: [{ target: "n1", aliases: ["web"], addresses: ["10.0.0.2/24"], driverAttachmentOpts: { o: "p" } }],
  logDriver: drv("json-file"),
  forceUpdate: 1,
  runtime: "container",
};

const update = { parallelism: 2, delayNs: 1e9, failureAction: UpdateFailureAction.ROLLBACK, monitorNs: 5e9, maxFailureRatio: 0.5, order: UpdateOrder.START_FIRST };
const ports = [{ name: "http", protocol: PortProtocol.UDP, targetPort: 80, publishedPort: 30080, publishMode: PublishMode.HOST }];
const spec = (mode: Partial<ServiceSpec>): ServiceSpec => ({
  annotations: ann("web"),
  task: taskSpec,
  ...mode,
  update,
  rollback: update,
  endpoint: { mode: ResolutionMode.DNSRR, ports },
});
const endpoint = { spec: { mode: ResolutionMode.DNSRR, ports }, ports, virtualIps: [{ networkId: "n1", addr: "10.0.0.5/24" }] };

const services: Service[] = [
  {
    id: "svc",
    meta,
    spec: spec({ replicated: { replicas: 3 } }),
    previousSpec: spec({ global: {} }),
    endpoint,
    updateStatus: { state: UpdateState.ROLLBACK_PAUSED, startedAt: 1, completedAt: 2, message: "m" },
    jobStatus: { jobIteration: 4, lastExecution: 3 },
    pendingDelete: true,
  },
  { id: "job", meta, spec: spec({ replicatedJob: { maxConcurrent: 2, totalCompletions: 10 } }), previousSpec: spec({ globalJob: {} }) },
];

const attachment = { networkId: "n1", addresses: ["10.0.0.3/24"], aliases: ["a"], driverAttachmentOpts: { d: "e" } };

const tasks: Task[] = [
  {
    id: "task",
    meta,
    spec: taskSpec,
    specVersion: 6,
    serviceId: "svc",
    slot: 1,
    nodeId: "node",
    annotations: ann("web.1"),
    serviceAnnotations: ann("web"),
    status: {
      timestamp: 5,
      state: TaskState.RUNNING,
      message: "started",
      err: "none",
      containerStatus: { containerId: "c", pid: 42, exitCode: 1 },
      portStatus: { ports },
      appliedAt: 6,
    },
    desiredState: TaskState.SHUTDOWN,
    networks: [attachment],
    endpoint,
    logDriver: drv("json-file"),
    assignedGenericResources: [{ kind: "gpu", named: "uuid-1" }],
    jobIteration: 2,
  },
];

const nodes: Node[] = [
  {
    id: "node",
    meta,
    spec: { annotations: ann("n"), desiredRole: NodeRole.MANAGER, membership: NodeMembership.ACCEPTED, availability: NodeAvailability.DRAIN },
    description: {
      hostname: "h",
      platform: { architecture: "x86_64", os: "linux" },
      resources: { nanoCpus: 2e9, memoryBytes: 2 ** 31, generic: [{ kind: "gpu", discrete: 1 }] },
      engine: { engineVersion: "0.1.0", labels: { e: "f" }, plugins: [drv("overlay")] },
      tlsInfo: { trustRoot: bytes("root"), certIssuerSubject: bytes("subj"), certIssuerPublicKey: bytes("pub") },
      fips: true,
    },
    status: { state: NodeState.READY, message: "ok", addr: "10.0.0.1" },
    managerStatus: { raftId: 3, addr: "10.0.0.1:4242", leader: true, reachability: Reachability.REACHABLE },
    role: NodeRole.MANAGER,
    certificate: { role: NodeRole.MANAGER, csr: bytes("csr"), status: CertificateStatus.ISSUED, statusErr: "e", certificate: bytes("cert"), cn: "node" },
    attachments: [attachment],
  },
];

const ipam = { driver: drv("default"), configs: [{ subnet: "10.0.0.0/24", range: "10.0.0.0/25", gateway: "10.0.0.1", reserved: { r: "10.0.0.9" } }] };
const networks: Network[] = [
  {
    id: "net",
    meta,
    spec: { annotations: ann("front"), driverConfig: drv("overlay"), ipv6Enabled: true, internal: true, ipam, attachable: true, ingress: true, configFrom: "cfg" },
    driverState: { name: "overlay", options: { vni: "4096" } },
    ipam,
    pendingDelete: true,
  },
];

const secrets: Secret[] = [{ id: "sec", meta, spec: { annotations: ann("pw"), data: bytes("x"), driver: drv("vault"), templating: drv("golang") }, internal: true }];
const configs: Config[] = [{ id: "cfg", meta, spec: { annotations: ann("conf"), data: bytes("y"), templating: drv("golang") } }];
const key = { subsystem: "networking:gossip", algorithm: 1, key: bytes("k"), lamportTime: 3 };
const clusters: Cluster[] = [
  {
    id: "cl",
    meta,
    spec: {
      annotations: ann("default"),
      orchestration: { taskHistoryRetentionLimit: 5 },
      raft: { snapshotInterval: 10000, keepOldSnapshots: 1, logEntriesForSlowFollowers: 500, heartbeatTick: 1, electionTick: 10 },
      dispatcher: { heartbeatPeriodNs: 5e9 },
      caConfig: {
        nodeCertExpiryNs: 7.776e15,
        externalCas: [{ protocol: "cfssl", url: "https://ca", options: { o: "p" }, caCert: bytes("ext") }],
        signingCaCert: bytes("sc"),
        signingCaKey: bytes("sk"),
        forceRotate: 1,
      },
      encryptionConfig: { autoLockManagers: true },
      taskDefaults: { logDriver: drv("json-file") },
    },
    rootCa: { caCert: bytes("ca"), caKey: bytes("key"), caCertHash: "sha256:x", joinTokens: { worker: "w", manager: "m" }, lastForcedRotation: 1 },
    networkBootstrapKeys: [key],
    encryptionKeyLamportClock: 3,
    unlockKeys: [key],
    defaultAddressPool: ["10.0.0.0/8"],
    subnetSize: 24,
    vxlanUdpPort: 4789,
  },
];

const byKind: Record<Kind, { type: string; objects: object[] }> = {
  service: { type: "Service", objects: services },
  task: { type: "Task", objects: tasks },
  node: { type: "Node", objects: nodes },
  network: { type: "Network", objects: networks },
  secret: { type: "Secret", objects: secrets },
  config: { type: "Config", objects: configs },
  cluster: { type: "Cluster", objects: clusters },
};

const toObjectOpts = { longs: Number, enums: Number, bytes: Uint8Array } as unknown as protobuf.IConversionOptions;

/** Normalizes Buffers to Uint8Array so deepEqual compares bytes, not classes. */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return new Uint8Array(v);
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

/** Records "Message.field" for every field set anywhere in obj. */
function cover(type: protobuf.Type, obj: Record<string, unknown>, seen: Set<string>): void {
  for (const field of type.fieldsArray) {
    const v = obj[field.name];
    if (v === undefined) continue;
    seen.add(`${type.name}.${field.name}`);
    field.resolve();
    if (!(field.resolvedType instanceof protobuf.Type)) continue;
    const sub = field.resolvedType;
    const items = field.map ? Object.values(v as object) : field.repeated ? (v as unknown[]) : [v];
    for (const item of items) cover(sub, item as Record<string, unknown>, seen);
  }
}

function allFields(type: protobuf.Type, out: Set<string>, visited = new Set<string>()): void {
  if (visited.has(type.fullName)) return;
  visited.add(type.fullName);
  for (const field of type.fieldsArray) {
    out.add(`${type.name}.${field.name}`);
    field.resolve();
    if (field.resolvedType instanceof protobuf.Type) allFields(field.resolvedType, out, visited);
  }
}

describe("object model mirrors proto/objects.proto", () => {
  for (const [kind, { type, objects }] of Object.entries(byKind)) {
    it(`a fully populated ${kind} survives protobuf encoding unchanged`, () => {
      const T = root.lookupType(`shoal.objects.${type}`);
      for (const obj of objects) {
        const msg = T.fromObject(obj as Record<string, unknown>);
        const back = T.toObject(T.decode(T.encode(msg).finish()), toObjectOpts);
        assert.deepEqual(plain(back), plain(obj));
      }
    });
  }

  it("the populated objects set every field of every message they reach", () => {
    const seen = new Set<string>();
    const expected = new Set<string>();
    for (const { type, objects } of Object.values(byKind)) {
      const T = root.lookupType(`shoal.objects.${type}`);
      allFields(T, expected);
      for (const obj of objects) cover(T, obj as Record<string, unknown>, seen);
    }
    assert.deepEqual([...expected].filter((f) => !seen.has(f)).sort(), []);
  });

  it("every TypeScript enum has the proto enum's names and numbers", () => {
    const pairs: Array<[Record<string, string | number>, string]> = [
      [TaskState, "TaskState"],
      [MountType, "Mount.Type"],
      [RestartCondition, "RestartPolicy.Condition"],
      [UpdateFailureAction, "UpdateConfig.FailureAction"],
      [UpdateOrder, "UpdateConfig.Order"],
      [PortProtocol, "PortConfig.Protocol"],
      [PublishMode, "PortConfig.PublishMode"],
      [ResolutionMode, "EndpointSpec.ResolutionMode"],
      [UpdateState, "UpdateStatus.State"],
      [NodeRole, "NodeSpec.Role"],
      [NodeMembership, "NodeSpec.Membership"],
      [NodeAvailability, "NodeSpec.Availability"],
      [NodeState, "NodeStatus.State"],
      [Reachability, "RaftMemberStatus.Reachability"],
      [CertificateStatus, "Certificate.Status"],
    ];
    for (const [tsEnum, name] of pairs) {
      const values = { ...root.lookupEnum(`shoal.objects.${name}`).values };
      const tsValues = Object.fromEntries(Object.entries(tsEnum).filter(([, v]) => typeof v === "number"));
      assert.deepEqual(tsValues, values, name);
    }
  });
});

// Tables skip re-indexing an update when sameIndexedFields() finds every indexed field unchanged:
// that list must name every top-level field indexKeys() reads, which the fully populated objects
// (every field set) show.
describe("index keys come only from the fields sameIndexedFields compares", () => {
  for (const [kind, { objects }] of Object.entries(byKind) as Array<[Kind, { objects: object[] }]>) {
    it(`${kind}: changing any field indexKeys reads counts as a change; copying the object does not`, () => {
      for (const obj of objects) {
        const read = new Set<string>();
        const spy = new Proxy(obj, {
          get(target, key, receiver) {
            if (typeof key === "string") read.add(key);
            return Reflect.get(target, key, receiver) as unknown;
          },
        });
        indexKeys(kind, spy as StoreObject);
        assert.ok(read.size > 0, `${kind}: indexKeys read no field`);
        const o = obj as Record<string, unknown>;
        const as = (x: Record<string, unknown>): StoreObject => x as unknown as StoreObject;
        assert.equal(sameIndexedFields(kind, as(o), as({ ...o })), true);
        for (const field of read) {
          const v = o[field];
          const changed = typeof v === "number" ? v + 1 : typeof v === "string" ? `${v}x` : v === undefined ? {} : structuredClone(v);
          assert.equal(sameIndexedFields(kind, as(o), as({ ...o, [field]: changed })), false, `${kind}.${field} is read by indexKeys but not compared`);
        }
      }
    });
  }
});
