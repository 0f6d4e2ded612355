/** cgroup v2 pids controller: the files are those of v1 (see ../pids.ts). */
export { statPidsDir as statPids } from '../pids.js';
