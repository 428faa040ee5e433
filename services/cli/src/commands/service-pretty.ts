// `service inspect --pretty`: a service as docker's human sections (ID, mode, placement, update and
// rollback configs, container, resources, endpoint). Pure; entries the API left empty are omitted.
import { serviceModeName, type DockerService, type UpdateConfig } from "../api/index.js";
import { capitalize, nonEmpty, type Field } from "../output/index.js";
import { formatDurationNs } from "../parse/index.js";
import { formatBytes } from "./node.js";

const dur = (ns: number | undefined): string | undefined => (ns === undefined ? undefined : formatDurationNs(ns));
const cpus = (nano: number | undefined): number | undefined => (nano === undefined || nano === 0 ? undefined : nano / 1e9);
const bytes = (b: number | undefined): string | undefined => (b === undefined || b === 0 ? undefined : formatBytes(b));
const entries = (m: Record<string, string> | undefined): Field[] | undefined => {
  const e = Object.entries(m ?? {});
  return e.length === 0 ? undefined : e.map(([k, v]): Field => [k, v]);
};
const listOf = (xs: readonly string[] | undefined): string | undefined => (xs === undefined || xs.length === 0 ? undefined : xs.join(", "));

function updateConfigFields(c: UpdateConfig | undefined): Field[] | undefined {
  if (c === undefined) return undefined;
  return [
    ["Parallelism", c.Parallelism],
    ["Delay", dur(c.Delay)],
    ["On failure", c.FailureAction],
    ["Monitoring Period", dur(c.Monitor)],
    ["Max failure ratio", c.MaxFailureRatio],
    ["Update order", c.Order],
  ];
}

export function prettyService(s: DockerService): Field[] {
  const spec = s.Spec;
  const tt = spec.TaskTemplate ?? {};
  const cs = tt.ContainerSpec ?? {};
  const pl = tt.Placement ?? {};
  const res = tt.Resources ?? {};
  const rp = tt.RestartPolicy;
  const hc = cs.Healthcheck;
  const ports = s.Endpoint?.Ports ?? spec.EndpointSpec?.Ports ?? [];
  const job = spec.Mode?.ReplicatedJob;
  return [
    ["ID", s.ID],
    ["Name", spec.Name],
    ["Labels", entries(spec.Labels)],
    ["Service Mode", serviceModeName(s.Spec).split(" ").map(capitalize).join(" ")],
    ["Replicas", spec.Mode?.Replicated?.Replicas],
    ["Max Concurrent", job?.MaxConcurrent],
    ["Total Completions", job?.TotalCompletions],
    [
      "UpdateStatus",
      s.UpdateStatus?.State === undefined
        ? undefined
        : [
            ["State", s.UpdateStatus.State],
            ["Started", nonEmpty(s.UpdateStatus.StartedAt)],
            ["Completed", nonEmpty(s.UpdateStatus.CompletedAt)],
            ["Message", nonEmpty(s.UpdateStatus.Message)],
          ],
    ],
    [
      "Placement",
      [
        ["Constraints", listOf(pl.Constraints)],
        ["Preferences", listOf(pl.Preferences?.map((p) => `Spread: ${p.Spread.SpreadDescriptor}`))],
        ["Max Replicas Per Node", pl.MaxReplicas === 0 ? undefined : pl.MaxReplicas],
      ],
    ],
    ["UpdateConfig", updateConfigFields(spec.UpdateConfig)],
    ["RollbackConfig", updateConfigFields(spec.RollbackConfig)],
    [
      "ContainerSpec",
      [
        ["Image", cs.Image],
        ["Args", cs.Args?.join(" ")],
        ["Env", listOf(cs.Env)],
        ["Dir", nonEmpty(cs.Dir)],
        ["User", nonEmpty(cs.User)],
        ["Hostname", nonEmpty(cs.Hostname)],
        ["Stop grace period", dur(cs.StopGracePeriod)],
        ["Healthcheck", hc === undefined ? undefined : [["Test", hc.Test?.join(" ")], ["Interval", dur(hc.Interval)], ["Timeout", dur(hc.Timeout)], ["Retries", hc.Retries], ["Start period", dur(hc.StartPeriod)]]],
      ],
    ],
    ["Mounts", listOf(cs.Mounts?.map((m) => `${m.Type} ${m.Source ?? ""} → ${m.Target}${m.ReadOnly === true ? " (read-only)" : ""}`.replace("  ", " ")))],
    ["Secrets", listOf(cs.Secrets?.map((r) => `${r.SecretName ?? r.SecretID ?? ""} → ${r.File.Name}`))],
    ["Configs", listOf(cs.Configs?.map((r) => `${r.ConfigName ?? r.ConfigID ?? ""} → ${r.File.Name}`))],
    ["Restart Policy", rp === undefined ? undefined : [["Condition", rp.Condition], ["Delay", dur(rp.Delay)], ["Max attempts", rp.MaxAttempts], ["Window", dur(rp.Window)]]],
    [
      "Resources",
      [
        ["Reservations", cpus(res.Reservations?.NanoCPUs) === undefined && bytes(res.Reservations?.MemoryBytes) === undefined ? undefined : [["CPU", cpus(res.Reservations?.NanoCPUs)], ["Memory", bytes(res.Reservations?.MemoryBytes)]]],
        ["Limits", cpus(res.Limits?.NanoCPUs) === undefined && bytes(res.Limits?.MemoryBytes) === undefined ? undefined : [["CPU", cpus(res.Limits?.NanoCPUs)], ["Memory", bytes(res.Limits?.MemoryBytes)]]],
      ],
    ],
    ["Networks", listOf(tt.Networks?.map((n) => n.Target))],
    ["Endpoint Mode", spec.EndpointSpec?.Mode],
    ["Ports", listOf(ports.map((p) => `${p.PublishedPort ?? ""}->${p.TargetPort ?? ""}/${p.Protocol ?? "tcp"} (${capitalize(p.PublishMode ?? "ingress")})`))],
  ];
}
