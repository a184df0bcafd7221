import { join } from 'node:path';
import type { Store } from '@herald/store';
import type { CredentialService } from './app-types.ts';
import { writePrivateFile } from './data-dir.ts';

export interface BootstrapResult {
  /** Path of the credentials file, or null when the database already had applications. */
  credentialsFile: string | null;
  demoApplicationId: string | null;
}

/**
 * On an empty database: creates a first operator key and a demo application with its API key,
 * and writes them (secrets included, shown nowhere else) to `<dataDir>/credentials.json`, mode 0600.
 * Does nothing when any application exists.
 */
export async function bootstrapPlatform(options: {
  store: Store;
  credentials: CredentialService;
  dataDir: string;
  apiUrl: string;
}): Promise<BootstrapResult> {
  const { store, credentials } = options;
  if ((await store.listApplications()).length > 0) return { credentialsFile: null, demoApplicationId: null };
  const operator = credentials.generate();
  await store.createApiKey({
    applicationId: null,
    role: 'operator',
    key: operator.key,
    secretHash: await credentials.hash(operator.secret),
    label: 'bootstrap operator',
    credits: null,
  });
  const demo = await store.createApplication({ name: 'demo' });
  const demoKey = credentials.generate();
  await store.createApiKey({
    applicationId: demo.id,
    role: 'application',
    key: demoKey.key,
    secretHash: await credentials.hash(demoKey.secret),
    label: 'demo',
    credits: null,
  });
  const file = join(options.dataDir, 'credentials.json');
  const content = {
    note: 'Created on first start. Keep this file private; the secrets are stored nowhere else (only their hashes). Get a JWT with POST /api/v1/herald/tokens.',
    apiUrl: options.apiUrl,
    docsUrl: `${options.apiUrl}/docs`,
    operator: { apiKey: operator.key, apiSecret: operator.secret },
    demo: { applicationId: demo.id, apiKey: demoKey.key, apiSecret: demoKey.secret },
  };
  writePrivateFile(file, `${JSON.stringify(content, null, 2)}\n`);
  return { credentialsFile: file, demoApplicationId: demo.id };
}
