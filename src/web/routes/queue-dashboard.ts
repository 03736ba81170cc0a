import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WebLogin } from '../auth/login.js';

export const DASHBOARD_PATH = '/admin/queues';

/** Fastify's own answer for an unknown route: the dashboard does not exist for anyone else. */
function notFound(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply.code(404).send({ message: `Route ${request.method}:${request.url} not found`, error: 'Not Found', statusCode: 404 });
}

/** The dashboard's pages (not its JSON API or scripts), where a logged-out visitor is sent to log in. */
function isPage(request: FastifyRequest): boolean {
  const path = request.url.split('?')[0]!.slice(DASHBOARD_PATH.length);
  return request.method === 'GET' && !path.startsWith('/api/') && !path.startsWith('/static/');
}

/**
 * bull-board at /admin/queues, for the application's owner (or team) and ADMIN_USER_IDS only.
 * One hook guards everything the board registers (pages, JSON API, static files); anyone else
 * gets a plain 404, and a visitor who is not logged in is sent to log in first.
 */
export const queueDashboard =
  (login: WebLogin, queues: readonly Queue[]) =>
  async (app: FastifyInstance): Promise<void> => {
    const serverAdapter = new FastifyAdapter();
    serverAdapter.setBasePath(DASHBOARD_PATH);
    createBullBoard({
      queues: queues.map((queue) => new BullMQAdapter(queue)),
      serverAdapter,
      options: { uiConfig: { boardTitle: 'Atelier queues' } },
    });

    await app.register(async (guarded) => {
      guarded.addHook('onRequest', async (request, reply) => {
        const session = await login.sessionOf(request, reply);
        if (!session) {
          if (!isPage(request)) return notFound(request, reply);
          return reply.redirect(`/auth/login?next=${encodeURIComponent(request.url)}`);
        }
        if (!(await login.isAdmin(session.userId))) return notFound(request, reply);
        // The board's buttons (retry, clean, pause) send PUT/POST without a CSRF token of ours:
        // such requests must come from a page of this site. Browsers always send Origin on them.
        if (!['GET', 'HEAD', 'OPTIONS'].includes(request.method) && request.headers.origin !== login.publicOrigin) {
          return reply.code(403).send({ message: 'cross-site request refused', error: 'Forbidden', statusCode: 403 });
        }
      });
      await guarded.register(serverAdapter.registerPlugin(), { prefix: DASHBOARD_PATH });
    });
  };
