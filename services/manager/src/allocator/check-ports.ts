// The API's check before it stores a service spec: published ports must not clash with other
// services' (DESIGN §2: refused at API time, so the allocator rarely meets a conflict).
import type { MemoryStore, ServiceSpec } from "@shoal/store";
import { AllocatorError } from "./errors.js";
import { conflictMessage, findPortConflict, portName } from "./core/ports.js";

/** Throws ALLOCATOR_PORT_CONFLICT if `spec` publishes a port taken; `serviceId`: the service being updated. */
export function checkPortConflicts(store: MemoryStore, spec: ServiceSpec, serviceId?: string): void {
  if ((spec.endpoint?.ports ?? []).length === 0) return;
  const conflict = store.view((tx) => findPortConflict(spec.endpoint, serviceId, tx.find("service")));
  if (conflict === undefined) return;
  throw new AllocatorError(
    { code: "ALLOCATOR_PORT_CONFLICT", port: portName(conflict.protocol, conflict.port), holderId: conflict.holderId },
    conflictMessage(conflict),
  );
}
