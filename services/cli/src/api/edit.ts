// Read-modify-write against a versioned object (nodes, services). The managers write these objects
// on their own as well: a node's status, a service's update status during a rolling update. Such a
// write moves the version without touching what the operator edits, and the API then refuses the
// edit as out of sequence (409). The edit is made again on a fresh read when what it was computed
// from is unchanged; when that changed (another operator's edit), the 409 stands.
import { sleep } from "@shoal/common";
import { ApiError } from "../errors.js";

/** How many times an edit is posted before a 409 is passed on. */
const EDIT_ATTEMPTS = 5;
/**
 * How long a 409 waits for the write that caused it to show in reads: the leader checks an edit
 * against its writes still in flight, but answers reads from what it has applied, a few
 * milliseconds behind (longer under load).
 */
const CONFLICT_VISIBLE_MS = 2_000;
const REREAD_EVERY_MS = 50;

export interface Versioned {
  ID: string;
  Version: { Index: number };
}

/**
 * Posts `post(read)`; on a 409, reads the object again (`reread`) until its version moved (for at
 * most CONFLICT_VISIBLE_MS) and, when `same(fresh, read)` holds, posts again on the fresh read.
 * Returns the read that was posted.
 */
export async function postEdit<T extends Versioned>(first: T, reread: (id: string) => Promise<T>, same: (a: T, b: T) => boolean, post: (read: T) => Promise<void>): Promise<T> {
  let read = first;
  for (let attempt = 1; ; attempt++) {
    try {
      await post(read);
      return read;
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 409 || attempt >= EDIT_ATTEMPTS) throw err;
      let fresh = await reread(read.ID);
      for (let waited = 0; fresh.Version.Index === read.Version.Index && waited < CONFLICT_VISIBLE_MS; waited += REREAD_EVERY_MS) {
        await sleep(REREAD_EVERY_MS);
        fresh = await reread(read.ID);
      }
      if (fresh.Version.Index === read.Version.Index || !same(fresh, read)) throw err;
      read = fresh;
    }
  }
}
