// A raft transport endpoint for the partition test (test/test/raft-partition.test.ts), run as a
// lab host's command: `raft-peer-probe <id> <listen host:port> <peer id> <peer host:port>`.
// It sends its peer a heartbeat every 100 ms and prints, one line each, with Date.now():
//   first <ms>                  the first message from the peer arrived
//   unreachable <ms>            the transport reported the peer unreachable (at most every 250 ms)
//   resumed <ms> <gap ms>       a message arrived after more than a second of silence
// Exits on SIGTERM.
import { silentLogger } from "@shoal/common";
import { GrpcTransport, MessageType } from "@shoal/raft";

const [idArg, listen, peerArg, peerAddress] = process.argv.slice(2);
const id = Number(idArg);
const peer = Number(peerArg);
if (!Number.isSafeInteger(id) || !Number.isSafeInteger(peer) || listen === undefined || peerAddress === undefined) {
  process.stderr.write("usage: raft-peer-probe <id> <listen host:port> <peer id> <peer host:port>\n");
  process.exit(2);
}

const say = (line: string): void => void process.stdout.write(`${line}\n`);
const transport = new GrpcTransport({ id, listen }, { logger: silentLogger() });
let last: number | undefined;
let lastReport = 0;
transport.onMessage(() => {
  const now = Date.now();
  if (last === undefined) say(`first ${now}`);
  else if (now - last > 1000) say(`resumed ${now} ${now - last}`);
  last = now;
});
transport.onUnreachable(() => {
  // At most a line every 250 ms: a report that comes just after a message (a connection replaced
  // while the two were still settling) must not hide the next one.
  const now = Date.now();
  if (now - lastReport < 250) return;
  lastReport = now;
  say(`unreachable ${now}`);
});
transport.onSnapshotStatus(() => undefined);
transport.onRemoved(() => undefined);

await transport.start();
transport.addPeer(peer, peerAddress);
const beat = setInterval(() => {
  transport.send([{ type: MessageType.Heartbeat, to: peer, from: id, term: 1, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0 }]);
}, 100);
process.on("SIGTERM", () => {
  clearInterval(beat);
  void transport.stop().finally(() => process.exit(0));
});
