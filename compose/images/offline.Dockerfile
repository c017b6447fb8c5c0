# Runtime-only images for machines that reach no registry (compose/build-offline.sh): the
# binaries cargo built on this machine, on lab/base:bookworm, the base that script makes with
# debootstrap and `docker import`. No stage starts from a registry's image, and none compiles:
# the legacy builder (no BuildKit) builds every stage it reads, so a Rust stage here would
# need rust:1-slim-bookworm even to build one runtime image.
#
# The context is target/lab-images/context (the script copies this file there as Dockerfile,
# next to the stripped binaries), so the upload to the engine is the binaries alone.
ARG LAB_BASE_IMAGE=lab/base:bookworm
ARG LAB_POSTGRES_BASE_IMAGE=lab/postgres-base:bookworm

FROM ${LAB_BASE_IMAGE} AS demo-service
COPY demo-service /usr/local/bin/demo-service
# distroless's non-root user; the binary stays root's, so the service cannot rewrite itself.
USER 65532:65532
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/demo-service", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/demo-service"]

FROM ${LAB_BASE_IMAGE} AS agent-lite
COPY agent-lite /usr/local/bin/agent-lite
# AGENT_LITE_STATE_DIR in compose.yaml: a named volume mounted here starts with this
# directory's owner, so the non-root user can write its monitor history there (the base has
# no shell to mkdir with: an empty directory of the context is copied instead).
COPY --chown=65532:65532 agent-lite-state /var/lib/agent-lite
USER 65532:65532
# Listen on every interface of the container (the Agent's non-local traffic); what is
# published on the host is decided by compose.yaml (127.0.0.1 only).
ENV DD_BIND_HOST=0.0.0.0
EXPOSE 8126 8125/udp 5002
HEALTHCHECK --interval=10s --timeout=6s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/agent-lite", "status", "--json"]
ENTRYPOINT ["/usr/local/bin/agent-lite"]

# inventory's database: Debian's postgresql-15 on lab/postgres-base:bookworm (the debootstrap
# tree with the package installed and its postgres user given uid 999, the official image's;
# compose/build-offline.sh makes it). Before loadgen, the newest crate, so that the rest of the
# lab builds while loadgen does not; building loadgen reads it (the script then makes its base).
# The entrypoint does what the official image's does with POSTGRES_USER, POSTGRES_PASSWORD
# and POSTGRES_DB.
FROM ${LAB_POSTGRES_BASE_IMAGE} AS postgres
COPY --chmod=0755 postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/bin:/usr/bin:/bin PGDATA=/var/lib/postgresql/data
USER 999:999
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint.sh"]
CMD ["postgres"]

# Last: a build that stops at an earlier target never reads it (the legacy builder stops at
# the target), so demo-service, agent-lite and postgres build even while loadgen's binary is
# missing.
FROM ${LAB_BASE_IMAGE} AS loadgen
COPY loadgen /usr/local/bin/loadgen
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/loadgen"]
