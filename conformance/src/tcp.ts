import { createServer, type Socket } from "node:net";
import { expect } from "vitest";

/** A local TCP server for tests of what a client does when the other end misbehaves. */
export interface LocalTcpServer {
  readonly port: number;
  /** Destroys every open connection and stops listening. */
  close(): Promise<void>;
}

/**
 * Listens on 127.0.0.1 (a free port) and hands each connection to `onConnection`. Without one, it
 * accepts connections and never answers: a hung host, or a firewall that drops the traffic. With one,
 * it can answer a protocol's handshake and then fall silent (a server that stops mid-session).
 */
export async function localTcpServer(onConnection?: (socket: Socket) => void): Promise<LocalTcpServer> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    onConnection?.(socket);
  });
  const port = await new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
  return {
    port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** The error `promise` rejects with; fails the test when it resolves or rejects with a non-Error. */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(outcome, "expected a rejection").toBeInstanceOf(Error);
  return outcome as Error;
}
