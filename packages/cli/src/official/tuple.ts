import type { CheckpointMetadata, CheckpointTuple, Checkpoint, SerializerProtocol } from "@langchain/langgraph-checkpoint";

/** Where one official checkpoint row sits: its namespace, id and parent. */
export interface RowPosition {
  checkpoint_ns: string;
  checkpoint_id: string;
  parent_checkpoint_id: string | null;
}

/** A pending write as an official table stores it: the serializer's type and bytes (or text). */
export interface StoredWrite {
  task_id: string;
  channel: string;
  type: string | null;
  data: Uint8Array | string;
  /** Counted into the tuple's size. */
  bytes: number;
}

/**
 * The `CheckpointTuple` the official saver's `getTuple` returns for a row: its pending writes decoded in
 * the order given, config and parent config, and the bytes read for it (`bytes` + every write's).
 */
export async function officialTuple(
  serde: SerializerProtocol,
  threadId: string,
  row: RowPosition,
  checkpoint: Checkpoint,
  metadata: CheckpointMetadata,
  writes: StoredWrite[],
  bytes: number,
): Promise<{ tuple: CheckpointTuple; bytes: number }> {
  const pendingWrites = await Promise.all(
    writes.map(async (w): Promise<[string, string, unknown]> => {
      bytes += w.bytes;
      return [w.task_id, w.channel, await serde.loadsTyped(w.type ?? "json", w.data)];
    }),
  );
  const tuple: CheckpointTuple = {
    config: { configurable: { thread_id: threadId, checkpoint_ns: row.checkpoint_ns, checkpoint_id: row.checkpoint_id } },
    checkpoint,
    metadata,
    pendingWrites,
  };
  if (row.parent_checkpoint_id) tuple.parentConfig = { configurable: { thread_id: threadId, checkpoint_ns: row.checkpoint_ns, checkpoint_id: row.parent_checkpoint_id } };
  return { tuple, bytes };
}
