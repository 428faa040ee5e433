// Network: an overlay network. spec is the user's; driverState and ipam are the allocator's
// results. Mirrors proto/objects.proto.
import type { Annotations, Driver, Meta } from "./common.js";

export interface IpamConfig {
  subnet?: string;
  range?: string;
  gateway?: string;
  /** Auxiliary addresses. */
  reserved?: Record<string, string>;
}

export interface IpamOptions {
  driver?: Driver;
  configs?: IpamConfig[];
}

export interface NetworkSpec {
  annotations: Annotations;
  /** name "overlay"; options such as {"encrypted": ""}. */
  driverConfig?: Driver;
  ipv6Enabled?: boolean;
  internal?: boolean;
  ipam?: IpamOptions;
  attachable?: boolean;
  ingress?: boolean;
  configFrom?: string;
}

export interface Network {
  id: string;
  meta: Meta;
  spec: NetworkSpec;
  /** Allocated driver state, e.g. options {"vni": "4096"}. */
  driverState?: Driver;
  /** Allocated IPAM: configs with subnet and gateway filled in. */
  ipam?: IpamOptions;
  pendingDelete?: boolean;
}
