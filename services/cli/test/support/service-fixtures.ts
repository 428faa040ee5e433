// Docker-shaped services and tasks for service command and progress tests.
import type { DockerService, DockerTask, ServiceSpec } from "../../src/index.js";
import { SELF_ID, WORKER_ID } from "./fixtures.js";

export const SERVICE_ID = "svcweb000000000000000000a";

export function serviceSpec(over: Partial<ServiceSpec> = {}): ServiceSpec {
  return {
    Name: "web",
    Labels: { team: "a" },
    TaskTemplate: { ContainerSpec: { Image: "busybox:latest", Args: ["httpd"], Env: ["A=1", "B=2"], Extra: "kept" }, Resources: { Limits: {}, Reservations: {} }, Placement: { Constraints: ["node.role==worker"] }, ForceUpdate: 0 },
    Mode: { Replicated: { Replicas: 3 } },
    UpdateConfig: { Parallelism: 1, FailureAction: "pause", Monitor: 0, MaxFailureRatio: 0, Order: "stop-first" },
    RollbackConfig: { Parallelism: 1, FailureAction: "pause", Monitor: 0, MaxFailureRatio: 0, Order: "stop-first" },
    EndpointSpec: { Mode: "vip", Ports: [{ Protocol: "tcp", TargetPort: 80, PublishedPort: 8080, PublishMode: "ingress" }] },
    ...over,
  };
}

export function service(over: Partial<DockerService> = {}): DockerService {
  return { ID: SERVICE_ID, Version: { Index: 42 }, CreatedAt: "2026-11-28T04:00:00Z", Spec: serviceSpec(), ...over };
}

export function task(slot: number, state: string, over: Partial<DockerTask> = {}): DockerTask {
  return {
    ID: `task${slot}${state}`.padEnd(25, "0"),
    ServiceID: SERVICE_ID,
    Slot: slot,
    NodeID: slot % 2 === 0 ? WORKER_ID : SELF_ID,
    DesiredState: "running",
    Status: { State: state as DockerTask["DesiredState"] & string, Timestamp: "2026-11-28T04:00:00Z" } as DockerTask["Status"],
    Spec: { ContainerSpec: { Image: "busybox:latest@sha256:3726e854f7e1" } },
    ...over,
  };
}
