import { strict as assert } from "node:assert";
import { PortProtocol, PublishMode, TaskState, type Endpoint, type EndpointSpec, type Service } from "@shoal/store";
import { service, taskOf, NOW } from "../orchestrator/fixtures.js";
import { DYNAMIC_PORT_END, DYNAMIC_PORT_START, allocateEndpoints, allocateTask, conflictMessage, findPortConflict, standaloneEndpoint, type EndpointChange } from "../../src/allocator/index.js";

function svc(id: string, endpoint: EndpointSpec | undefined, createdAt = NOW): Service {
  const s = service(id, { replicated: { replicas: 1 } }, endpoint === undefined ? {} : { spec: { endpoint } });
  s.meta.createdAt = createdAt;
  return s;
}

/** Applies the changes, as the edge would write them. */
function applied(services: Service[], changes: EndpointChange[]): Service[] {
  return services.map((s) => {
    const c = changes.find((x) => x.serviceId === s.id);
    if (c === undefined) return s;
    const out = { ...s };
    if (c.endpoint === undefined) delete out.endpoint;
    else out.endpoint = c.endpoint;
    return out;
  });
}

const published = (s: { endpoint?: Endpoint | undefined }): (number | undefined)[] => (s.endpoint?.ports ?? []).map((p) => p.publishedPort);
const ingress = (targetPort: number, publishedPort = 0) => ({ targetPort, publishedPort });
const host = (targetPort: number, publishedPort: number) => ({ targetPort, publishedPort, publishMode: PublishMode.HOST });

describe("allocator core", () => {
  it("gives ingress ports asked as 0 the lowest free ports of the dynamic range 30000–32767", () => {
    const changes = allocateEndpoints([svc("a", { ports: [ingress(80), ingress(443)] }, NOW), svc("b", { ports: [ingress(80)] }, NOW + 1)]);
    assert.deepEqual(changes.map(published), [[30000, 30001], [30002]]);
    assert.equal(changes[0]!.endpoint!.ports![0]!.protocol, PortProtocol.TCP);
    assert.equal(changes[0]!.endpoint!.ports![0]!.publishMode, PublishMode.INGRESS);
  });

  it("keeps a dynamic port across re-allocation and spec updates that still ask for it", () => {
    let services = [svc("a", { ports: [ingress(80)] })];
    services = applied(services, allocateEndpoints(services));
    assert.deepEqual(allocateEndpoints(services), [], "an allocated endpoint is left alone");
    services[0] = { ...services[0]!, spec: { ...services[0]!.spec, endpoint: { ports: [ingress(443), ingress(80)] } } };
    const [change] = allocateEndpoints(services);
    assert.deepEqual(published(change!), [30001, 30000]);
  });

  it("leaves host-mode ports as published and claims nothing for them", () => {
    const changes = allocateEndpoints([svc("a", { ports: [host(80, 8080)] }), svc("b", { ports: [host(80, 8080)] }, NOW + 1)]);
    assert.deepEqual(changes.map(published), [[8080], [8080]]);
    assert.ok(changes.every((c) => c.conflicts.length === 0));
  });

  it("leaves out an explicit port another (older) service holds, and grants it once that service is gone", () => {
    let services = [svc("old", { ports: [ingress(80, 8080)] }, NOW), svc("young", { ports: [ingress(81, 8080)] }, NOW + 1)];
    const changes = allocateEndpoints(services);
    assert.deepEqual(changes.map(published), [[8080], []]);
    assert.equal(conflictMessage({ ...changes[1]!.conflicts[0]! }), "port 8080/tcp is already in use by service 'svc-old' (old) as an ingress port");
    services = applied(services, changes).filter((s) => s.id !== "old");
    assert.deepEqual(allocateEndpoints(services).map(published), [[8080]]);
  });

  it("says so when the dynamic range is used up", () => {
    const ports = Array.from({ length: DYNAMIC_PORT_END - DYNAMIC_PORT_START + 2 }, (_, i) => ingress(i + 1));
    const [change] = allocateEndpoints([svc("big", { ports })]);
    assert.equal(change!.endpoint!.ports!.length, ports.length - 1);
    assert.equal(change!.endpoint!.ports!.at(-1)!.publishedPort, DYNAMIC_PORT_END);
    assert.equal(conflictMessage(change!.conflicts[0]!), "no free port left in the dynamic range 30000-32767 for tcp");
  });

  it("frees ports a service no longer publishes", () => {
    let services = [svc("a", { ports: [ingress(80, 8080)] }), svc("b", undefined, NOW + 1)];
    services = applied(services, allocateEndpoints(services));
    services[0] = { ...services[0]!, spec: { ...services[0]!.spec, endpoint: { ports: [] } } };
    services[1] = { ...services[1]!, spec: { ...services[1]!.spec, endpoint: { ports: [ingress(80, 8080)] } } };
    assert.deepEqual(allocateEndpoints(services).map(published), [[], [8080]]);
  });

  it("finds port conflicts as the API must refuse them", () => {
    const a = svc("a", { ports: [ingress(80, 8080)] });
    const h = svc("h", { ports: [host(80, 9090)] });
    const others = [a, h];
    assert.equal(findPortConflict({ ports: [ingress(81, 8080)] }, undefined, others)?.holderId, "a");
    assert.equal(findPortConflict({ ports: [host(81, 8080)] }, undefined, others)?.holderId, "a", "host mode cannot take an ingress port");
    assert.equal(findPortConflict({ ports: [ingress(81, 9090)] }, undefined, others)?.holderMode, PublishMode.HOST);
    assert.equal(findPortConflict({ ports: [host(81, 9090)] }, undefined, others), undefined, "host ports may be shared (the scheduler spreads them)");
    assert.equal(findPortConflict({ ports: [ingress(81, 8080), { targetPort: 82, publishedPort: 8080, protocol: PortProtocol.UDP }] }, "a", others), undefined, "a service does not conflict with itself; udp is not tcp");
    const dup = findPortConflict({ ports: [ingress(81, 7000), ingress(82, 7000)] }, undefined, others);
    assert.equal(conflictMessage(dup!), "port 7000/tcp is published more than once");
    const allocated = { ...svc("d", { ports: [ingress(80)] }), endpoint: { ports: [{ targetPort: 80, publishedPort: 30000 }] } };
    assert.equal(findPortConflict({ ports: [ingress(1, 30000)] }, undefined, [allocated])?.holderId, "d", "allocated dynamic ports count");
  });

  it("allocates on its own an endpoint that claims no ingress port, as allocateEndpoints would among others", () => {
    const others = applied([svc("o", { ports: [ingress(80, 8080)] })], allocateEndpoints([svc("o", { ports: [ingress(80, 8080)] })]));
    const vip = svc("v", { ports: [host(80, 8080)] }, NOW + 1);
    const endpoint = standaloneEndpoint(vip);
    assert.ok(endpoint !== undefined);
    assert.deepEqual(allocateEndpoints([...others, { ...vip, endpoint }]), [], "the allocator's loop finds nothing to change");
    assert.deepEqual(standaloneEndpoint({ ...vip, endpoint }), undefined, "an allocated endpoint is left alone");
    assert.equal(standaloneEndpoint(svc("i", { ports: [ingress(80)] })), undefined, "an ingress port needs every service's claims");
    assert.equal(standaloneEndpoint(svc("n", undefined)), undefined, "no endpoint spec, nothing to allocate");
  });

  it("moves a NEW task to PENDING with its service's endpoint once that is allocated", () => {
    const s = svc("a", { ports: [ingress(80)] });
    const task = taskOf(s, { slot: 1, state: TaskState.NEW });
    task.endpoint = { spec: s.spec.endpoint! };
    assert.equal(allocateTask(task, s, NOW), undefined, "the endpoint is not allocated yet");
    const [change] = allocateEndpoints([s]);
    const ready = { ...s, endpoint: change!.endpoint! };
    const pending = allocateTask(task, ready, NOW + 5)!;
    assert.equal(pending.status.state, TaskState.PENDING);
    assert.equal(pending.status.timestamp, NOW + 5);
    assert.deepEqual(published(pending), [30000]);
    assert.equal(allocateTask({ ...task, desiredState: TaskState.SHUTDOWN }, ready, NOW), undefined, "a task stopped before allocation stays");
    assert.equal(allocateTask(task, undefined, NOW), undefined, "no service, no allocation");
  });
});
