// Node exits when nothing keeps its event loop busy. A pending operation (an awaited receive,
// a send in flight, an MPI request) must keep the program alive; an idle connection must not.
// One timer does it: ref'd while anything is pending, unref'd when nothing is.
export class KeepAlive {
  private readonly timer = setInterval(() => {}, 1 << 30);
  private active = 0;

  constructor() {
    this.timer.unref();
  }

  /** One more pending operation. */
  acquire(): void {
    if (this.active++ === 0) this.timer.ref();
  }

  release(): void {
    if (--this.active === 0) this.timer.unref();
  }

  /** Keep the event loop alive until `p` settles. */
  hold<T>(p: Promise<T>): Promise<T> {
    this.acquire();
    const release = () => this.release();
    p.then(release, release);
    return p;
  }

  /** Nothing is pending any more (everything failed at once). */
  reset(): void {
    this.active = 0;
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
  }
}
