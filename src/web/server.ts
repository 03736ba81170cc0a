import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { loginRoutes, type WebLogin } from './auth/login.js';
import type { Metrics } from '../metrics.js';
import { galleryRoutes, type GalleryContext } from './gallery/routes.js';
import type { ReadinessCheck } from './readiness.js';
import type { InteractionEndpoint } from '../bot/http-interactions.js';
import { healthRoutes } from './routes/health.js';
import { interactionRoutes } from './routes/interactions.js';
import { metricsRoutes } from './routes/metrics.js';
import { queueDashboard } from './routes/queue-dashboard.js';

/** What the web server's routes need; passed in, never imported as a global. */
export interface WebContext {
  logger: Logger;
  metrics: Metrics;
  /** Checks /readyz runs; parts of Atelier (and later the database) add theirs. */
  readiness: ReadinessCheck[];
  /** "Login with Discord"; absent when its settings are not given (no login routes then). */
  login?: WebLogin;
  /** Shown on the queue dashboard (/admin/queues) to admins; it needs `login`. */
  queues?: readonly Queue[];
  /** The web gallery (pages of each server's pictures); absent: no gallery. Without `login` only public galleries can be seen. */
  gallery?: GalleryContext;
  /** INTERACTIONS=http: the bot's receiver of Discord's signed POSTs on /interactions. */
  interactions?: InteractionEndpoint;
}

/**
 * Atelier's HTTP server: health, readiness, Prometheus metrics, login, the queue dashboard and the web gallery.
 * Each area registers its routes from its own module.
 */
export async function createWebServer(ctx: WebContext): Promise<FastifyInstance> {
  const app = Fastify({
    // Typed as Fastify's logger so that the app keeps Fastify's default instance type.
    loggerInstance: ctx.logger.child({ part: 'web' }) as FastifyBaseLogger,
    // Probes and scrapes arrive every few seconds: logging each one would drown everything else.
    logController: new LogController({ disableRequestLogging: true }),
  });
  // A failure of Atelier's own answers a plain 500: its cause goes to the log (with the route, not
  // the URL, whose query may hold a login code), never to the visitor. A request's own fault (a
  // malformed body, say) keeps its 4xx and Fastify's explanation.
  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    const status = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) request.log.error({ err: error, method: request.method, route: request.routeOptions.url }, 'request failed');
    return reply.code(status).send({ error: status === 500 ? 'Something went wrong on our side.' : error.message });
  });
  await app.register(healthRoutes(ctx));
  await app.register(metricsRoutes(ctx));
  if (ctx.interactions) await app.register(interactionRoutes(ctx.interactions));
  if (ctx.login) {
    const areas = [];
    if (ctx.queues?.length) areas.push(queueDashboard(ctx.login, ctx.queues));
    if (ctx.gallery) areas.push(galleryRoutes(ctx.gallery, ctx.login));
    await app.register(loginRoutes(ctx.login, areas));
  } else if (ctx.gallery) {
    await app.register(galleryRoutes(ctx.gallery));
  }
  return app;
}

/** Starts the server on `port` (0 means off: resolves undefined). */
export async function startWebServer(ctx: WebContext, port: number, host = '0.0.0.0'): Promise<FastifyInstance | undefined> {
  if (port === 0) return undefined;
  const app = await createWebServer(ctx);
  await app.listen({ port, host });
  return app;
}
