export type * from './types.ts';
export { type CreateStoreOptions, createStore } from './create-store.ts';
export {
  isStoreUnavailableError,
  StoreConfigError,
  StoreError,
  StoreInputError,
  StoreIntegrityError,
} from './errors.ts';
export { createKeyring, generateKeyringSpec, type Keyring, type KeyringKey, parseKeyring } from './keyring.ts';
export { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT } from './page-cursor.ts';
export { createPostgresStore, type PostgresStoreOptions } from './postgres-store.ts';
export { createSqliteStore, type SqliteStoreOptions } from './sqlite-store.ts';
