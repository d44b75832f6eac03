# The image Airbyte platforms run (`spec`, `check`, `write`), also usable as a Singer target:
#   docker run -i target-redshift --config /secrets/config.json < records.singer
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
COPY spec ./spec
RUN npm ci --ignore-scripts && npm run build && npm prune --omit=dev --ignore-scripts

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/spec ./spec
# Airbyte starts the connector through this variable.
ENV AIRBYTE_ENTRYPOINT="node /app/dist/src/cli.js"
ENTRYPOINT ["node", "/app/dist/src/cli.js"]
LABEL io.airbyte.name=target-redshift
LABEL io.airbyte.version=0.1.0
USER node
