# Hecaton in a container: a storage node or a distributor (one binary, both roles).
#
#   docker build -t hecaton .
#   docker compose -f deploy/docker/docker-compose.yml up
#
# io_uring: recent container engines (Docker 25+, containerd, podman) block io_uring in their
# default seccomp profile, and the data plane needs it. Run with the profile in
# deploy/docker/seccomp-io_uring.json (the engine's default plus io_uring_setup/enter/register):
#   docker run --security-opt seccomp=deploy/docker/seccomp-io_uring.json --ulimit memlock=-1 ...
# Without it the data plane stops at start with "io_uring is blocked" (exit code 7).

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p hecaton --bin hecaton \
 && strip target/release/hecaton

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/hecaton --create-home hecaton
COPY --from=build /src/target/release/hecaton /usr/local/bin/hecaton
USER hecaton:hecaton
WORKDIR /var/lib/hecaton
VOLUME /var/lib/hecaton
# 3333: a storage node's public API; 3334: a distributor's. Operator APIs stay on loopback
# unless the configuration says otherwise.
EXPOSE 3333 3334
ENTRYPOINT ["/usr/local/bin/hecaton", "--log-format", "json"]
CMD ["--help"]
