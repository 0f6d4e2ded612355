/**
 * Where one cgroup lives in each v1 hierarchy. Every controller has its own tree (or shares one:
 * "cpu,cpuacct" is co-mounted on most distributions, separate mounts elsewhere), so a cgroup is
 * one directory per controller. A controller that is not mounted is absent.
 */
export interface V1Dirs {
  cpu?: string;
  cpuacct?: string;
  cpuset?: string;
  memory?: string;
  blkio?: string;
  pids?: string;
  /**
   * The same cgroup in the cgroup2 hierarchy of a hybrid host (e.g. /sys/fs/cgroup/unified/
   * system.slice/docker-ID.scope), when it has its own directory there: PSI is accounted per
   * cgroup2 directory whether or not any controller is enabled, so pressure comes from here.
   */
  unified?: string;
}

/** The v1 controllers cstats reads, i.e. the keys of V1Dirs other than `unified`. */
export const V1_CONTROLLERS = ['cpu', 'cpuacct', 'cpuset', 'memory', 'blkio', 'pids'] as const;
