// Reassembles one snapshot from the SnapshotChunk frames of a stream.
//
// Owns: chunk order and size checks. The first chunk carries the MsgSnap (metadata, empty data);
// chunks must arrive in order without gaps, and the last one completes exactly total_size bytes.
import type { raftpb } from "@shoal/proto";
import { RaftError } from "../core/errors.js";
import type { Message } from "../core/types.js";
import { decodeMessage, num } from "./codec.js";

type Chunk = NonNullable<raftpb.IFrame["chunk"]>;

export class SnapshotAssembler {
  private message: Message | undefined;
  private buf: Buffer | undefined;
  private snapshotId = 0;
  private received = 0;

  constructor(private readonly maxBytes: number) {}

  /** Feeds one chunk; returns the complete MsgSnap (with its data) after the last chunk. */
  add(chunk: Chunk): Message | undefined {
    const offset = num(chunk.offset);
    const total = num(chunk.totalSize);
    const data = chunk.data ?? new Uint8Array(0);
    if (chunk.message) {
      if (offset !== 0) throw invalid(`first chunk at offset ${offset}`);
      if (total > this.maxBytes) throw invalid(`snapshot of ${total} bytes exceeds the limit of ${this.maxBytes}`);
      const m = decodeMessage(chunk.message);
      if (m.snapshot === undefined) throw invalid("first chunk's message has no snapshot");
      this.message = m;
      this.buf = Buffer.allocUnsafe(total);
      this.snapshotId = num(chunk.snapshotId);
      this.received = 0;
    }
    if (this.message === undefined || this.buf === undefined) throw invalid("chunk without a preceding first chunk");
    if ((num(chunk.snapshotId)) !== this.snapshotId) throw invalid("chunk of another snapshot");
    if (offset !== this.received) throw invalid(`chunk at offset ${offset}, expected ${this.received}`);
    if (offset + data.length > this.buf.length) throw invalid("chunk beyond the announced size");
    this.buf.set(data, offset);
    this.received += data.length;
    if (!chunk.last) return undefined;
    if (this.received !== this.buf.length) throw invalid(`snapshot ended at ${this.received} of ${this.buf.length} bytes`);
    const m = this.message;
    m.snapshot = { metadata: m.snapshot!.metadata, data: this.buf };
    this.message = undefined;
    this.buf = undefined;
    return m;
  }
}

function invalid(detail: string): RaftError {
  return new RaftError("RAFT_INVALID_ARGUMENT", `snapshot stream: ${detail}`);
}
