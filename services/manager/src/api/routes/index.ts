// The route plugins, in registration order. A new kind adds its plugin here.
import type { RoutePlugin } from "./context.js";
import { nativeRoutes } from "./native.js";
import { distributionRoutes } from "./distribution.js";
import { unavailableRoutes } from "./unavailable.js";
import { nodeRoutes } from "./nodes.js";
import { serviceRoutes } from "./services.js";
import { swarmRoutes } from "./swarm.js";
import { systemRoutes } from "./system.js";
import { taskRoutes } from "./tasks.js";

export { requireManager, notManagerError, type ApiModules, type RoutePlugin } from "./context.js";
export { withLag, type ClusterStatusView } from "./native.js";

export const ROUTE_PLUGINS: readonly RoutePlugin[] = [systemRoutes, swarmRoutes, nodeRoutes, serviceRoutes, taskRoutes, unavailableRoutes, distributionRoutes, nativeRoutes];
