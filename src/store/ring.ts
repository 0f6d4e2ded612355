/**
 * A container's history: a timestamp and one float64 per metric for each of the newest
 * `capacity` samples, in compressed chunks of CHUNK_POINTS (chunk.ts); whole chunks drop off the
 * old end. Idle containers, most of a host, cost about 2 bytes a sample instead of 8 per metric;
 * values that change in every bit cost at most 9 bytes a metric.
 */
import { ChunkWriter, decodeChunk } from './chunk.js';

const CHUNK_POINTS = 120;

interface SealedChunk {
  bytes: Uint8Array;
  count: number;
  lastTs: number;
}

export class SeriesRing {
  private readonly sealed: SealedChunk[] = [];
  private open: ChunkWriter;
  private total = 0;

  constructor(
    readonly capacity: number,
    readonly metrics: readonly string[],
  ) {
    this.open = new ChunkWriter(metrics.length);
  }

  push(timestampMs: number, values: ArrayLike<number>): void {
    this.open.push(timestampMs, values);
    this.total++;
    if (this.open.count === CHUNK_POINTS) {
      this.sealed.push({ bytes: this.open.finish(), count: this.open.count, lastTs: timestampMs });
      this.open = new ChunkWriter(this.metrics.length);
    }
    while (this.sealed.length > 0 && this.total - this.sealed[0].count >= this.capacity) {
      this.total -= this.sealed[0].count;
      this.sealed.shift();
    }
  }

  get length(): number {
    return Math.min(this.total, this.capacity);
  }

  /** Points with timestamp >= sinceMs, oldest first, for the chosen metric indexes. */
  read(sinceMs: number, metricIndexes: readonly number[]): { timestampsMs: number[]; values: number[][] } {
    const timestampsMs: number[] = [];
    const values: number[][] = metricIndexes.map(() => []);
    let skip = this.total - this.length;
    const chunks: SealedChunk[] = [...this.sealed];
    if (this.open.count > 0) chunks.push({ bytes: this.open.view(), count: this.open.count, lastTs: this.open.lastTs });
    for (const chunk of chunks) {
      if (skip >= chunk.count || chunk.lastTs < sinceMs) {
        skip = Math.max(0, skip - chunk.count);
        continue;
      }
      decodeChunk(chunk.bytes, chunk.count, this.metrics.length, (ts, row) => {
        if (skip > 0) {
          skip--;
          return;
        }
        if (ts < sinceMs) return;
        timestampsMs.push(ts);
        metricIndexes.forEach((m, j) => values[j].push(row[m]));
      });
    }
    return { timestampsMs, values };
  }

  /** Bytes held by the compressed chunks, the open one's reserve included. */
  get bytes(): number {
    return this.sealed.reduce((sum, c) => sum + c.bytes.byteLength, this.open.capacityBytes);
  }
}
