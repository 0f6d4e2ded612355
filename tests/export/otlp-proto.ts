/**
 * OTLP metrics read back with protobufjs and OpenTelemetry's own message definitions: the
 * subset of opentelemetry-proto v1 (github.com/open-telemetry/opentelemetry-proto,
 * opentelemetry/proto/common/v1/common.proto, resource/v1/resource.proto,
 * metrics/v1/metrics.proto, collector/metrics/v1/metrics_service.proto) that metrics of
 * numbers use, with the field numbers and types as written there; histograms, exemplars and
 * the other oneof arms are left out.
 */
import protobuf from 'protobufjs';

const PROTO = `
syntax = "proto3";
package opentelemetry.proto;
message AnyValue {
  oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7; }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4; }
message Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }
message ExportMetricsServiceRequest { repeated ResourceMetrics resource_metrics = 1; }
message ExportMetricsServiceResponse { ExportMetricsPartialSuccess partial_success = 1; }
message ExportMetricsPartialSuccess { int64 rejected_data_points = 1; string error_message = 2; }
message ResourceMetrics { Resource resource = 1; repeated ScopeMetrics scope_metrics = 2; string schema_url = 3; }
message ScopeMetrics { InstrumentationScope scope = 1; repeated Metric metrics = 2; string schema_url = 3; }
message Metric {
  string name = 1; string description = 2; string unit = 3;
  oneof data { Gauge gauge = 5; Sum sum = 7; }
  repeated KeyValue metadata = 12;
}
message Gauge { repeated NumberDataPoint data_points = 1; }
message Sum { repeated NumberDataPoint data_points = 1; AggregationTemporality aggregation_temporality = 2; bool is_monotonic = 3; }
enum AggregationTemporality { AGGREGATION_TEMPORALITY_UNSPECIFIED = 0; AGGREGATION_TEMPORALITY_DELTA = 1; AGGREGATION_TEMPORALITY_CUMULATIVE = 2; }
message NumberDataPoint {
  repeated KeyValue attributes = 7;
  fixed64 start_time_unix_nano = 2;
  fixed64 time_unix_nano = 3;
  oneof value { double as_double = 4; sfixed64 as_int = 6; }
  uint32 flags = 8;
}
`;
const root = protobuf.parse(PROTO).root;
export const ExportRequest = root.lookupType('opentelemetry.proto.ExportMetricsServiceRequest');
export const ExportResponse = root.lookupType('opentelemetry.proto.ExportMetricsServiceResponse');

/** The request as a plain object: 64-bit integers as decimal strings, enums as numbers. */
export function decodeProtobuf(body: Uint8Array): any {
  return ExportRequest.toObject(ExportRequest.decode(body), { longs: String, enums: Number, defaults: false, arrays: true });
}

/** An OTLP/JSON request through the same definitions (protobufjs reads lowerCamelCase names and strings for 64-bit integers). */
export function decodeJson(text: string): any {
  return ExportRequest.toObject(ExportRequest.fromObject(JSON.parse(text)), { longs: String, enums: Number, defaults: false, arrays: true });
}

export interface FlatPoint {
  resource: Record<string, string | string[]>;
  scope: string;
  metric: string;
  unit: string;
  kind: 'sum' | 'gauge';
  temporality?: number;
  monotonic?: boolean;
  attributes: Record<string, string>;
  start?: string;
  time: string;
  /** asInt as its decimal string, or asDouble. */
  value: string | number;
}

const anyValue = (v: any): string | string[] => (v.arrayValue ? (v.arrayValue.values ?? []).map((x: any) => x.stringValue) : v.stringValue);
const attrs = (kvs: any[] | undefined): Record<string, any> => Object.fromEntries((kvs ?? []).map((kv) => [kv.key, anyValue(kv.value)]));

/** Every data point of a decoded request, with its resource and metric. */
export function flatten(request: any): FlatPoint[] {
  const out: FlatPoint[] = [];
  for (const rm of request.resourceMetrics ?? []) {
    const resource = attrs(rm.resource?.attributes);
    for (const sm of rm.scopeMetrics ?? []) {
      for (const m of sm.metrics ?? []) {
        const data = m.sum ?? m.gauge;
        for (const p of data.dataPoints ?? []) {
          out.push({
            resource,
            scope: `${sm.scope?.name}/${sm.scope?.version}`,
            metric: m.name,
            unit: m.unit,
            kind: m.sum ? 'sum' : 'gauge',
            temporality: m.sum?.aggregationTemporality,
            monotonic: m.sum?.isMonotonic,
            attributes: attrs(p.attributes),
            start: p.startTimeUnixNano,
            time: p.timeUnixNano,
            value: p.asInt ?? p.asDouble,
          });
        }
      }
    }
  }
  return out;
}
