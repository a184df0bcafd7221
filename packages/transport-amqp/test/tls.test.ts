import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { connect as netConnect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import {
  closeServer,
  createTestPki,
  createTestVhost,
  listenEphemeral,
  type TestPki,
  type TestVhost,
} from '@herald/testing';
import { type AmqpPublisher, consumeNotifications, createAmqpPublisher } from '../src/index.ts';
import { localPolicy, openAdmin } from './helpers.ts';

function message() {
  return {
    body: '{"MessageType":"ImageGenerationProgress"}',
    messageId: randomUUID(),
    messageType: 'ImageGenerationProgress',
  };
}

/**
 * The local RabbitMQ has no TLS listener, so a real TLS terminator (node:tls with generated
 * certificates, client certificates required) stands in front of its plain port.
 */
async function startTlsTerminator(pki: TestPki, server: { cert: string; key: string }, brokerPort: number) {
  const peers: string[] = [];
  const sockets = new Set<{ destroy(): void }>();
  const tlsServer = createTlsServer(
    {
      cert: server.cert,
      key: server.key,
      ca: pki.ca.cert,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
    },
    (socket: TLSSocket) => {
      const subject = socket.getPeerCertificate().subject;
      peers.push(String(subject?.CN ?? ''));
      const upstream = netConnect(brokerPort, '127.0.0.1');
      sockets.add(socket);
      sockets.add(upstream);
      upstream.on('error', () => socket.destroy());
      socket.on('error', () => upstream.destroy());
      socket.on('close', () => upstream.destroy());
      upstream.on('close', () => socket.destroy());
      socket.pipe(upstream).pipe(socket);
    },
  );
  tlsServer.on('tlsClientError', () => {});
  const port = await listenEphemeral(tlsServer);
  return {
    port,
    peers,
    async [Symbol.asyncDispose]() {
      for (const s of sockets) s.destroy();
      await closeServer(tlsServer);
    },
  };
}

describe('amqps', () => {
  let pki: TestPki;
  let vhost: TestVhost;
  let publisher: AmqpPublisher;
  before(async () => {
    pki = await createTestPki();
    vhost = await createTestVhost();
    publisher = createAmqpPublisher({ policy: localPolicy, connectTimeoutMs: 5000 });
  });
  after(async () => {
    await publisher.close();
    await vhost.drop();
  });

  const vhostPath = () => encodeURIComponent(vhost.name);

  it('publishes over TLS with a client certificate, verifying the broker against the given CA', async () => {
    await using terminator = await startTlsTerminator(pki, pki.server, vhost.port);
    const client = await pki.issue({ commonName: 'herald-publisher', usage: 'client' });
    const o = await publisher.publish(
      {
        url: `amqps://localhost:${terminator.port}/${vhostPath()}`,
        username: vhost.username,
        password: vhost.password,
        queueName: 'tls-q',
        tls: { ca: pki.ca.cert, cert: client.cert, key: client.key },
      },
      message(),
    );
    assert.equal(o.code, 'delivered', o.error);
    assert.deepEqual(terminator.peers, ['herald-publisher']);
    await using admin = await openAdmin(vhost);
    assert.equal((await admin.ch.checkQueue('tls-q')).messageCount, 1);
  });

  it('uses the publisher-wide CA when the destination brings none', async () => {
    await using terminator = await startTlsTerminator(pki, pki.server, vhost.port);
    const p = createAmqpPublisher({ policy: localPolicy, tls: { ca: pki.ca.cert } });
    try {
      const o = await p.publish(
        {
          url: `amqps://127.0.0.1:${terminator.port}/${vhostPath()}`,
          username: vhost.username,
          password: vhost.password,
          tls: { cert: pki.client.cert, key: pki.client.key },
          queueName: 'tls-q2',
        },
        message(),
      );
      assert.equal(o.code, 'delivered', o.error);
    } finally {
      await p.close();
    }
  });

  it('refuses a broker certificate from an unknown CA (verification stays on)', async () => {
    await using terminator = await startTlsTerminator(pki, pki.server, vhost.port);
    const o = await publisher.publish(
      {
        url: `amqps://localhost:${terminator.port}/${vhostPath()}`,
        username: vhost.username,
        password: vhost.password,
        tls: { cert: pki.client.cert, key: pki.client.key },
      },
      message(),
    );
    assert.equal(o.code, 'tls');
    assert.deepEqual(terminator.peers, []);
  });

  it('refuses a broker certificate issued for another host', async () => {
    const other = await pki.issue({ commonName: 'broker.example.net', hosts: ['broker.example.net'], usage: 'server' });
    await using terminator = await startTlsTerminator(pki, other, vhost.port);
    const o = await publisher.publish(
      {
        url: `amqps://localhost:${terminator.port}/${vhostPath()}`,
        username: vhost.username,
        password: vhost.password,
        tls: { ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key },
      },
      message(),
    );
    assert.equal(o.code, 'tls');
  });

  it('fails without the client certificate the broker requires', async () => {
    await using terminator = await startTlsTerminator(pki, pki.server, vhost.port);
    const o = await publisher.publish(
      {
        url: `amqps://localhost:${terminator.port}/${vhostPath()}`,
        username: vhost.username,
        password: vhost.password,
        tls: { ca: pki.ca.cert },
      },
      message(),
    );
    assert.equal(o.ok, false);
    assert.ok(['tls', 'reset'].includes(o.code), o.code);
    assert.equal(o.retryable, true);
    assert.deepEqual(terminator.peers, []);
  });

  it('classifies amqps against a plain AMQP listener as tls', async () => {
    const o = await publisher.publish(
      {
        url: `amqps://127.0.0.1:${vhost.port}/${vhostPath()}`,
        username: vhost.username,
        password: vhost.password,
        tls: { ca: pki.ca.cert },
      },
      message(),
    );
    assert.equal(o.code, 'tls');
  });

  it('lets the consumer helper connect over TLS with a client certificate', async () => {
    await using terminator = await startTlsTerminator(pki, pki.server, vhost.port);
    const consumer = await consumeNotifications({
      url: `amqps://localhost:${terminator.port}/${vhostPath()}`,
      username: vhost.username,
      password: vhost.password,
      queue: 'tls-consumer',
      tls: { ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key },
      handler: async () => {},
    });
    await consumer.stop();
    assert.equal(terminator.peers.length, 1);
  });
});
