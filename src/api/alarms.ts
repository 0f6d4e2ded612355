/**
 * The alarms API: threshold alarms made and changed over REST (aodh's alarm resource, in
 * cstats' shape), every rule's state with its alarm instances, each alarm's state history, and
 * the alerts now pending or firing (what a dashboard or `cstats top` shows).
 *
 *   GET    /api/v1/alarms               every rule: rules-file, API and built-in
 *   POST   /api/v1/alarms               create a threshold alarm (JSON body)      201, 400, 409
 *   GET    /api/v1/alarms/{name}
 *   PUT    /api/v1/alarms/{name}        replace an API-made alarm                 200, 400, 404, 409
 *   DELETE /api/v1/alarms/{name}                                                  204, 404, 409
 *   GET    /api/v1/alarms/{name}/history  state transitions, oldest first
 *   GET    /api/v1/alerts               alerts pending or firing, each with the container it is about
 */
import type { IncomingMessage } from 'node:http';
import { HttpError, sendJson, type Router } from './http.js';
import { ConflictError, NotFoundError, type AlarmEngine } from '../alarms/engine.js';
import type { ContainerEntry, Store } from '../store/store.js';
import { RuleError } from '../alarms/prometheus-rules.js';

const BODY_LIMIT = 64 * 1024;

async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) throw new HttpError(415, 'expected Content-Type: application/json');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > BODY_LIMIT) throw new HttpError(413, `body larger than ${BODY_LIMIT} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw new HttpError(400, `body is not valid JSON: ${(err as Error).message}`);
  }
}

/** The engine's errors as HTTP statuses. */
function asHttp(err: unknown): never {
  if (err instanceof RuleError) throw new HttpError(400, err.message);
  if (err instanceof ConflictError) throw new HttpError(409, err.message);
  if (err instanceof NotFoundError) throw new HttpError(404, err.message);
  // The data directory is another agent's now (DataDir.assertHeld): the alarm's file cannot be kept.
  if ((err as NodeJS.ErrnoException).code === 'ELOCKLOST') throw new HttpError(503, (err as Error).message);
  throw err;
}

/** One pending or firing alert as /api/v1/alerts and the stream's `alerts` event give it. */
export type AlertView = ReturnType<AlarmEngine['alerts']>[number] & {
  /** The container the alert is about, as the REST API names it; null when its labels name none the agent knows. */
  container: { id: string; name: string } | null;
};

/**
 * Pending and firing alerts, each with its container: the one whose cgroup path is the alert's
 * `id` label (cAdvisor's, what every rule groups by), else the one its `name` label names.
 */
export function alertsView(engine: Pick<AlarmEngine, 'alerts'>, store: Store): AlertView[] {
  const alerts = engine.alerts();
  if (alerts.length === 0) return [];
  const byPath = new Map<string, ContainerEntry>();
  // Live containers win over removed ones with the same cgroup path (a restarted plain cgroup).
  for (const e of store.list(true)) if (e.removedMs === undefined || !byPath.has(e.info.cgroup.path)) byPath.set(e.info.cgroup.path, e);
  return alerts.map((a) => {
    const e = (a.labels.id !== undefined ? byPath.get(a.labels.id) : undefined) ?? (a.labels.name !== undefined ? store.find(a.labels.name) : undefined);
    return { ...a, container: e ? { id: e.info.id, name: e.info.name } : null };
  });
}

export function registerAlarms(router: Router, engine: AlarmEngine, store: Store): void {
  const one = /^\/api\/v1\/alarms\/([^/]+)\/?$/;
  router.get(/^\/api\/v1\/alarms\/?$/, ({ res }) => sendJson(res, 200, engine.list()));
  router.get(/^\/api\/v1\/alerts\/?$/, ({ res }) => sendJson(res, 200, alertsView(engine, store)));
  router.get(one, ({ res, params }) => {
    const a = engine.get(params[0]);
    if (!a) throw new HttpError(404, `no such alarm: ${params[0]}`);
    sendJson(res, 200, a);
  });
  router.get(/^\/api\/v1\/alarms\/([^/]+)\/history\/?$/, ({ res, params }) => {
    const h = engine.history(params[0]);
    if (!h) throw new HttpError(404, `no such alarm: ${params[0]}`);
    sendJson(res, 200, h);
  });
  router.on('POST', /^\/api\/v1\/alarms\/?$/, async ({ req, res }) => {
    const body = await readJsonBody(req);
    try {
      const created = engine.put(body, undefined);
      res.setHeader('Location', `/api/v1/alarms/${encodeURIComponent(created.name)}`);
      sendJson(res, 201, created);
    } catch (err) {
      asHttp(err);
    }
  });
  router.on('PUT', one, async ({ req, res, params }) => {
    const body = await readJsonBody(req);
    try {
      sendJson(res, 200, engine.put(body, params[0]));
    } catch (err) {
      asHttp(err);
    }
  });
  router.on('DELETE', one, ({ res, params }) => {
    try {
      engine.remove(params[0]);
    } catch (err) {
      asHttp(err);
    }
    res.writeHead(204);
    res.end();
  });
}
