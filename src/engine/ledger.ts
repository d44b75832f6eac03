/**
 * Releases checkpoints (Singer STATE, Airbyte STATE) only when every record received before them, in
 * their scope, is committed to the warehouse — a ledger of positions, not a "flush everything" heuristic.
 *
 * Each record gets an increasing position (1, 2, … on the main thread; with gaps from encode workers).
 * Records are grouped per stream into batches (BatchTicket) that commit in order. A checkpoint taken
 * after position P is releasable when, for every stream in its scope, the oldest uncommitted batch starts
 * after P. Checkpoints are released in arrival order.
 */

export class BatchTicket {
  /** Position of the first record in the batch; Infinity while it has none. */
  first = Number.POSITIVE_INFINITY;
  last = 0;
  rows = 0;
  committed = false;
  constructor(readonly stream: string) {}
  add(position: number): void {
    if (position < this.first) this.first = position;
    this.last = position;
    this.rows++;
  }
  /** `rows` records from `first` to `last` (positions need not be consecutive, only increasing). */
  addRange(first: number, last: number, rows: number): void {
    if (first < this.first) this.first = first;
    this.last = last;
    this.rows += rows;
  }
}

export type CheckpointScope = { kind: "all" } | { kind: "streams"; streams: readonly string[] };

interface PendingCheckpoint<T> {
  position: number;
  scope: CheckpointScope;
  payload: T;
}

export class CheckpointLedger<T> {
  private position = 0;
  private readonly open = new Map<string, BatchTicket[]>();
  private readonly queue: PendingCheckpoint<T>[] = [];
  released = 0;

  /** @param emit called, in order, for each checkpoint once it is safe to hand back. */
  constructor(private readonly emit: (payload: T) => void) {}

  /** Assigns the next record position. */
  nextPosition(): number {
    return ++this.position;
  }

  get lastPosition(): number {
    return this.position;
  }

  /**
   * Positions need only increase: records encoded off the main thread come numbered by where they sat in
   * the input, with gaps (see UnitEncoder). The ledger never moves backwards.
   */
  advanceTo(position: number): void {
    if (position > this.position) this.position = position;
  }

  /** A new, empty batch for `stream`; batches of one stream must commit in the order they were opened. */
  openBatch(stream: string): BatchTicket {
    const ticket = new BatchTicket(stream);
    const list = this.open.get(stream);
    if (list) list.push(ticket);
    else this.open.set(stream, [ticket]);
    return ticket;
  }

  /** A batch that turned out empty (e.g. sealed with no rows) stops blocking anything. */
  discard(ticket: BatchTicket): void {
    this.commit(ticket);
  }

  commit(ticket: BatchTicket): void {
    ticket.committed = true;
    const list = this.open.get(ticket.stream);
    if (list) {
      while (list.length > 0 && list[0]!.committed) list.shift();
      if (list.length === 0) this.open.delete(ticket.stream);
    }
    this.release();
  }

  /** Registers a checkpoint after everything received so far; releases it at once if nothing is pending. */
  checkpoint(payload: T, scope: CheckpointScope = { kind: "all" }): void {
    this.queue.push({ position: this.position, scope, payload });
    this.release();
  }

  get pendingCheckpoints(): number {
    return this.queue.length;
  }

  private oldestUncommitted(stream: string): number {
    const list = this.open.get(stream);
    if (!list) return Number.POSITIVE_INFINITY;
    for (const t of list) if (!t.committed && t.rows > 0) return t.first;
    return Number.POSITIVE_INFINITY;
  }

  private releasable(c: PendingCheckpoint<T>): boolean {
    const streams = c.scope.kind === "all" ? [...this.open.keys()] : c.scope.streams;
    for (const s of streams) if (this.oldestUncommitted(s) <= c.position) return false;
    return true;
  }

  private release(): void {
    while (this.queue.length > 0 && this.releasable(this.queue[0]!)) {
      const next = this.queue.shift()!;
      this.released++;
      this.emit(next.payload);
    }
  }
}
