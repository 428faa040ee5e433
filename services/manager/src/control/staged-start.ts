// Starting the leader-only parts one per event-loop turn. Leadership is learned inside raft's Ready
// loop, and a part's start reads the whole store (seconds at 100,000 tasks): started there in one
// go, they kept a new leader from sending heartbeats for that long, and its followers elected
// another at once.
import { nextTurn } from "@shoal/common";

/**
 * Starts each part on its own later turn of the event loop, while `current()` holds (the
 * leadership that asked is still the one in force); true when every part was started.
 */
export async function startInTurns(parts: readonly { start(): void }[], current: () => boolean): Promise<boolean> {
  for (const part of parts) {
    await nextTurn();
    if (!current()) return false;
    part.start();
  }
  return true;
}
