import type { CliApi } from './cli-api.ts';
import type { CliEnv } from './env.ts';
import type { Output } from './output.ts';

/** Global flags every command sees. */
export interface GlobalOptions {
  url?: string;
  apiKey?: string;
  apiSecret?: string;
  token?: string;
  credentials?: string;
  application?: string;
  json?: boolean;
  color?: boolean;
}

export interface CliContext {
  env: CliEnv;
  out: Output;
  globals: GlobalOptions;
  /** The API, authenticated as the operator (applications, keys) or the application (the rest). */
  api(role?: 'operator' | 'application'): CliApi;
}
