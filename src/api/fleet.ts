/**
 * GET /api/v1/fleet: every host's containers (src/fleet/query.ts) from the query API named by
 * --fleet-prometheus, asked by the agent so the dashboard's page never calls another origin and
 * the agent's bearer token guards it like every other route. Without --fleet-prometheus: 404 with
 * the option to set; the query API unreachable or refusing: 502 with its error.
 */
import { HttpError, sendJson, type Router } from './http.js';
import { queryFleet, type FleetSource } from '../fleet/query.js';

export function registerFleet(router: Router, source: FleetSource | undefined): void {
  router.get(/^\/api\/v1\/fleet\/?$/, async ({ res }) => {
    if (!source) throw new HttpError(404, 'no fleet query API: start the agent with --fleet-prometheus URL');
    let fleet;
    try {
      fleet = await queryFleet(source);
    } catch (err) {
      throw new HttpError(502, `fleet query API: ${(err as Error).message}`);
    }
    sendJson(res, 200, fleet);
  });
}
