import type { FastifyPluginAsync } from 'fastify';
import type { WebContext } from '../server.js';

/** `/metrics`: Prometheus text format (queue sizes are read from Redis at each scrape). */
export const metricsRoutes =
  (ctx: WebContext): FastifyPluginAsync =>
  async (app) => {
    app.get('/metrics', async (_request, reply) => {
      const body = await ctx.metrics.registry.metrics();
      return reply.type(ctx.metrics.registry.contentType).send(body);
    });
  };
