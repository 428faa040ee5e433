// Small builders for the checker's self-tests.
import { type Entry, EntryType, MessageType } from "../../src/index.js";

export { type Entry, EntryType, MessageType };

const enc = new TextEncoder();

export function makeTestEntry(index: number, term: number, payload: string): Entry {
  return { index, term, type: EntryType.Normal, data: enc.encode(payload) };
}
