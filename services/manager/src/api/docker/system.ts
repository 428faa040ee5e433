// The node-level Docker shapes: /version, /info and the Swarm header of /_ping. Built from the
// node's LocalNodeInfo plus, on a manager, the cluster object and node counts.
import type { Cluster, ClusterSettingDefaults } from "@shoal/store";
import type { LocalNodeInfo } from "../backend.js";
import { clusterInfoToDocker, type DockerClusterInfo } from "./cluster.js";

export const API_VERSION = "1.50";
export const MIN_API_VERSION = "1.24";

/** The `Swarm` header of /_ping: inactive, pending, error, locked, active/worker, active/manager. */
export function swarmHeader(info: LocalNodeInfo): string {
  if (info.localNodeState !== "active") return info.localNodeState;
  return info.controlAvailable ? "active/manager" : "active/worker";
}

export function versionToDocker(info: LocalNodeInfo): Record<string, unknown> {
  return {
    Platform: { Name: "Shoal" },
    Components: [{ Name: "Shoal", Version: info.version, Details: { ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, Os: info.os, Arch: info.architecture } }],
    Version: info.version,
    ApiVersion: API_VERSION,
    MinAPIVersion: MIN_API_VERSION,
    GitCommit: "",
    GoVersion: "",
    Os: info.os,
    Arch: info.architecture,
    KernelVersion: info.kernelVersion,
    Experimental: false,
    BuildTime: "",
  };
}

/** What a manager adds to /info's Swarm section. */
export interface ManagerView {
  cluster: Cluster | undefined;
  /** The manager's values for the settings the cluster spec leaves unset. */
  settings: ClusterSettingDefaults;
  nodes: number;
  managers: number;
}

export interface DockerSwarmInfo {
  NodeID: string;
  NodeAddr: string;
  LocalNodeState: string;
  ControlAvailable: boolean;
  Error: string;
  RemoteManagers: { NodeID: string; Addr: string }[] | null;
  Nodes?: number;
  Managers?: number;
  Cluster?: DockerClusterInfo;
}

export function infoToDocker(info: LocalNodeInfo, manager: ManagerView | undefined): Record<string, unknown> {
  const swarm: DockerSwarmInfo = {
    NodeID: info.nodeId,
    NodeAddr: info.nodeAddr,
    LocalNodeState: info.localNodeState,
    ControlAvailable: info.controlAvailable,
    Error: info.error,
    RemoteManagers: info.remoteManagers.length === 0 ? null : info.remoteManagers.map((m) => ({ NodeID: m.nodeId, Addr: m.addr })),
  };
  if (manager !== undefined) {
    swarm.Nodes = manager.nodes;
    swarm.Managers = manager.managers;
    if (manager.cluster !== undefined) swarm.Cluster = clusterInfoToDocker(manager.cluster, manager.settings);
  }
  return {
    ID: info.nodeId || info.hostname,
    Containers: 0,
    ContainersRunning: 0,
    ContainersPaused: 0,
    ContainersStopped: 0,
    Images: 0,
    Driver: "overlay",
    Plugins: { Volume: [], Network: ["overlay"], Authorization: null, Log: [] },
    MemoryLimit: true,
    SwapLimit: false,
    Debug: false,
    NFd: 0,
    NGoroutines: 0,
    SystemTime: new Date().toISOString(),
    LoggingDriver: "",
    CgroupDriver: "",
    NEventsListener: 0,
    KernelVersion: info.kernelVersion,
    OperatingSystem: info.os === "linux" ? "Linux" : info.os,
    OSType: "linux",
    Architecture: info.architecture,
    NCPU: info.ncpu,
    MemTotal: info.memTotalBytes,
    IndexServerAddress: "",
    RegistryConfig: null,
    DockerRootDir: "",
    Name: info.hostname,
    Labels: [],
    ExperimentalBuild: false,
    ServerVersion: info.version,
    Runtimes: { runc: { path: "runc" } },
    DefaultRuntime: "runc",
    Swarm: swarm,
    LiveRestoreEnabled: false,
    Isolation: "",
    InitBinary: "",
    SecurityOptions: [],
    Warnings: null,
  };
}
