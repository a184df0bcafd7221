import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RabbitMqChannelRequest, SignalRChannelRequest, WebHookChannelRequest } from '@herald/schemas';
import { errorsOf, fixtureJson, withFields } from './fixtures.ts';

const webHookJson = fixtureJson('002-webhook-create-request.json');
const rabbitJson = fixtureJson('002-rabbitmq-create-request.json');

/** What a form-data post of the same body carries: every value as text. */
function asFormFields(body: unknown): Record<string, string> {
  return Object.fromEntries(Object.entries(body as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
}

describe('WebHookChannelRequest', () => {
  it('parses the document example as JSON', () => {
    assert.deepEqual(WebHookChannelRequest.parse(webHookJson), {
      isActive: true,
      retryCount: 5,
      webHookUrl: 'https://webhook.site/example',
      exponentialBackoffFactor: 2,
      includeImageData: true,
    });
  });

  it('parses the same body as form-data text, with "2.0" for the factor', () => {
    const form: Record<string, string> = { ...asFormFields(webHookJson), exponentialBackoffFactor: '2.0' };
    assert.equal(form['isActive'], 'true');
    assert.deepEqual(WebHookChannelRequest.parse(form), WebHookChannelRequest.parse(webHookJson));
  });

  it('reads boolean text in any case and with blanks, and nothing else', () => {
    for (const [text, value] of [
      ['True', true],
      ['FALSE', false],
      [' false ', false],
      ['tRuE', true],
    ] as const) {
      assert.equal(WebHookChannelRequest.parse(withFields(webHookJson, { isActive: text })).isActive, value, text);
    }
    for (const bad of ['1', '0', 'yes', '', 1, null]) {
      const errors = errorsOf(WebHookChannelRequest, withFields(webHookJson, { includeImageData: bad }));
      assert.deepEqual(Object.keys(errors ?? {}), ['includeImageData'], String(bad));
      assert.match(errors?.['includeImageData']?.[0] ?? '', /^expected true or false; received /);
    }
  });

  it('bounds retryCount to 0..20 whole numbers', () => {
    assert.equal(WebHookChannelRequest.parse(withFields(webHookJson, { retryCount: '0' })).retryCount, 0);
    assert.equal(WebHookChannelRequest.parse(withFields(webHookJson, { retryCount: 20 })).retryCount, 20);
    for (const bad of [21, -1, 2.5, '5.0', 'five', '', '1e1']) {
      assert.deepEqual(
        errorsOf(WebHookChannelRequest, withFields(webHookJson, { retryCount: bad })),
        {
          retryCount: [
            `expected a whole number from 0 to 20; received ${typeof bad === 'string' ? JSON.stringify(bad) : `number ${bad}`}`,
          ],
        },
        String(bad),
      );
    }
  });

  it('bounds exponentialBackoffFactor to 1..10 and reads dot decimals', () => {
    assert.equal(
      WebHookChannelRequest.parse(withFields(webHookJson, { exponentialBackoffFactor: '1.5' }))
        .exponentialBackoffFactor,
      1.5,
    );
    assert.equal(
      WebHookChannelRequest.parse(withFields(webHookJson, { exponentialBackoffFactor: 10 })).exponentialBackoffFactor,
      10,
    );
    for (const bad of [0.5, 10.5, '2,0', 'NaN', '']) {
      const errors = errorsOf(WebHookChannelRequest, withFields(webHookJson, { exponentialBackoffFactor: bad }));
      assert.deepEqual(Object.keys(errors ?? {}), ['exponentialBackoffFactor'], String(bad));
      assert.match(
        errors?.['exponentialBackoffFactor']?.[0] ?? '',
        /^expected a number from 1 to 10 \(a dot for decimals/,
      );
    }
  });

  it('wants an absolute http(s) URL without credentials', () => {
    assert.equal(
      WebHookChannelRequest.safeParse(withFields(webHookJson, { webHookUrl: 'http://127.0.0.1:8080/hook' })).success,
      true,
    );
    const cases: [string, RegExp][] = [
      ['webhook.site/example', /received text that is not a URL$/],
      ['ftp://webhook.site/example', /received a ftp:\/\/ URL$/],
      ['https://user:hunter2@webhook.site/example', /without user:password in it/],
      ['https://webhook.site/example#x', /without a #fragment$/],
      [`https://webhook.site/${'a'.repeat(2048)}`, /at most 2048 characters$/],
      ['https://webhook.site/x\r\nHost: evil', /blanks or control characters$/],
      ['https://webhook.site/x\u0000y', /blanks or control characters$/],
      [' https://webhook.site/x', /blanks or control characters$/],
      ['https://webhook.site/x\t', /blanks or control characters$/],
    ];
    for (const [url, pattern] of cases) {
      const errors = errorsOf(WebHookChannelRequest, withFields(webHookJson, { webHookUrl: url }));
      assert.deepEqual(Object.keys(errors ?? {}), ['webHookUrl'], url);
      const message = errors?.['webHookUrl']?.[0] ?? '';
      assert.match(message, pattern);
      assert.ok(!message.includes('hunter2'), 'a URL with credentials is never echoed');
    }
  });

  it('requires each documented field but includeImageData (absent: false, as ASP.NET binds a missing bool)', () => {
    const errors = errorsOf(WebHookChannelRequest, {});
    assert.deepEqual(Object.keys(errors ?? {}).sort(), [
      'exponentialBackoffFactor',
      'isActive',
      'retryCount',
      'webHookUrl',
    ]);
  });

  it('rejects unknown and wrongly cased field names', () => {
    const body = withFields(webHookJson, { webhookUrl: 'https://x.example/', webHookUrl: undefined });
    assert.deepEqual(errorsOf(WebHookChannelRequest, body), {
      webHookUrl: ['expected an absolute https:// or http:// URL for the webhook; received nothing'],
      webhookUrl: ['unknown field "webhookUrl"; did you mean "webHookUrl"?'],
    });
  });

  it("accepts Herald's optional additions as form-data text", () => {
    const form = {
      ...asFormFields(webHookJson),
      secretHeaderName: 'X-Herald-Secret',
      secretHeaderValue: 's3cr3t value',
      signingSecret: `whsec_${Buffer.alloc(32, 7).toString('base64')}`,
      sourceAddress: '203.0.113.10',
      clientCertificate: 'generate',
      orderingKey: 'ImageRenderProcessId',
      coalesceProgress: 'true',
      maxInFlight: '4',
    };
    const r = WebHookChannelRequest.parse(form);
    assert.equal(r.coalesceProgress, true);
    assert.equal(r.maxInFlight, 4);
    assert.equal(r.clientCertificate, 'generate');
    assert.equal(r.sourceAddress, '203.0.113.10');
    assert.equal(WebHookChannelRequest.safeParse({ ...form, sourceAddress: '2001:db8::1' }).success, true);
  });

  it('checks the additions and never echoes a secret', () => {
    const secret = 'line\r\nInjected: yes';
    const errors = errorsOf(
      WebHookChannelRequest,
      withFields(webHookJson, {
        secretHeaderName: 'Content-Type',
        secretHeaderValue: secret,
        signingSecret: 'whsec_c2hvcnQ=',
        sourceAddress: '300.1.1.1',
        clientCertificate: 'yes',
        orderingKey: 'UserId',
        maxInFlight: '0',
      }),
    );
    assert.deepEqual(errors, {
      secretHeaderName: ['expected a header name Herald does not set itself; received "Content-Type"'],
      secretHeaderValue: [
        'expected a header value of visible ASCII characters (no line breaks, no leading or trailing blanks)',
      ],
      signingSecret: ['expected a signing secret whose base64 part decodes to 24 to 64 bytes'],
      sourceAddress: ['expected an IPv4 or IPv6 address; received "300.1.1.1"'],
      clientCertificate: ['expected "generate" or no value; received "yes"'],
      orderingKey: ['expected one of ImageId, ImageRenderProcessId; received "UserId"'],
      maxInFlight: ['expected a whole number from 1 to 100; received "0"'],
    });
    assert.ok(!JSON.stringify(errors).includes('Injected'));
    const bad = errorsOf(WebHookChannelRequest, withFields(webHookJson, { signingSecret: 'topsecret-not-whsec' }));
    assert.deepEqual(bad, { signingSecret: ['expected a signing secret of the form whsec_<base64>'] });
  });

  it('wants the secret header name and value together', () => {
    assert.deepEqual(errorsOf(WebHookChannelRequest, withFields(webHookJson, { secretHeaderName: 'X-Secret' })), {
      secretHeaderValue: ['expected secretHeaderValue when secretHeaderName is given'],
    });
    assert.deepEqual(errorsOf(WebHookChannelRequest, withFields(webHookJson, { secretHeaderValue: 'abc' })), {
      secretHeaderName: ['expected secretHeaderName when secretHeaderValue is given'],
    });
  });
});

describe('RabbitMqChannelRequest', () => {
  it('parses the document examples as JSON and as form-data text', () => {
    const expected = {
      isActive: true,
      password: 'securePassword123',
      queueName: 'TaskQueue',
      username: 'admin',
      url: 'amqp://localhost/Test',
      includeImageData: true,
    };
    assert.deepEqual(RabbitMqChannelRequest.parse(rabbitJson), expected);
    assert.deepEqual(RabbitMqChannelRequest.parse(fixtureJson('002-rabbitmq-update-request.json')), expected);
    assert.deepEqual(RabbitMqChannelRequest.parse(asFormFields(rabbitJson)), expected);
  });

  it('wants an amqp(s) URL without credentials', () => {
    assert.equal(
      RabbitMqChannelRequest.safeParse(withFields(rabbitJson, { url: 'amqps://broker.example:5671/vhost' })).success,
      true,
    );
    for (const url of ['https://localhost/Test', 'amqp://guest:guest@localhost/', 'localhost']) {
      const errors = errorsOf(RabbitMqChannelRequest, withFields(rabbitJson, { url }));
      assert.deepEqual(Object.keys(errors ?? {}), ['url'], url);
      assert.ok(!(errors?.['url']?.[0] ?? '').includes('guest:guest'));
    }
  });

  it('checks username, password and queue name and never echoes the password', () => {
    const errors = errorsOf(
      RabbitMqChannelRequest,
      withFields(rabbitJson, { username: '', password: 'pa\nss', queueName: 'amq.direct' }),
    );
    assert.deepEqual(errors, {
      username: ['expected a non-empty username'],
      password: ['expected a password without control characters'],
      queueName: ['expected a queue name not starting with "amq." (reserved by the broker); received "amq.direct"'],
    });
    assert.deepEqual(errorsOf(RabbitMqChannelRequest, withFields(rabbitJson, { password: 42 })), {
      password: ['expected a password as a string'],
    });
    assert.deepEqual(errorsOf(RabbitMqChannelRequest, withFields(rabbitJson, { queueName: 'q'.repeat(256) })), {
      queueName: ['expected a queue name of at most 255 bytes'],
    });
  });

  it('takes the delivery additions but not the webhook-only ones', () => {
    const r = RabbitMqChannelRequest.parse({ ...asFormFields(rabbitJson), orderingKey: 'ImageId', maxInFlight: '8' });
    assert.equal(r.orderingKey, 'ImageId');
    assert.equal(r.maxInFlight, 8);
    assert.deepEqual(errorsOf(RabbitMqChannelRequest, withFields(rabbitJson, { signingSecret: 'whsec_x' })), {
      signingSecret: ['unknown field "signingSecret" (field names are case-sensitive)'],
    });
  });
});

describe('SignalRChannelRequest', () => {
  it('accepts form strings and JSON values with the delivery options', () => {
    assert.deepEqual(SignalRChannelRequest.parse({ isActive: 'true', includeImageData: 'False' }), {
      isActive: true,
      includeImageData: false,
    });
    assert.deepEqual(
      SignalRChannelRequest.parse({
        isActive: true,
        includeImageData: true,
        coalesceProgress: 'true',
        maxInFlight: '4',
      }),
      { isActive: true, includeImageData: true, coalesceProgress: true, maxInFlight: 4 },
    );
  });

  it('refuses a missing flag and fields of other channel kinds', () => {
    assert.equal(SignalRChannelRequest.safeParse({ includeImageData: 'true' }).success, false);
    assert.equal(SignalRChannelRequest.safeParse({ isActive: 'true' }).data?.includeImageData, undefined);
    const r = SignalRChannelRequest.safeParse({ isActive: true, includeImageData: true, webHookUrl: 'https://x.test' });
    assert.equal(r.success, false);
  });
});
