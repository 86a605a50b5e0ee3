# A stand-in for node:<version>-bookworm-slim, built from local parts (see ../base-images.sh):
# the node binary, npm, and the unprivileged `node` user (uid 1000) infra/Dockerfile runs as.
ARG BASE
FROM ${BASE}
COPY node/bin/node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
# The build host's trusted certificates (empty when it has none to offer): npm and pnpm in
# the service builds reach the registry through whatever TLS proxy the host goes through.
COPY host-ca.pem /usr/local/share/voicebus/host-ca.pem
ENV NODE_EXTRA_CA_CERTS=/usr/local/share/voicebus/host-ca.pem
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && groupadd --gid 1000 node \
 && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \
 && node --version && npm --version
CMD ["node"]
