// `shoal cluster status`: the raft view of the manager that answers (GET /shoal/cluster): who leads,
// at which term and index, and how far each member is behind. Native to Shoal; docker has no such
// command.
import { Option, type Command } from "commander";
import { getClusterStatus, type ClusterStatusView } from "../api/index.js";
import type { CommandContext } from "../context.js";
import type { Field, OutputFormat } from "../output/index.js";
import { OUTPUT_FORMATS } from "../output/index.js";

export function registerClusterCommands(program: Command, ctx: CommandContext): void {
  const cluster = program.command("cluster").description("Inspect the managers' raft cluster");
  cluster
    .command("status")
    .description("Show the leader, term, indexes and every raft member (* marks the manager answering)")
    .addOption(new Option("--format <format>", "output format").choices(OUTPUT_FORMATS))
    .action(async (opts: { format?: OutputFormat }) => {
      const status = await getClusterStatus(ctx.client());
      if (opts.format === "json") {
        ctx.out.json(status);
        return;
      }
      ctx.out.fields(clusterHeader(status));
      ctx.out.line();
      ctx.out.table(["RAFT ID", "NODE", "HOSTNAME", "ADDRESS", "ROLE", "REACHABLE", "MATCH INDEX", "LAG"], memberRows(status));
    });
}

export function clusterHeader(s: ClusterStatusView): Field[] {
  const leader = s.members.find((m) => m.raftId === s.leaderRaftId);
  let leaderText: string;
  if (s.leaderRaftId === 0) leaderText = "none (an election is running or there is no quorum)";
  else if (leader === undefined) leaderText = `raft ${s.leaderRaftId}`;
  else leaderText = `raft ${leader.raftId} (node ${leader.nodeId}${leader.hostname ? ` ${leader.hostname}` : ""} at ${leader.addr})`;
  return [
    ["Cluster ID", s.clusterId],
    ["Leader", leaderText],
    ["Term", s.term],
    ["Commit index", s.commitIndex],
    ["Applied index", s.appliedIndex],
  ];
}

export function memberRows(s: ClusterStatusView): string[][] {
  return [...s.members]
    .sort((a, b) => a.raftId - b.raftId)
    .map((m) => {
      const role = m.leader || m.raftId === s.leaderRaftId ? "leader" : m.suffrage === "learner" ? "learner" : "follower";
      // Only the leader tracks how far each member is; elsewhere only the answering manager's own
      // row is known (older servers sent 0 and no lag for the others). The commit index is the
      // reference point either way.
      const known = m.lag !== null && (s.raftId === s.leaderRaftId || m.raftId === s.raftId);
      const lag = m.lag ?? Math.max(0, s.commitIndex - m.matchIndex);
      return [
        m.raftId === s.raftId ? `${m.raftId} *` : String(m.raftId),
        m.nodeId,
        m.hostname ?? "",
        m.addr,
        role,
        m.reachable ? "yes" : "no",
        known ? String(m.matchIndex) : "-",
        known ? String(lag) : "-",
      ];
    });
}
