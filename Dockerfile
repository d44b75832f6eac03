# The image Airbyte platforms run (`spec`, `check`, `write`), also usable as a Singer target:
#   docker build -t targetredshift/destination-redshift-ts:0.1.0 .
#   docker run -i --rm -v "$PWD/secrets:/secrets" targetredshift/destination-redshift-ts:0.1.0 --config /secrets/config.json < records.singer
# integration_tests/package/docker-install.test.ts performs this file's COPY and RUN steps in a temp dir and runs the
# ENTRYPOINT from there (no Docker engine needed), and checks the version label against package.json.
# Keep RUN lines relative to WORKDIR so that test can replay them.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
COPY spec ./spec
RUN npm ci --ignore-scripts --no-audit --no-fund && npm run build && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:22-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/spec ./spec
# Airbyte starts the connector through this variable.
ENV AIRBYTE_ENTRYPOINT="node /app/dist/src/cli.js"
# node itself is PID 1's command (no shell in between), so SIGTERM from `docker stop` or Airbyte reaches it.
ENTRYPOINT ["node", "/app/dist/src/cli.js"]
# Airbyte's <org>/destination-<name> convention; the org is this project's image namespace (README, "Airbyte").
LABEL io.airbyte.name=targetredshift/destination-redshift-ts
# `npm version` rewrites this line (scripts/docker-version.mjs); a test fails when it differs from package.json.
LABEL io.airbyte.version=0.1.0
USER node
