/** The OpenAPI 3.0 description of cstats' own REST API (served at /api/v1/openapi.json). */
const error = { description: 'JSON error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
const ref = { name: 'ref', in: 'path', required: true, description: 'Container id, unique id prefix, or name', schema: { type: 'string' } };
const json = (schema: object, description: string) => ({ description, content: { 'application/json': { schema } } });

export const OPENAPI = {
  openapi: '3.0.3',
  info: {
    title: 'cstats agent API',
    version: '1',
    description:
      'Read-only but for the alarms (/api/v1/alarms). Raw kernel counters are unsigned 64-bit integers written with every digit; clients whose JSON parser uses doubles lose precision above 2^53 and should parse them as big integers.',
  },
  paths: {
    '/api/v1/containers': {
      get: {
        summary: 'Live containers with their latest derived figures',
        parameters: [{ name: 'all', in: 'query', schema: { type: 'boolean' }, description: 'Include stopped and recently removed containers' }],
        responses: { 200: json({ type: 'array', items: { $ref: '#/components/schemas/ContainerSummary' } }, 'Containers'), 400: error },
      },
    },
    '/api/v1/containers/{ref}': {
      get: {
        summary: 'One container: identity, limits, raw counters of the latest sample, derived figures',
        parameters: [ref],
        responses: { 200: json({ $ref: '#/components/schemas/ContainerDetail' }, 'Container'), 404: error },
      },
    },
    '/api/v1/containers/{ref}/history': {
      get: {
        summary: 'Derived figures over a time range, columnar, from whichever tier (raw, 1m, 1h; memory without persistence) fits the range and step; nulls where nothing was sampled',
        parameters: [
          ref,
          { name: 'since', in: 'query', schema: { type: 'string' }, description: 'RFC 3339 time, epoch ms, or a duration back from now (5m, 7d); default: the in-memory window (15m)' },
          { name: 'until', in: 'query', schema: { type: 'string' }, description: 'Same forms as since; default now' },
          { name: 'step', in: 'query', schema: { type: 'string' }, description: 'Bucket width (30s, 1m, 1h): a regular grid of min/max/mean/last; default every stored point' },
          { name: 'metrics', in: 'query', schema: { type: 'string' }, description: 'Comma-separated metric names; default all' },
          { name: 'stats', in: 'query', schema: { type: 'string' }, description: 'For a grid: comma-separated statistics of each bucket, of mean (series), min, max, last; default all four' },
        ],
        responses: {
          200: json(
            {
              type: 'object',
              properties: {
                id: { type: 'string' },
                name: { type: 'string' },
                intervalMs: { type: 'integer' },
                tier: { type: 'string', enum: ['memory', 'raw', '1m', '1h'] },
                stepMs: { type: 'integer', nullable: true, description: 'Bucket width; null when every stored point is returned' },
                timestamps: { type: 'array', items: { type: 'number' } },
                series: { type: 'object', description: 'Values, or with buckets their means (absent when stats leaves mean out)', additionalProperties: { type: 'array', items: { type: 'number', nullable: true } } },
                min: { type: 'object', description: 'With buckets, when stats asks for it (default)', additionalProperties: { type: 'array', items: { type: 'number', nullable: true } } },
                max: { type: 'object', description: 'With buckets, when stats asks for it (default)', additionalProperties: { type: 'array', items: { type: 'number', nullable: true } } },
                last: { type: 'object', description: 'With buckets, when stats asks for it (default)', additionalProperties: { type: 'array', items: { type: 'number', nullable: true } } },
              },
            },
            'History',
          ),
          400: error,
          404: error,
        },
      },
    },
    '/api/v1/alarms': {
      get: { summary: 'Every alarm rule (rules file, API, built-in) with its state and instances', responses: { 200: json({ type: 'array', items: { type: 'object' } }, 'Alarms') } },
      post: {
        summary: "Create a threshold alarm (aodh's model; fields as in the rules file's alarms:)",
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
        responses: { 201: json({ type: 'object' }, 'Created'), 400: error, 409: error, 415: error },
      },
    },
    '/api/v1/alarms/{name}': {
      get: { summary: 'One alarm', parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }], responses: { 200: json({ type: 'object' }, 'Alarm'), 404: error } },
      put: {
        summary: 'Replace an alarm made through the API',
        parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
        responses: { 200: json({ type: 'object' }, 'Replaced'), 400: error, 404: error, 409: error },
      },
      delete: { summary: 'Delete an alarm made through the API', parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }], responses: { 204: { description: 'Deleted' }, 404: error, 409: error } },
    },
    '/api/v1/alarms/{name}/history': {
      get: { summary: "The alarm's state transitions, oldest first", parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }], responses: { 200: json({ type: 'array', items: { type: 'object' } }, 'History'), 404: error } },
    },
    '/api/v1/alerts': {
      get: { summary: 'Alerts pending or firing now', responses: { 200: json({ type: 'array', items: { type: 'object' } }, 'Alerts') } },
    },
    '/api/v1/stream': {
      get: {
        summary: "Server-Sent Events: each tick's derived figures; a client that falls more than 1 MiB behind is disconnected",
        parameters: [{ name: 'container', in: 'query', schema: { type: 'string' }, description: 'Comma-separated ids, id prefixes or names' }],
        responses: { 200: { description: 'text/event-stream', content: { 'text/event-stream': { schema: { type: 'string' } } } }, 404: error },
      },
    },
    '/metrics': {
      get: {
        summary: "Prometheus exposition in cAdvisor's metric names and labels",
        responses: { 200: { description: 'text/plain; version=0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } } },
      },
    },
    '/api/v1/fleet': { get: { summary: "Every host's containers from the query API named by --fleet-prometheus: hosts (newest sample, down), containers with their host and figures", responses: { 200: json({ type: 'object' }, 'Fleet') } } },
    '/api/v1/machine': { get: { summary: 'Host CPU, memory, load, disks, networks, filesystems; derived: busy %, memory in use, per-second disk and network rates', responses: { 200: json({ type: 'object' }, 'Machine') } } },
    '/healthz': {
      get: {
        summary: 'Which sources are up; 503 when sampling has stalled',
        responses: { 200: json({ type: 'object' }, 'Healthy or degraded'), 503: json({ type: 'object' }, 'Stalled') },
      },
    },
  },
  components: {
    schemas: {
      Error: { type: 'object', properties: { error: { type: 'string' } }, required: ['error'] },
      Derived: {
        type: 'object',
        properties: {
          cpuPercent: { type: 'number', description: 'docker stats CPU %' },
          cpuCores: { type: 'number' },
          cpuLimitPercent: { type: 'number', description: 'CPU as % of the group CFS quota; absent without a quota' },
          throttledPercent: { type: 'number', description: "% of this tick's CFS periods that were throttled; absent without a quota" },
          memoryUsageBytes: { type: 'number', description: 'usage − inactive file, as docker stats' },
          memoryLimitBytes: { type: 'number' },
          memoryPercent: { type: 'number' },
          workingSetBytes: { type: 'number' },
          memoryCacheBytes: { type: 'number', description: 'page cache (v1 total_cache, v2 file)' },
          netRxBytes: { type: 'number' },
          netTxBytes: { type: 'number' },
          blockReadBytes: { type: 'number' },
          blockWriteBytes: { type: 'number' },
          pids: { type: 'number' },
          rates: { type: 'object', additionalProperties: { type: 'number' }, description: 'Per-second rate of each counter' },
        },
      },
      ContainerSummary: {
        type: 'object',
        properties: {
          id: { type: 'string' },
          name: { type: 'string' },
          runtime: { type: 'string', enum: ['docker', 'podman', 'containerd', 'lxc', 'lxd', 'incus', 'nspawn', 'cgroupfs'] },
          kind: { type: 'string' },
          image: { type: 'string' },
          state: { type: 'string' },
          labels: { type: 'object', additionalProperties: { type: 'string' } },
          createdAt: { type: 'string', format: 'date-time' },
          startedAt: { type: 'string', format: 'date-time' },
          removedAt: { type: 'string', format: 'date-time' },
          endedAt: { type: 'string', format: 'date-time', description: 'Exited or removed: when it ended (Docker FinishedAt, else when it was last seen)' },
          exitCode: { type: 'integer', nullable: true, description: 'Exited or removed: null when no exit was seen (removed while running, plain cgroups)' },
          oomKilled: { type: 'boolean', nullable: true, description: "Exited or removed: Docker's OOMKilled, else whether the cgroup's OOM-kill counter was above 0; null when unknown" },
          sampledAt: { type: 'string', format: 'date-time', description: 'when the sample behind the figures was taken (the stream event and history timestamp)' },
          derived: { allOf: [{ $ref: '#/components/schemas/Derived' }], description: 'absent before the first sample and, with persistence, once removed (its last figures are its history\'s last point)' },
        },
      },
      ContainerDetail: {
        allOf: [
          { $ref: '#/components/schemas/ContainerSummary' },
          {
            type: 'object',
            properties: {
              cgroup: { type: 'object' },
              pid: { type: 'integer' },
              network: { type: 'object' },
              mounts: { type: 'array', items: { type: 'object' } },
              limits: { type: 'object' },
              lxd: {
                type: 'object',
                description: "LXD and Incus instances: the project, and the instance's limits.* settings as written in its expanded config",
                properties: { project: { type: 'string' }, limits: { type: 'object', additionalProperties: { type: 'string' } } },
              },
              sample: { type: 'object', description: 'Raw cumulative counters as read from the kernel; layerUsage: du of the writable layer (measured at most once a minute)' },
              processes: { type: 'integer', description: 'Processes (not threads) in the cgroup tree, counted from cgroup.procs when asked' },
            },
          },
        ],
      },
    },
  },
};
