# Build stage: compile TypeScript to dist/ (needs the dev dependencies, which the image leaves out).
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY commands ./commands
RUN npm run build

# Runtime: plain node on the compiled JavaScript, production dependencies only, as the node user.
FROM node:24-bookworm-slim
WORKDIR /app
# Family-tree labels are drawn as SVG text: the slim image has no fonts of its own.
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY workflows ./workflows
# Named volumes take the owner of the folder they are mounted on: let the node user write images.
RUN mkdir -p /data/images && chown node:node /data/images
USER node
# WEB_PORT (bot, npm start) and METRICS_PORT (a worker alone): /healthz, /readyz, /metrics.
EXPOSE 8080 9464
# The bot's /healthz; a worker container checks its own with `node dist/src/healthcheck.js worker`
# (docker-compose.yml does). A process that stops answering is marked unhealthy.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["node", "dist/src/healthcheck.js", "bot"]
CMD ["node", "--enable-source-maps", "dist/src/bot/main.js"]
