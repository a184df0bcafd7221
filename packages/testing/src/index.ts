export { AMQP_URL, DATABASE_URL, RABBITMQ_MANAGEMENT_URL, redactUrl, ServiceUnavailableError } from './env.ts';
export { uniqueName } from './unique-name.ts';
export { createTestDatabase, createTestSchema, type TestDatabase } from './postgres.ts';
export { createTestVhost, createTestUser, rabbitManagement, type TestVhost } from './rabbitmq.ts';
export { listenEphemeral, closeServer, getFreePort } from './net.ts';
export { createTestPki, type TestPki, type PemPair } from './certificates.ts';
