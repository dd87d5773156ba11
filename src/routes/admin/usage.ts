import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import type { Runtime } from '../../runtime.js';
import { visibleClient } from './clients.js';
import { AdminError, ClientIdParams, ClientUsage, UsageTop, UsageTopQuery } from '../../schemas/admin.js';

const errors = { 400: AdminError, 401: AdminError, 403: AdminError, 404: AdminError, 503: AdminError };
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * docs/contract.md "Quotas": a client's tokens per UTC hour (48) and day (30) from `token_usage`,
 * and each window of its quota now (the fleet's shared count); the clients with the most tokens in
 * the current UTC hour. This node's unwritten usage is written first; other nodes' lags by at most
 * their write interval (5 s).
 */
export function adminUsageRoutes(app: FastifyInstance, rt: Runtime): void {
  app.get<{ Params: Static<typeof ClientIdParams> }>(
    '/clients/:client_id/usage',
    { config: { action: 'client.usage', orgAdmin: true }, schema: { tags: ['usage'], params: ClientIdParams, response: { 200: ClientUsage, ...errors } } },
    async (request) => {
      const client = await visibleClient(rt, request, request.params.client_id);
      await rt.quotas.flushUsage();
      const now = rt.clock.now();
      const hour = now - (now % HOUR_MS);
      const day = now - (now % DAY_MS);
      const firstDay = day - 29 * DAY_MS;
      const rows = await rt.tokenUsage.hourly(client.clientId, firstDay, hour + HOUR_MS);
      const byHour = new Map<number, number>();
      const byDay = new Map<number, number>();
      for (const r of rows) {
        byHour.set(r.hourStart, r.tokens);
        const d = r.hourStart - (r.hourStart % DAY_MS);
        byDay.set(d, (byDay.get(d) ?? 0) + r.tokens);
      }
      const hours = Array.from({ length: 48 }, (_, i) => hour - (47 - i) * HOUR_MS).map((start) => ({ start: iso(start), tokens: byHour.get(start) ?? 0 }));
      const days = Array.from({ length: 30 }, (_, i) => firstDay + i * DAY_MS).map((start) => ({ start: iso(start), tokens: byDay.get(start) ?? 0 }));
      const quota: Record<string, { limit: number; used: number; resets_at: string }> = {};
      for (const w of await rt.quotas.windows(client.clientId, rt.quotas.effective(client))) quota[w.name] = { limit: w.limit, used: w.used, resets_at: iso(w.resetsAt) };
      return { client_id: client.clientId, hours, days, quota };
    },
  );

  app.get<{ Querystring: Static<typeof UsageTopQuery> }>(
    '/usage/top',
    { config: { action: 'usage.top', orgAdmin: true }, schema: { tags: ['usage'], querystring: UsageTopQuery, response: { 200: UsageTop, ...errors } } },
    async (request) => {
      await rt.quotas.flushUsage();
      const now = rt.clock.now();
      const hour = now - (now % HOUR_MS);
      // An organization admin sees its organization's clients only.
      const top = await rt.tokenUsage.top(hour, request.query.limit ?? 10, request.adminOrg);
      return { hour_start: iso(hour), items: top.map((r) => ({ client_id: r.clientId, client_name: r.clientName, tokens: r.tokens })) };
    },
  );
}
