import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAmqpUrl } from './amqp-destination.ts';

describe('parseAmqpUrl', () => {
  it('parses host, default port and default vhost', () => {
    assert.deepEqual(parseAmqpUrl('amqp://broker.example.com'), {
      ok: true,
      target: {
        protocol: 'amqp',
        hostname: 'broker.example.com',
        port: 5672,
        vhost: '/',
        label: 'broker.example.com:5672//',
      },
    });
    const tls = parseAmqpUrl('amqps://broker.example.com/');
    assert.ok(tls.ok);
    assert.equal(tls.target.port, 5671);
    assert.equal(tls.target.vhost, '/');
  });
  it('decodes the vhost and drops one trailing slash (the source document writes amqp://localhost/Test/)', () => {
    const r = parseAmqpUrl('amqp://localhost/Test/');
    assert.ok(r.ok);
    assert.equal(r.target.vhost, 'Test');
    const enc = parseAmqpUrl('amqp://10.0.0.1:5673/%2Fprod%20a');
    assert.ok(enc.ok);
    assert.equal(enc.target.vhost, '/prod a');
    assert.equal(enc.target.port, 5673);
  });
  it('strips IPv6 brackets from the host but keeps them in the label', () => {
    const r = parseAmqpUrl('amqp://[::1]:5672/v');
    assert.ok(r.ok);
    assert.equal(r.target.hostname, '::1');
    assert.equal(r.target.label, '[::1]:5672/v');
  });
  it('refuses credentials in the URL without echoing them', () => {
    const r = parseAmqpUrl('amqp://user:s3cret-pw@broker.example.com/v');
    assert.equal(r.ok, false);
    assert.ok(!r.ok && /credentials/.test(r.error));
    assert.ok(!r.ok && !r.error.includes('s3cret-pw'));
    assert.equal(parseAmqpUrl('amqp://user@broker.example.com').ok, false);
  });
  it('refuses other schemes, queries, fragments, garbage and bad escapes', () => {
    for (const url of [
      'http://broker.example.com',
      'amqp://broker.example.com/v?heartbeat=1',
      'amqp://broker.example.com/v#x',
      'not a url',
      'amqp://broker.example.com/%E0%A4%A',
    ]) {
      assert.equal(parseAmqpUrl(url).ok, false, url);
    }
  });
});
