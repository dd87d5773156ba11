# tokenmill: multi-stage build; the runtime image holds production dependencies and compiled output only.
FROM node:24-bookworm-slim AS build
WORKDIR /app
# npm ci needs every workspace's manifest (@tokenmill/verify, a dependency of the server; tools/lint, dev only).
COPY package.json package-lock.json ./
COPY packages/verify/package.json ./packages/verify/
COPY tools/lint/package.json ./tools/lint/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY packages ./packages
COPY src ./src
# The server only (tsconfig.build.json leaves the tests out), after the workspace package it imports.
RUN npm run build --workspace @tokenmill/verify && npx tsc -p tsconfig.build.json

FROM node:24-bookworm-slim
# Production refuses plain HTTP: run with TRUST_PROXY=true behind a TLS-terminating proxy, or mount
# a certificate and set TLS_CERT_FILE and TLS_KEY_FILE. The admin listener binds ADMIN_HOST
# (127.0.0.1 unless set): set it to reach the admin API from outside the container.
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080 ADMIN_PORT=8081 DATA_DIR=/data
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/verify/package.json ./packages/verify/
COPY tools/lint/package.json ./tools/lint/
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/packages/verify/dist ./packages/verify/dist
COPY --from=build /app/dist/src ./dist/src
COPY bin ./bin
RUN mkdir -p /data && chown node:node /data
# The unprivileged user of the node image (uid 1000), never root.
USER node
EXPOSE 8080 8081
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s CMD node -e "fetch('http://127.0.0.1:'+process.env.PORT+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "--max-semi-space-size=8", "dist/src/server.cjs"]
