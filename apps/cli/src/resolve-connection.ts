import { readFileSync } from 'node:fs';
import type { GlobalOptions } from './cli-context.ts';
import { CliError } from './cli-error.ts';
import type { CliEnv } from './env.ts';
import { EXIT_CODES } from './exit-codes.ts';

export interface Connection {
  baseUrl: string;
  /** The application the documented channel API acts on, when known without asking the API. */
  applicationId?: string;
  token?: string;
  apiKey?: string;
  apiSecret?: string;
}

interface KeyPair {
  apiKey: string;
  apiSecret: string;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function pairOf(value: unknown): KeyPair | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const apiKey = str(v['apiKey']) ?? str(v['key']) ?? str(v['x-api-key']);
  const apiSecret = str(v['apiSecret']) ?? str(v['secret']) ?? str(v['x-api-secret']);
  return apiKey !== undefined && apiSecret !== undefined ? { apiKey, apiSecret } : undefined;
}

/** Reads the one-command start's credentials.json: the API URL, the operator key and the demo application's key. */
export function readCredentialsFile(path: string): {
  url?: string;
  operator?: KeyPair;
  application?: KeyPair;
  applicationId?: string;
} {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new CliError('credentials_file', `cannot read the credentials file ${path}`, EXIT_CODES.usage, {
      cause: error,
    });
  }
  if (typeof json !== 'object' || json === null)
    throw new CliError('credentials_file', `${path} is not a JSON object`, EXIT_CODES.usage);
  const j = json as Record<string, unknown>;
  const url = str(j['apiUrl']) ?? str(j['url']) ?? str(j['baseUrl']);
  const operator = pairOf(j['operator']);
  const application =
    pairOf(j['application']) ??
    pairOf(j['demoApplication']) ??
    pairOf(j['demo']) ??
    pairOf((j['applications'] as unknown[] | undefined)?.[0]);
  const demo = j['demo'] ?? j['demoApplication'] ?? j['application'];
  const applicationId =
    typeof demo === 'object' && demo !== null ? str((demo as Record<string, unknown>)['applicationId']) : undefined;
  return {
    ...(url ? { url } : {}),
    ...(operator ? { operator } : {}),
    ...(application ? { application } : {}),
    ...(applicationId ? { applicationId } : {}),
  };
}

/**
 * Flags, then environment, then the credentials file. `role` picks the file's operator key
 * (applications, keys) or the demo application's key (everything else; the operator key is used
 * when the file has no application key).
 */
export function resolveConnection(globals: GlobalOptions, env: CliEnv, role: 'operator' | 'application'): Connection {
  const file = globals.credentials ?? env.credentialsFile;
  const creds = file === undefined ? {} : readCredentialsFile(file);
  const baseUrl = globals.url ?? env.url ?? creds.url;
  if (baseUrl === undefined) {
    throw new CliError(
      'no_url',
      'no API URL: pass --url, set HERALD_URL, or --credentials data/credentials.json',
      EXIT_CODES.usage,
    );
  }
  const token = globals.token ?? env.token;
  const apiKey = globals.apiKey ?? env.apiKey;
  const apiSecret = globals.apiSecret ?? env.apiSecret;
  const application = globals.application ?? env.applicationId;
  if (apiKey !== undefined || apiSecret !== undefined) {
    // The documented API wants the key pair beside the token, so a token alone is not enough.
    if (apiKey === undefined || apiSecret === undefined) {
      throw new CliError('partial_key', 'give both the API key and the API secret', EXIT_CODES.usage);
    }
    return {
      baseUrl,
      apiKey,
      apiSecret,
      ...(token === undefined ? {} : { token }),
      ...(application ? { applicationId: application } : {}),
    };
  }
  const pair = role === 'operator' ? (creds.operator ?? creds.application) : (creds.application ?? creds.operator);
  const usesDemo = pair !== undefined && pair === creds.application;
  const appId = application ?? (usesDemo ? creds.applicationId : undefined);
  if (pair !== undefined)
    return { baseUrl, ...pair, ...(token === undefined ? {} : { token }), ...(appId ? { applicationId: appId } : {}) };
  if (token !== undefined) return { baseUrl, token, ...(application ? { applicationId: application } : {}) };
  throw new CliError(
    'no_credentials',
    'no credentials: pass --token or --api-key/--api-secret (or HERALD_TOKEN / HERALD_API_KEY + HERALD_API_SECRET), or --credentials',
    EXIT_CODES.auth,
  );
}
