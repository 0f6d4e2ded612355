/** For the cAdvisor-compatible tests: a compat answer and the agent's own detail of the same sample. */
import { waitFor, type AgentProcess } from '../support.js';

/**
 * The compat answer and the agent's detail of container `id` for one and the same sample: the
 * detail is read before and after the answer, and kept when both name the same sample.
 */
export function sameSample<D extends { sample: { timestamp: unknown } }>(agent: AgentProcess, id: string) {
  return <T>(compat: () => Promise<T>): Promise<{ detail: D; body: T }> =>
    waitFor(
      `a ${id.slice(0, 12)} answer within one sample`,
      async () => {
        const before = await agent.get<D>(`/api/v1/containers/${id}`);
        const body = await compat();
        const after = await agent.get<D>(`/api/v1/containers/${id}`);
        return before.sample.timestamp === after.sample.timestamp ? { detail: after, body } : undefined;
      },
      10_000,
      50,
    );
}
