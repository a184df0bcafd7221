import { homedir } from 'node:os';
import { join } from 'node:path';

/** What the CLI reads from the environment (the only reader of process.env). */
export interface CliEnv {
  url: string | undefined;
  apiKey: string | undefined;
  apiSecret: string | undefined;
  token: string | undefined;
  applicationId: string | undefined;
  credentialsFile: string | undefined;
  configDir: string;
  /** Colour is allowed (not NO_COLOR, not FORCE_COLOR=0). */
  colorAllowed: boolean;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

export function readCliEnv(source: Readonly<Record<string, string | undefined>> = process.env): CliEnv {
  const xdg = nonEmpty(source['XDG_CONFIG_HOME']);
  return {
    url: nonEmpty(source['HERALD_URL']),
    apiKey: nonEmpty(source['HERALD_API_KEY']),
    apiSecret: nonEmpty(source['HERALD_API_SECRET']),
    token: nonEmpty(source['HERALD_TOKEN']),
    applicationId: nonEmpty(source['HERALD_APPLICATION_ID']),
    credentialsFile: nonEmpty(source['HERALD_CREDENTIALS']),
    configDir: nonEmpty(source['HERALD_CONFIG_DIR']) ?? join(xdg ?? join(homedir(), '.config'), 'herald'),
    colorAllowed: source['NO_COLOR'] === undefined && source['FORCE_COLOR'] !== '0',
  };
}
