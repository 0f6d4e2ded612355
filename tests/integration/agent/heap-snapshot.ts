/**
 * Reads a V8 heap snapshot (the .heapsnapshot JSON node writes) to answer one question: which
 * strings are still reachable from the roots when one kind of edge is not followed. The format:
 * `nodes` and `edges` are flat arrays of `snapshot.meta.node_fields` / `edge_fields` numbers,
 * a node's edges follow those of the nodes before it (edge_count each), an edge's `to_node` is
 * the index of the target's first field in `nodes`, names index `strings`. Weak edges do not
 * keep anything alive and are not followed.
 */
import { readFileSync } from 'node:fs';

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/**
 * The strings matching `wanted` that the roots reach without following an edge named `edgeName`
 * out of an object whose constructor is `owner`, for each `except` (e.g. a log's `events` array
 * that is meant to keep them).
 */
export function reachableStrings(file: string, wanted: (s: string) => boolean, except: readonly { owner: string; edgeName: string }[]): string[] {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as HeapSnapshot;
  const { meta } = snap.snapshot;
  const nf = meta.node_fields.length;
  const ef = meta.edge_fields.length;
  const [nType, nName, nEdges] = ['type', 'name', 'edge_count'].map((f) => meta.node_fields.indexOf(f));
  const [eType, eName, eTo] = ['type', 'name_or_index', 'to_node'].map((f) => meta.edge_fields.indexOf(f));
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const { nodes, edges, strings } = snap;
  const count = nodes.length / nf;
  const firstEdge = new Uint32Array(count + 1);
  for (let i = 0, e = 0; i < count; i++) {
    firstEdge[i] = e;
    e += nodes[i * nf + nEdges] * ef;
  }
  const named = new Set(['context', 'property', 'internal', 'shortcut']);
  const isString = (i: number): boolean => nodeTypes[nodes[i * nf + nType]].endsWith('string');
  const seen = new Uint8Array(count);
  const found: string[] = [];
  const stack = [0];
  seen[0] = 1;
  while (stack.length > 0) {
    const i = stack.pop()!;
    if (isString(i) && wanted(strings[nodes[i * nf + nName]])) found.push(strings[nodes[i * nf + nName]]);
    const owner = nodeTypes[nodes[i * nf + nType]] === 'object' ? strings[nodes[i * nf + nName]] : undefined;
    const skipped = except.filter((x) => x.owner === owner).map((x) => x.edgeName);
    for (let e = firstEdge[i], end = e + nodes[i * nf + nEdges] * ef; e < end; e += ef) {
      const type = edgeTypes[edges[e + eType]];
      if (type === 'weak') continue;
      if (skipped.length > 0 && named.has(type) && skipped.includes(strings[edges[e + eName]])) continue;
      const to = edges[e + eTo] / nf;
      if (!seen[to]) {
        seen[to] = 1;
        stack.push(to);
      }
    }
  }
  return found;
}
