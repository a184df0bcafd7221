import type {
  ChannelConfigurationResponse,
  HeraldMessage,
  HeraldMessageType,
  ProblemDetails,
  RabbitMqChannelRequestInput,
  SignalRChannelRequestInput,
  WebHookChannelRequestInput,
} from '@herald/schemas';
import { HeraldApiError } from './herald-api-error.ts';
import type {
  ApiKeyView,
  ApplicationView,
  AttemptView,
  ChannelDetails,
  DeliveryState,
  DeliveryView,
  EventView,
  MessageView,
  NewApiKeyView,
  Page,
  PublishResponse,
  ReadinessView,
  RejectionCodeView,
  TokenResponse,
  UsageView,
} from './views.ts';

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface HeraldClientOptions {
  /** e.g. `http://127.0.0.1:8080` */
  baseUrl: string;
  /** A Bearer JWT. Without one, the client mints (and renews) one with `apiKey` + `apiSecret`. */
  token?: string;
  apiKey?: string;
  apiSecret?: string;
  /** Default: the global fetch. */
  fetch?: FetchLike;
  userAgent?: string;
  /** Epoch milliseconds, for token renewal; injectable for tests. */
  now?: () => number;
}

type Query = Record<string, string | number | boolean | Date | undefined | null>;
type Auth = 'full' | 'key' | 'none';

export interface PageOptions {
  limit?: number;
  cursor?: string | null;
  /** Operators name the application they act on; applications may omit it. */
  applicationId?: string;
}

export interface MessageFilter extends PageOptions {
  type?: HeraldMessageType;
  since?: Date | string;
  until?: Date | string;
  correlationId?: string;
}

export interface DeliveryFilter extends PageOptions {
  state?: DeliveryState;
  channelId?: string;
  messageId?: string;
  since?: Date | string;
  until?: Date | string;
}

export interface AttemptFilter extends PageOptions {
  deliveryId?: string;
  messageId?: string;
  channelId?: string;
  ok?: boolean;
  since?: Date | string;
}

export interface PublishOptions {
  idempotencyKey?: string;
  correlationId?: string;
  traceparent?: string;
  /** Forces the message type (default: from `MessageType`, or the image-checking notification). */
  type?: HeraldMessageType;
  applicationId?: string;
}

export interface Scope {
  applicationId?: string;
}

const H = '/api/v1/herald';
const DOC = '/api/v1/Notification/ChannelConfiguration';
/** Renew a minted token this long before it expires. */
const RENEW_BEFORE_MS = 30_000;
/** Pages an iterator reads at most, so a cursor bug cannot loop forever. */
const MAX_PAGES = 100_000;

function queryString(query: Query | undefined): string {
  if (query === undefined) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null) continue;
    params.set(k, v instanceof Date ? v.toISOString() : String(v));
  }
  const s = params.toString();
  return s === '' ? '' : `?${s}`;
}

function isProblem(value: unknown): value is ProblemDetails {
  return typeof value === 'object' && value !== null && 'status' in value && 'title' in value;
}

/** A typed client for every endpoint of the Herald API. */
export function createHeraldClient(options: HeraldClientOptions) {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const doFetch: FetchLike = options.fetch ?? ((input, init) => fetch(input, init));
  const now = options.now ?? Date.now;
  let token = options.token;
  let tokenRenewAt = Number.POSITIVE_INFINITY;
  let minting: Promise<string> | undefined;

  function keyHeaders(): Record<string, string> {
    if (options.apiKey === undefined || options.apiSecret === undefined) {
      throw new TypeError('this call needs apiKey and apiSecret in createHeraldClient options');
    }
    return { 'x-api-key': options.apiKey, 'x-api-secret': options.apiSecret };
  }

  async function bearer(): Promise<string> {
    if (token !== undefined && now() < tokenRenewAt) return token;
    minting ??= mintToken()
      .then((t) => {
        token = t.token;
        tokenRenewAt = now() + t.expiresIn * 1000 - RENEW_BEFORE_MS;
        return t.token;
      })
      .finally(() => {
        minting = undefined;
      });
    return minting;
  }

  async function request<T>(
    method: string,
    path: string,
    opts: {
      query?: Query;
      json?: unknown;
      headers?: Record<string, string>;
      auth?: Auth;
      accept404?: (p: ProblemDetails) => boolean;
    } = {},
  ): Promise<T> {
    const auth = opts.auth ?? 'full';
    const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
    if (options.userAgent !== undefined) headers['user-agent'] = options.userAgent;
    if (auth !== 'none') Object.assign(headers, keyHeaders());
    if (auth === 'full') headers['authorization'] = `Bearer ${await bearer()}`;
    const init: RequestInit = { method, headers };
    if (opts.json !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(opts.json);
    }
    const url = `${path}${queryString(opts.query)}`;
    const res = await doFetch(`${baseUrl}${url}`, init);
    const text = await res.text();
    let body: unknown = null;
    if (text !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    if (!res.ok) {
      const problem = isProblem(body) ? body : null;
      throw new HeraldApiError(res.status, problem, method, path);
    }
    return body as T;
  }

  async function* iterate<T>(
    fetchPage: (cursor: string | null) => Promise<Page<T>>,
    start: string | null = null,
  ): AsyncGenerator<T> {
    let cursor = start;
    for (let i = 0; i < MAX_PAGES; i++) {
      const page = await fetchPage(cursor);
      yield* page.items;
      if (page.nextCursor === null) return;
      cursor = page.nextCursor;
    }
  }

  function mintToken(): Promise<TokenResponse> {
    return request<TokenResponse>('POST', `${H}/tokens`, { auth: 'key' });
  }

  const app = (scope?: Scope) => ({ applicationId: scope?.applicationId });

  const client = {
    /** POST /api/v1/herald/tokens: a JWT for the configured API key (the client does this itself when needed). */
    mintToken,

    // The documented channel configuration API.
    listChannels: (applicationId: string) =>
      request<ChannelConfigurationResponse[]>('GET', `${DOC}/All`, { query: { applicationId } }),
    /** The active channels (the documented `$values`); an empty array when none is active. */
    async listActiveChannels(applicationId: string): Promise<ChannelConfigurationResponse[]> {
      try {
        const wrapped = await request<{ $id: string; $values: ChannelConfigurationResponse[] }>(
          'GET',
          `${DOC}/Active`,
          {
            query: { applicationId },
          },
        );
        return wrapped.$values;
      } catch (err) {
        if (err instanceof HeraldApiError && err.status === 404 && err.errors['engine: Active'] !== undefined)
          return [];
        throw err;
      }
    },
    getChannel: (applicationId: string, configurationId: string) =>
      request<ChannelConfigurationResponse>('GET', DOC, { query: { applicationId, configurationId } }),
    deleteChannel: (applicationId: string, configurationId: string) =>
      request<boolean>('DELETE', DOC, { query: { applicationId, configurationId } }),
    createWebHookChannel: (applicationId: string, body: WebHookChannelRequestInput) =>
      request<ChannelConfigurationResponse>('POST', `${DOC}/WebHook`, { query: { applicationId }, json: body }),
    updateWebHookChannel: (applicationId: string, configurationId: string, body: WebHookChannelRequestInput) =>
      request<ChannelConfigurationResponse>('PUT', `${DOC}/WebHook`, {
        query: { applicationId, configurationId },
        json: body,
      }),
    createRabbitMqChannel: (applicationId: string, body: RabbitMqChannelRequestInput) =>
      request<ChannelConfigurationResponse>('POST', `${DOC}/RabbitMQ`, { query: { applicationId }, json: body }),
    updateRabbitMqChannel: (applicationId: string, configurationId: string, body: RabbitMqChannelRequestInput) =>
      request<ChannelConfigurationResponse>('PUT', `${DOC}/RabbitMQ`, {
        query: { applicationId, configurationId },
        json: body,
      }),
    /** Herald addition: a SignalR channel (pushes to the application's clients connected to /hubs/notifications). */
    createSignalRChannel: (applicationId: string, body: SignalRChannelRequestInput) =>
      request<ChannelConfigurationResponse>('POST', `${DOC}/SignalR`, { query: { applicationId }, json: body }),
    updateSignalRChannel: (applicationId: string, configurationId: string, body: SignalRChannelRequestInput) =>
      request<ChannelConfigurationResponse>('PUT', `${DOC}/SignalR`, {
        query: { applicationId, configurationId },
        json: body,
      }),

    // Herald's channel extras.
    getChannelDetails: (channelId: string, scope?: Scope) =>
      request<ChannelDetails>('GET', `${H}/channels/${encodeURIComponent(channelId)}`, { query: app(scope) }),
    /** A new `whsec_` signing secret, shown once. */
    rotateSigningSecret: (channelId: string, opts: Scope & { keepPrevious?: boolean } = {}) =>
      request<{ signingSecret: string; activeSecrets: number }>(
        'POST',
        `${H}/channels/${encodeURIComponent(channelId)}/signing-secret`,
        {
          query: { ...app(opts), keepPrevious: opts.keepPrevious },
        },
      ),
    issueClientCertificate: (channelId: string, scope?: Scope) =>
      request<{ certificatePem: string; caCertificatePem: string; notAfter: string }>(
        'POST',
        `${H}/channels/${encodeURIComponent(channelId)}/client-certificate`,
        { query: app(scope) },
      ),

    // Publishing.
    publish(message: HeraldMessage | Record<string, unknown>, opts: PublishOptions = {}): Promise<PublishResponse> {
      const headers: Record<string, string> = {};
      if (opts.idempotencyKey !== undefined) headers['idempotency-key'] = opts.idempotencyKey;
      if (opts.correlationId !== undefined) headers['x-correlation-id'] = opts.correlationId;
      if (opts.traceparent !== undefined) headers['traceparent'] = opts.traceparent;
      return request<PublishResponse>('POST', `${H}/messages`, {
        query: { type: opts.type, applicationId: opts.applicationId },
        json: message,
        headers,
      });
    },

    // The delivery log.
    listMessages: (filter: MessageFilter = {}) =>
      request<Page<MessageView>>('GET', `${H}/messages`, { query: { ...filter } }),
    iterateMessages: (filter: MessageFilter = {}) =>
      iterate((cursor) => client.listMessages({ ...filter, cursor }), filter.cursor ?? null),
    getMessage: (messageId: string, scope?: Scope) =>
      request<MessageView & { deliveries: DeliveryView[] }>('GET', `${H}/messages/${encodeURIComponent(messageId)}`, {
        query: app(scope),
      }),
    listDeliveries: (filter: DeliveryFilter = {}) =>
      request<Page<DeliveryView>>('GET', `${H}/deliveries`, { query: { ...filter } }),
    iterateDeliveries: (filter: DeliveryFilter = {}) =>
      iterate((cursor) => client.listDeliveries({ ...filter, cursor }), filter.cursor ?? null),
    getDelivery: (deliveryId: string, scope?: Scope) =>
      request<DeliveryView & { attemptLog: AttemptView[] }>(
        'GET',
        `${H}/deliveries/${encodeURIComponent(deliveryId)}`,
        {
          query: app(scope),
        },
      ),
    redeliver: (deliveryId: string, opts: Scope & { force?: boolean } = {}) =>
      request<DeliveryView>('POST', `${H}/deliveries/${encodeURIComponent(deliveryId)}/redeliver`, {
        query: { ...app(opts), force: opts.force },
      }),
    recover: (opts: Scope & { since: Date | string; channelId?: string }) =>
      request<{ recovered: number }>('POST', `${H}/deliveries/recover`, {
        query: app(opts),
        json: {
          since: opts.since instanceof Date ? opts.since.toISOString() : opts.since,
          ...(opts.channelId === undefined ? {} : { channelId: opts.channelId }),
        },
      }),
    listAttempts: (filter: AttemptFilter = {}) =>
      request<Page<AttemptView>>('GET', `${H}/attempts`, { query: { ...filter } }),
    iterateAttempts: (filter: AttemptFilter = {}) =>
      iterate((cursor) => client.listAttempts({ ...filter, cursor }), filter.cursor ?? null),
    listEvents: (opts: PageOptions = {}) => request<Page<EventView>>('GET', `${H}/events`, { query: { ...opts } }),
    iterateEvents: (opts: PageOptions = {}) =>
      iterate((cursor) => client.listEvents({ ...opts, cursor }), opts.cursor ?? null),

    // Rejection codes.
    listRejectionCodes: (scope?: Scope) =>
      request<RejectionCodeView[]>('GET', `${H}/rejection-codes`, { query: app(scope) }),
    putRejectionCode: (code: string, description: string, scope?: Scope) =>
      request<RejectionCodeView>('PUT', `${H}/rejection-codes/${encodeURIComponent(code)}`, {
        query: app(scope),
        json: { description },
      }),
    deleteRejectionCode: (code: string, scope?: Scope) =>
      request<true>('DELETE', `${H}/rejection-codes/${encodeURIComponent(code)}`, { query: app(scope) }),

    // Credits of the calling key.
    getUsage: () => request<UsageView>('GET', `${H}/usage`),

    // Operators.
    createApplication: (input: { name: string; rateLimitPerSecond?: number | null }) =>
      request<ApplicationView>('POST', `${H}/applications`, { json: input }),
    listApplications: () => request<ApplicationView[]>('GET', `${H}/applications`),
    getApplication: (applicationId: string) =>
      request<ApplicationView>('GET', `${H}/applications/${encodeURIComponent(applicationId)}`),
    createApiKey: (applicationId: string, input: { label?: string; credits?: number | null } = {}) =>
      request<NewApiKeyView>('POST', `${H}/applications/${encodeURIComponent(applicationId)}/keys`, { json: input }),
    listApiKeys: (applicationId: string) =>
      request<ApiKeyView[]>('GET', `${H}/applications/${encodeURIComponent(applicationId)}/keys`),
    rotateApiKey: (applicationId: string, keyId: string) =>
      request<NewApiKeyView>(
        'POST',
        `${H}/applications/${encodeURIComponent(applicationId)}/keys/${encodeURIComponent(keyId)}/rotate`,
      ),
    revokeApiKey: (applicationId: string, keyId: string) =>
      request<true>(
        'DELETE',
        `${H}/applications/${encodeURIComponent(applicationId)}/keys/${encodeURIComponent(keyId)}`,
      ),
    setCredits: (applicationId: string, keyId: string, credits: number | null) =>
      request<ApiKeyView>(
        'PUT',
        `${H}/applications/${encodeURIComponent(applicationId)}/keys/${encodeURIComponent(keyId)}/credits`,
        {
          json: { credits },
        },
      ),

    // Operations (no credentials).
    health: () => request<{ status: 'ok' }>('GET', '/healthz', { auth: 'none' }),
    /** Readiness; answers the checks also when not ready (503). */
    async ready(): Promise<ReadinessView> {
      const res = await doFetch(`${baseUrl}/readyz`, { method: 'GET', headers: { accept: 'application/json' } });
      return (await res.json()) as ReadinessView;
    },
    openApi: () => request<Record<string, unknown>>('GET', '/openapi.json', { auth: 'none' }),
  };
  return client;
}

export type HeraldClient = ReturnType<typeof createHeraldClient>;
