/**
 * Keeps the deny set in sync by polling tokenmill's revocation feed (`GET /oauth2/revocations?since=`).
 *
 * @packageDocumentation
 */
import { DenySet } from './deny-set.js';
import { basicCredentials } from './protocol/index.js';
import { SyncBase, SyncError, backoffDelay, isId, isNumericDate, nowSeconds } from './sync.js';

/** Options of {@link PollSource}. */
export interface PollSourceOptions {
  /** The `revocation_feed_endpoint` from the metadata. */
  endpoint: string;
  /** Registered client used for HTTP Basic authentication to the feed. */
  clientId: string;
  /** Its secret. */
  clientSecret: string;
  /** Milliseconds between polls while healthy. */
  pollInterval: number;
  /** Milliseconds before a feed request is abandoned. */
  timeout: number;
  /** Cap on the retry backoff, in milliseconds. */
  maxBackoff: number;
  /** The deny set to maintain. */
  deny: DenySet;
  /** fetch implementation. */
  fetch: typeof globalThis.fetch;
}

/** Guard against a feed that never stops saying has_more. */
const MAX_PAGES_PER_ROUND = 100_000;

/** One page of the feed, validated. */
interface FeedPage {
  tokens: unknown[];
  clients: unknown[];
  nextCursor: string;
  snapshot: boolean;
  hasMore: boolean;
}

function parsePage(body: unknown): FeedPage {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new SyncError('revocation feed: body is not a JSON object');
  const b = body as Record<string, unknown>;
  const tokens = b.tokens ?? [];
  const clients = b.clients ?? [];
  if (!Array.isArray(tokens) || !Array.isArray(clients)) throw new SyncError('revocation feed: tokens/clients must be arrays');
  if (typeof b.next_cursor !== 'string' || b.next_cursor.length === 0 || b.next_cursor.length > 4096) {
    throw new SyncError('revocation feed: next_cursor missing or invalid');
  }
  if (b.snapshot !== undefined && typeof b.snapshot !== 'boolean') throw new SyncError('revocation feed: snapshot must be a boolean');
  if (b.has_more !== undefined && typeof b.has_more !== 'boolean') throw new SyncError('revocation feed: has_more must be a boolean');
  return { tokens, clients, nextCursor: b.next_cursor, snapshot: b.snapshot === true, hasMore: b.has_more === true };
}

/**
 * Polls the revocation feed: first without `since`, then with the last `next_cursor`; follows `has_more`
 * at once; a `snapshot: true` response starts a full replacement of the deny set, applied once its last
 * page (`has_more: false`) has arrived (the cursor is committed only then, so an interrupted snapshot is
 * asked for again). On a non-200 answer or a network error the current set is kept and the poll is retried
 * with exponential backoff (capped at `maxBackoff`).
 */
export class PollSource extends SyncBase {
  readonly mode = 'poll' as const;
  readonly #opts: PollSourceOptions;
  readonly #authorization: string;
  #cursor: string | undefined;
  #inflight: AbortController | undefined;
  #loop: Promise<void> | undefined;

  constructor(opts: PollSourceOptions) {
    super();
    this.#opts = opts;
    this.#authorization = basicCredentials(opts.clientId, opts.clientSecret);
  }

  /** The cursor the next poll will send (`undefined` before the first successful poll). */
  get cursor(): string | undefined {
    return this.#cursor;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.sleeper.cancel();
    this.#inflight?.abort();
    await this.#loop;
  }

  async #run(): Promise<void> {
    while (!this.closed) {
      let delay = this.#opts.pollInterval;
      try {
        await this.#round();
        if (this.closed) break;
        this.succeeded();
      } catch (err) {
        if (this.closed) break;
        this.failed(err);
        delay = backoffDelay(this.#opts.pollInterval, this.failures, this.#opts.maxBackoff);
      }
      await this.sleeper.wait(delay);
    }
  }

  async #fetchPage(cursor: string | undefined): Promise<FeedPage> {
    const url = new URL(this.#opts.endpoint);
    if (cursor !== undefined) url.searchParams.set('since', cursor);
    const ac = new AbortController();
    this.#inflight = ac;
    const timer = setTimeout(() => ac.abort(new SyncError('revocation feed: request timed out')), this.#opts.timeout);
    timer.unref();
    try {
      let res: Response;
      try {
        res = await this.#opts.fetch(url, {
          method: 'GET',
          headers: { authorization: this.#authorization, accept: 'application/json' },
          redirect: 'error',
          signal: ac.signal,
        });
      } catch (cause) {
        throw new SyncError('revocation feed: request failed', cause);
      }
      if (res.status !== 200) {
        await res.body?.cancel().catch(() => {});
        throw new SyncError(`revocation feed: HTTP ${res.status}`);
      }
      let body: unknown;
      try {
        body = await res.json();
      } catch (cause) {
        throw new SyncError('revocation feed: body is not JSON', cause);
      }
      return parsePage(body);
    } finally {
      clearTimeout(timer);
      if (this.#inflight === ac) this.#inflight = undefined;
    }
  }

  #apply(target: DenySet, page: FeedPage): void {
    const now = nowSeconds();
    for (const t of page.tokens) {
      const e = t as Record<string, unknown> | null;
      if (e && isId(e.jti) && isNumericDate(e.exp)) target.addToken(e.jti, e.exp, now);
      else this.malformed();
    }
    for (const c of page.clients) {
      const e = c as Record<string, unknown> | null;
      if (e && isId(e.client_id) && isNumericDate(e.revoked_before) && isNumericDate(e.exp)) {
        target.addClient(e.client_id, e.revoked_before, e.exp, now);
      } else this.malformed();
    }
  }

  /** One sync round: fetch pages until `has_more` is false. */
  async #round(): Promise<void> {
    let staging: DenySet | undefined;
    let cursor = this.#cursor;
    for (let pages = 1; ; pages++) {
      if (this.closed) return;
      if (pages > MAX_PAGES_PER_ROUND) throw new SyncError('revocation feed: too many pages in one round');
      const page = await this.#fetchPage(cursor);
      if (page.hasMore && page.nextCursor === cursor) throw new SyncError('revocation feed: has_more without a new cursor');
      // A snapshot restarts from scratch; pages that follow it (has_more) belong to the same snapshot.
      if (page.snapshot && staging === undefined) staging = new DenySet(this.#opts.deny.graceSeconds);
      this.#apply(staging ?? this.#opts.deny, page);
      cursor = page.nextCursor;
      if (staging === undefined) this.#cursor = cursor; // incremental pages are committed one by one
      if (!page.hasMore) break;
    }
    if (staging !== undefined) {
      this.#opts.deny.replaceWith(staging);
      this.#cursor = cursor;
      this.snapshotApplied();
    }
  }
}
