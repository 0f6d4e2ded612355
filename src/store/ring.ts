/**
 * A fixed-capacity ring of float64 columns: one timestamp column and one per metric. Memory is
 * allocated once per container (capacity × (metrics + 1) × 8 bytes) and never grows.
 */
export class SeriesRing {
  private readonly times: Float64Array;
  private readonly columns: Float64Array[];
  private next = 0;
  private count = 0;

  constructor(
    readonly capacity: number,
    readonly metrics: readonly string[],
  ) {
    this.times = new Float64Array(capacity);
    this.columns = metrics.map(() => new Float64Array(capacity));
  }

  push(timestampMs: number, values: readonly number[]): void {
    this.times[this.next] = timestampMs;
    for (let i = 0; i < this.columns.length; i++) this.columns[i][this.next] = values[i];
    this.next = (this.next + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
  }

  get length(): number {
    return this.count;
  }

  /** Points with timestamp >= sinceMs, oldest first, for the chosen metric indexes. */
  read(sinceMs: number, metricIndexes: readonly number[]): { timestampsMs: number[]; values: number[][] } {
    const timestampsMs: number[] = [];
    const values: number[][] = metricIndexes.map(() => []);
    const start = (this.next - this.count + this.capacity) % this.capacity;
    for (let k = 0; k < this.count; k++) {
      const i = (start + k) % this.capacity;
      if (this.times[i] < sinceMs) continue;
      timestampsMs.push(this.times[i]);
      metricIndexes.forEach((m, j) => values[j].push(this.columns[m][i]));
    }
    return { timestampsMs, values };
  }

  /** Bytes held by the columns. */
  get bytes(): number {
    return this.times.byteLength * (this.columns.length + 1);
  }
}
