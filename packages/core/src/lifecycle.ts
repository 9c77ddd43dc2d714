import { ClientClosedError, toPersistenceError } from "./errors.js";

/**
 * The one lifecycle of every saver and store: `setup()` runs the backend's setup once per instance
 * (retried after a failure), `close()` runs once, and every operation after `close()` fails with
 * `ClientClosedError`.
 */
export class Lifecycle {
  private setupPromise: Promise<void> | undefined;
  private closePromise: Promise<void> | undefined;
  private ready = false;

  constructor(
    private readonly source: () => string,
    private readonly what: string,
  ) {}

  setup(run: () => Promise<void>): Promise<void> {
    this.assertOpen();
    this.setupPromise ??= run().then(
      () => {
        this.ready = true;
      },
      (err) => {
        this.setupPromise = undefined;
        throw toPersistenceError(this.source(), "setup()", err);
      },
    );
    return this.setupPromise;
  }

  close(run: () => Promise<void>): Promise<void> {
    this.closePromise ??= run();
    return this.closePromise;
  }

  get isSetUp(): boolean {
    return this.ready;
  }

  get closed(): boolean {
    return this.closePromise !== undefined;
  }

  assertOpen(): void {
    if (this.closed) throw new ClientClosedError(this.source(), `This ${this.what} has been closed`);
  }
}
