import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:https';
import { request } from 'node:https';
import { describe, it } from 'node:test';
import amqp from 'amqplib';
import pg from 'pg';
import {
  closeServer,
  createTestDatabase,
  createTestPki,
  createTestSchema,
  createTestVhost,
  listenEphemeral,
} from '../src/index.ts';

describe('PostgreSQL isolation', () => {
  it('gives each test its own database, and drop() removes it', async () => {
    const db = await createTestDatabase();
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const { rows } = await client.query<{ db: string }>('select current_database() as db');
    assert.equal(rows[0]?.db, db.name);
    await client.query('create table t (x int)');
    await client.end();
    await db.drop();
    const admin = new pg.Client({
      connectionString: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    });
    await admin.connect();
    const left = await admin.query('select 1 from pg_database where datname = $1', [db.name]);
    await admin.end();
    assert.equal(left.rowCount, 0);
  });

  it('gives a schema whose URL sets the search_path', async () => {
    await using schema = await createTestSchema();
    const client = new pg.Client({ connectionString: schema.url });
    await client.connect();
    await client.query('create table marker (x int)');
    const { rows } = await client.query<{ s: string }>(
      "select table_schema as s from information_schema.tables where table_name = 'marker'",
    );
    await client.end();
    assert.deepEqual(
      rows.map((r) => r.s),
      [schema.name],
    );
  });
});

describe('RabbitMQ isolation', () => {
  it('gives each test its own vhost where a message round-trips', async () => {
    await using vhost = await createTestVhost();
    const conn = await amqp.connect(vhost.url);
    try {
      const ch = await conn.createChannel();
      const q = await ch.assertQueue('', { exclusive: true });
      ch.sendToQueue(q.queue, Buffer.from('hello'));
      let got: amqp.GetMessage | false = false;
      for (let i = 0; i < 50 && !got; i++) {
        got = await ch.get(q.queue, { noAck: true });
        if (!got) await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(got, 'message came back');
      assert.equal(got.content.toString(), 'hello');
    } finally {
      await conn.close();
    }
  });

  it('a dropped vhost can no longer be opened', async () => {
    const vhost = await createTestVhost();
    await vhost.drop();
    await assert.rejects(() => amqp.connect(vhost.url));
  });
});

describe('test certificates', () => {
  it('a TLS server with the test PKI verifies against the CA and sees the client certificate', async () => {
    const pki = await createTestPki();
    const server = createServer(
      { cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert, requestCert: true, rejectUnauthorized: true },
      (req, res) => {
        const peer = (req.socket as import('node:tls').TLSSocket).getPeerCertificate();
        res.end(peer.subject?.CN ?? '');
      },
    );
    const port = await listenEphemeral(server);
    try {
      const req = request({
        host: '127.0.0.1',
        port,
        servername: 'localhost',
        ca: pki.ca.cert,
        cert: pki.client.cert,
        key: pki.client.key,
      });
      req.end();
      const [res] = (await once(req, 'response')) as [import('node:http').IncomingMessage];
      let body = '';
      for await (const chunk of res) body += chunk;
      assert.equal(body, 'herald-test-client');
    } finally {
      await closeServer(server);
    }
  });
});
