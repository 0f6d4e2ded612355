/**
 * Reads remote_write payloads back with protobufjs and the remote_write 1.0 messages (as in
 * prometheus/prompb types.proto), and snappyjs.
 */
import protobuf from 'protobufjs';
import { uncompress } from 'snappyjs';

const PROTO = `
syntax = "proto3";
package prometheus;
message WriteRequest { repeated TimeSeries timeseries = 1; }
message TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; }
message Label { string name = 1; string value = 2; }
message Sample { double value = 1; int64 timestamp = 2; }
`;
const WriteRequest = protobuf.parse(PROTO).root.lookupType('prometheus.WriteRequest');

export interface DecodedSeries {
  labels: Array<{ name: string; value: string }>;
  samples: Array<{ value: number; timestamp: number }>;
}

/** A snappy-compressed WriteRequest's series. */
export function decodeWriteRequest(payload: Uint8Array): DecodedSeries[] {
  const msg = WriteRequest.toObject(WriteRequest.decode(uncompress(payload)), { longs: Number, defaults: true }) as { timeseries: DecodedSeries[] };
  return msg.timeseries;
}
