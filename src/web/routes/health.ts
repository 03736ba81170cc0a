import type { FastifyPluginAsync } from 'fastify';
import { runReadinessChecks } from '../readiness.js';
import type { WebContext } from '../server.js';

/**
 * `/healthz`: the process is alive and its event loop answers (a liveness probe restarts it
 * otherwise). `/readyz`: everything it needs is reachable; 503 names what is not.
 */
export const healthRoutes =
  (ctx: WebContext): FastifyPluginAsync =>
  async (app) => {
    app.get('/healthz', async () => ({ status: 'ok' }));

    app.get('/readyz', async (_request, reply) => {
      const checks = await runReadinessChecks(ctx.readiness);
      const failed = checks.filter((check) => !check.ok);
      if (failed.length > 0) ctx.logger.warn({ failed }, 'not ready');
      return reply.code(failed.length === 0 ? 200 : 503).send({
        status: failed.length === 0 ? 'ready' : 'not ready',
        checks: Object.fromEntries(checks.map((check) => [check.name, check.ok ? 'ok' : check.error])),
      });
    });
  };
