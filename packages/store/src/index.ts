export type * from './types.ts';
export { StoreConfigError, StoreError, StoreInputError, StoreIntegrityError } from './errors.ts';
export { createKeyring, generateKeyringSpec, type Keyring, type KeyringKey, parseKeyring } from './keyring.ts';
export { createSqliteStore, type SqliteStoreOptions } from './sqlite-store.ts';
export { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT } from './page-cursor.ts';
