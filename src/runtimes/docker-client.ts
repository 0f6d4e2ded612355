/**
 * A small Docker Engine API client over the unix socket (node:http with socketPath). Only the
 * read calls cstats needs: ping, info, list, inspect, and the event stream.
 */
import { request, type IncomingMessage } from 'node:http';

export class DockerApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'DockerApiError';
  }
}

export interface DockerEvent {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes?: Record<string, string> };
  time: number;
  timeNano?: number;
}

/** The subset of GET /containers/{id}/json that cstats reads. */
export interface DockerInspect {
  Id: string;
  Name: string;
  Created: string;
  Path: string;
  Args: string[] | null;
  Image: string;
  RestartCount?: number;
  State: {
    Status: string;
    Running: boolean;
    Paused: boolean;
    Pid: number;
    StartedAt: string;
    FinishedAt: string;
    ExitCode: number;
    OOMKilled?: boolean;
    Health?: { Status: string } | null;
  };
  Config: { Image: string; Labels: Record<string, string> | null; Cmd: string[] | null; Entrypoint: string[] | null };
  HostConfig: { NetworkMode: string; CgroupParent?: string; Memory?: number; NanoCpus?: number };
  GraphDriver?: { Name: string; Data: Record<string, string> | null };
  Mounts: Array<{ Type: string; Name?: string; Source: string; Destination: string; Driver?: string; Mode?: string; RW: boolean; Propagation?: string }>;
  NetworkSettings?: {
    Ports?: Record<string, Array<{ HostIp: string; HostPort: string }> | null> | null;
    Networks?: Record<string, DockerEndpoint> | null;
  };
}

/** One entry of NetworkSettings.Networks (moby's network.EndpointSettings). */
export interface DockerEndpoint {
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string; LinkLocalIPs?: string[] } | null;
  Links?: string[] | null;
  Aliases?: string[] | null;
  DriverOpts?: Record<string, string> | null;
  /** API 1.48. */
  GwPriority?: number;
  NetworkID: string;
  EndpointID: string;
  Gateway: string;
  IPAddress: string;
  IPPrefixLen: number;
  IPv6Gateway?: string;
  GlobalIPv6Address?: string;
  GlobalIPv6PrefixLen?: number;
  MacAddress: string;
  /** API 1.44. */
  DNSNames?: string[] | null;
}

export interface DockerListEntry {
  Id: string;
  Names: string[];
  State: string;
}

export class DockerClient {
  constructor(
    readonly socketPath = '/var/run/docker.sock',
    private readonly timeoutMs = 5000,
  ) {}

  private open(path: string, onResponse: (res: IncomingMessage) => void, onError: (err: Error) => void): () => void {
    const req = request({ socketPath: this.socketPath, path, method: 'GET', headers: { Host: 'docker' } }, onResponse);
    req.on('error', onError);
    req.end();
    return () => req.destroy();
  }

  /** GET path, parse JSON; non-2xx answers become DockerApiError with Docker's message. */
  get<T>(path: string): Promise<T> {
    return new Promise((resolve, reject) => {
      let cancel = (): void => {};
      const timer = setTimeout(() => {
        cancel();
        reject(new Error(`docker ${path}: no answer within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      cancel = this.open(
        path,
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (err) => {
            clearTimeout(timer);
            reject(err);
          });
          res.on('end', () => {
            clearTimeout(timer);
            const body = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            let parsed: unknown;
            try {
              parsed = body === '' ? undefined : JSON.parse(body);
            } catch {
              reject(new DockerApiError(status, `docker ${path}: answer is not JSON: ${body.slice(0, 200)}`));
              return;
            }
            if (status < 200 || status >= 300) {
              const msg = (parsed as { message?: string } | undefined)?.message ?? body;
              reject(new DockerApiError(status, `docker ${path}: ${status} ${msg}`));
              return;
            }
            resolve(parsed as T);
          });
        },
        (err) => {
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  }

  listContainers(all = false): Promise<DockerListEntry[]> {
    return this.get(`/containers/json${all ? '?all=1' : ''}`);
  }

  inspect(id: string): Promise<DockerInspect> {
    return this.get(`/containers/${encodeURIComponent(id)}/json`);
  }

  info(): Promise<{ CgroupDriver?: string; CgroupVersion?: string; MemTotal?: number }> {
    return this.get('/info');
  }

  /**
   * Streams container events until the connection ends. Resolves when the stream closes
   * (daemon stopped) and rejects on connection errors; the caller reconnects.
   */
  streamEvents(onEvent: (e: DockerEvent) => void, onOpen: () => void): { done: Promise<void>; cancel: () => void } {
    let cancel = (): void => {};
    const done = new Promise<void>((resolve, reject) => {
      const filters = encodeURIComponent(JSON.stringify({ type: ['container'] }));
      cancel = this.open(
        `/events?filters=${filters}`,
        (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            reject(new DockerApiError(res.statusCode ?? 0, `docker /events: status ${res.statusCode}`));
            return;
          }
          onOpen();
          let pending = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            pending += chunk;
            let nl: number;
            while ((nl = pending.indexOf('\n')) >= 0) {
              const line = pending.slice(0, nl).trim();
              pending = pending.slice(nl + 1);
              if (line === '') continue;
              try {
                onEvent(JSON.parse(line) as DockerEvent);
              } catch {
                // A garbled event line: skip it; the periodic resync covers what it said.
              }
            }
          });
          res.on('end', () => resolve());
          res.on('error', reject);
        },
        reject,
      );
    });
    return { done, cancel };
  }
}
