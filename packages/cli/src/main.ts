import { CliError, UsageError, describeError, describeErrorVerbose } from "./errors.js";
import { processIo, type Io } from "./format.js";
import { SUPPORTED_URLS } from "./backends.js";

export const HELP = `Usage: langgraph-persist <command> [options]

Commands:
  demo                                   the offline memory chatbot (what \`pnpm demo\` runs)
  copy --from <url> --to <url>           copy threads and store items between backends
  import --from <official> --to <url>    import an official adapter's threads and store items
  inspect threads|thread|store|namespaces  look at what a backend holds (tables, or --json)
  prune --keep-latest | --older-than <d>  retention for checkpoints (asks first; --yes in scripts, --dry-run)
  conformance <harness-module | url>     run the conformance suite

Backends are addressed by URL:
  memory:                                in this process only
  sqlite:<path>, sqlite::memory:, ./file.db
  postgres://user:pass@host:5432/db      ?schema=<name>
  redis://host:6379, rediss://…          ?keyPrefix=<prefix>
  redis+cluster://host:7000,host:7001    a Redis Cluster (any reachable seed)
  mongodb://host:27017/db, mongodb+srv://…  ?collectionPrefix=<prefix>
  sqlite: also takes ?tablePrefix=<prefix>

Run \`langgraph-persist <command> --help\` for a command's options. --verbose prints stack traces.`;

// Loaded on demand: `inspect` should not pay for loading LangGraph, which only the demo needs.
const COMMANDS: Record<string, (argv: string[], io: Io) => Promise<number>> = {
  demo: async (argv, io) => (await import("./demo/run.js")).runDemo(argv, io),
  copy: async (argv, io) => (await import("./commands/copy.js")).copyCommand(argv, io),
  import: async (argv, io) => (await import("./commands/import.js")).importCommand(argv, io),
  inspect: async (argv, io) => (await import("./commands/inspect.js")).inspectCommand(argv, io),
  prune: async (argv, io) => (await import("./commands/prune.js")).pruneCommand(argv, io),
  conformance: async (argv, io) => (await import("./commands/conformance.js")).conformanceCommand(argv, io),
};

/** Runs one command line and returns the exit code; errors are printed, never thrown. */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    io.out(HELP + "\n");
    return command === undefined ? 2 : 0;
  }
  if (command === "--version" || command === "-v") {
    io.out("0.1.0\n");
    return 0;
  }
  const entry = COMMANDS[command];
  return runReporting(rest, io, () => {
    if (!entry) throw new UsageError(`unknown command ${JSON.stringify(command)}: use demo, copy, import, inspect, prune or conformance (see langgraph-persist --help)`);
    return entry(rest, io);
  });
}

/** Runs `fn`, printing any error as one line on stderr (with the stack chain under --verbose). */
export async function runReporting(argv: string[], io: Io, fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (err) {
    const verbose = argv.includes("--verbose");
    io.err(`langgraph-persist: ${describeError(err)}\n`);
    if (verbose) io.err(describeErrorVerbose(err) + "\n");
    return err instanceof CliError ? err.exitCode : 1;
  }
}

export { SUPPORTED_URLS };
