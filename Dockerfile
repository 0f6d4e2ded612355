# The cstats agent image: the npm package (`npm pack`, dependencies bundled, built files only) on
# a base that has node 20 and mount(8). No build tools, no package manager, no shell needed.
#
#   npm pack && docker build -t cstats .                       # base: node:20-bookworm-slim
#   bash scripts/image/agent.sh cstats:local                   # here: a base made from this host
#
# Runs as nobody; what needs more (the Docker socket's group, root for other containers'
# filesystems, CAP_SYS_ADMIN and /dev/fuse for the /proc files) is granted at `docker run`:
# see the README ("As a container").
ARG BASE=node:20-bookworm-slim

FROM ${BASE} AS unpack
# A local tar archive is unpacked by ADD: the package's files land in /opt/package.
ADD cstats-*.tgz /opt/

FROM ${BASE}
COPY --from=unpack /opt/package /opt/cstats
ENV PATH=/opt/cstats/bin:/usr/local/bin:/usr/bin:/bin
USER 65534:65534
EXPOSE 7070
ENTRYPOINT ["/opt/cstats/bin/cstats.js"]
CMD ["agent"]
