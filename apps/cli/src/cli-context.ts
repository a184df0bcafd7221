import type { CliEnv } from './env.ts';
import type { Output } from './output.ts';

/** Global flags every command sees. */
export interface GlobalOptions {
  url?: string;
  apiKey?: string;
  apiSecret?: string;
  token?: string;
  credentials?: string;
  json?: boolean;
  color?: boolean;
}

export interface CliContext {
  env: CliEnv;
  out: Output;
  globals: GlobalOptions;
}
