FROM node:20-bookworm-slim
WORKDIR /app
# Family-tree labels are drawn as SVG text: the slim image has no fonts of its own.
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY commands ./commands
COPY workflows ./workflows
# Named volumes take the owner of the folder they are mounted on: let the node user write images.
RUN mkdir -p /data/images && chown node:node /data/images
USER node
CMD ["node", "--import", "tsx", "src/bot/main.ts"]
