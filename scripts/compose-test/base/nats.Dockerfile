# A stand-in for nats:*-alpine, built from Debian's nats-server package (2.9.10 on bookworm).
# wget: the compose health check asks the monitoring port's /healthz with it.
ARG BASE
FROM ${BASE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nats-server wget \
 && rm -rf /var/lib/apt/lists/* \
 && nats-server --version
EXPOSE 4222 8222
ENTRYPOINT ["/usr/sbin/nats-server"]
