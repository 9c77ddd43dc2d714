import { packJsonBytes, unpackJsonBytes } from "@langgraph-persist/core";

/**
 * Checkpoint rows hold the checkpoint without its id and channel values: a short JSON object whose field
 * names and version prefixes are the same in every row. They are stored with core's JSON fragment
 * dictionary (`JSON_FRAGMENTS`: each fixed fragment becomes one control byte); `checkpoint_type` NULL
 * marks a packed row. Text with control characters (not compact JSON) is stored as is, with its type.
 */
export const packJson = (data: Uint8Array): Buffer | undefined => packJsonBytes(data);

/** The JSON bytes a packed value stands for. */
export const unpackJson = (data: Uint8Array): Buffer => unpackJsonBytes(data);
