// Read-modify-write against a versioned object (nodes, services). The managers write these objects
// on their own as well: a node's status, a service's update status during a rolling update. Such a
// write moves the version without touching what the operator edits, and the API then refuses the
// edit as out of sequence (409). The edit is made again on a fresh read when what it was computed
// from is unchanged; when that changed (another operator's edit), the 409 stands.
import { ApiError } from "../errors.js";

/** How many times an edit is posted before a 409 is passed on. */
const EDIT_ATTEMPTS = 5;

export interface Versioned {
  ID: string;
  Version: { Index: number };
}

/**
 * Posts `post(read)`; on a 409, reads the object again (`reread`) and, when its version moved but
 * `same(fresh, read)` holds, posts again on the fresh read. Returns the read that was posted.
 */
export async function postEdit<T extends Versioned>(first: T, reread: (id: string) => Promise<T>, same: (a: T, b: T) => boolean, post: (read: T) => Promise<void>): Promise<T> {
  let read = first;
  for (let attempt = 1; ; attempt++) {
    try {
      await post(read);
      return read;
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 409 || attempt >= EDIT_ATTEMPTS) throw err;
      const fresh = await reread(read.ID);
      if (fresh.Version.Index === read.Version.Index || !same(fresh, read)) throw err;
      read = fresh;
    }
  }
}
