import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ActiveChannelConfigurationsResponse,
  ApiCredentialHeaders,
  ApplicationQuery,
  ConfigurationQuery,
  ChannelConfigurationListResponse,
  ChannelConfigurationResponse,
  DeleteChannelConfigurationResponse,
  NotificationChannel,
  NotificationChannelValue,
  notificationChannelName,
  PASSWORD_MASK,
  parseChannelConfigurationJson,
  toChannelConfigurationJson,
} from '@herald/schemas';
import { errorsOf, fixtureJson, withFields } from './fixtures.ts';

const getResponse = fixtureJson('002-get-response.json') as Record<string, unknown>;

describe('response examples', () => {
  it('parses the list-all example', () => {
    const list = ChannelConfigurationListResponse.parse(fixtureJson('002-list-all-response.json'));
    assert.equal(list.length, 1);
    assert.equal(list[0]?.channel, NotificationChannel.RabbitMQ);
    assert.deepEqual(list[0]?.notificationChannelConfiguration, {
      isActive: false,
      includeImageData: true,
      notificationChannel: 2,
    });
  });

  it('parses the list-active example with its $id/$values wrapper', () => {
    const active = ActiveChannelConfigurationsResponse.parse(fixtureJson('002-active-response.json'));
    assert.equal(active.$id, '1');
    assert.equal(active.$values[0]?.channel, 0);
  });

  it('parses the get, create and update examples (create/update have no nested configuration)', () => {
    assert.equal(ChannelConfigurationResponse.parse(getResponse).updatedAt, '2024-12-20T18:47:12.438504Z');
    for (const name of [
      '002-rabbitmq-create-response.json',
      '002-rabbitmq-update-response.json',
      '002-webhook-create-response.json',
    ]) {
      const r = ChannelConfigurationResponse.parse(fixtureJson(name));
      assert.equal(r.notificationChannelConfiguration, undefined, name);
    }
    // Seven fraction digits (.NET ticks) in the webhook example.
    assert.equal(
      ChannelConfigurationResponse.parse(fixtureJson('002-webhook-create-response.json')).createdAt,
      '2024-07-30T20:35:26.4982017Z',
    );
  });

  it('parses the delete example', () => {
    assert.equal(DeleteChannelConfigurationResponse.parse(fixtureJson('002-delete-response.json')), true);
  });

  it('accepts the query-parameter examples as UUIDs', () => {
    for (const name of [
      '002-rabbitmq-create-query.json',
      '002-rabbitmq-update-query.json',
      '002-webhook-create-query.json',
    ]) {
      const query = fixtureJson(name) as Record<string, unknown>;
      assert.equal(errorsOf(ChannelConfigurationResponse.shape.applicationId, query['applicationId']), null, name);
    }
  });

  it('rejects bad responses with field paths', () => {
    const errors = errorsOf(
      ChannelConfigurationResponse,
      withFields(getResponse, { channel: 3, createdAt: '2024-12-20 18:24:23' }),
    );
    assert.deepEqual(errors, {
      channel: ['expected a channel number: 0 (WebHook), 1 (SignalR) or 2 (RabbitMQ); received number 3'],
      createdAt: [
        'expected an ISO 8601 UTC timestamp like 2024-12-20T18:24:23.141247Z; received "2024-12-20 18:24:23"',
      ],
    });
  });
});

describe('NotificationChannel', () => {
  it('maps the documented names and integers', () => {
    assert.deepEqual(NotificationChannel, { WebHook: 0, SignalR: 1, RabbitMQ: 2 });
    assert.equal(notificationChannelName(1), 'SignalR');
    assert.equal(NotificationChannelValue.safeParse(2).success, true);
    assert.equal(NotificationChannelValue.safeParse('2').success, false);
  });
});

describe('toChannelConfigurationJson', () => {
  it('reproduces the documents webhook JSON text, 2.0 included', () => {
    const text = toChannelConfigurationJson('WebHook', {
      webHookUrl: 'https://example.com/webhook',
      retryCount: 5,
      exponentialBackoffFactor: 2,
    });
    const documented = (
      fixtureJson('002-active-response.json') as { $values: { notificationChannelConfigurationJSON: string }[] }
    ).$values[0]?.notificationChannelConfigurationJSON;
    assert.equal(text, documented);
    assert.equal(text, '{"WebHookUrl":"https://example.com/webhook","RetryCount":5,"ExponentialBackoffFactor":2.0}');
    assert.match(
      toChannelConfigurationJson('WebHook', {
        webHookUrl: 'https://x.example/',
        retryCount: 0,
        exponentialBackoffFactor: 1.5,
      }),
      /"ExponentialBackoffFactor":1\.5}$/,
    );
  });

  it('writes the RabbitMQ text in the documented key order with a masked password', () => {
    const text = toChannelConfigurationJson('RabbitMQ', {
      url: 'amqp://localhost/Test',
      username: 'admin',
      password: PASSWORD_MASK,
      queueName: 'TaskQueue',
    });
    assert.equal(
      text,
      '{"Url":"amqp://localhost/Test","Username":"admin","Password":"********","QueueName":"TaskQueue"}',
    );
    const documented = fixtureJson('002-rabbitmq-create-response.json') as {
      notificationChannelConfigurationJSON: string;
    };
    assert.equal(text, documented.notificationChannelConfigurationJSON.replace('securePassword123', PASSWORD_MASK));
  });

  it('refuses a clear password and does not repeat it', () => {
    assert.throws(
      () =>
        toChannelConfigurationJson('RabbitMQ', {
          url: 'amqp://h/',
          username: 'u',
          password: 'securePassword123',
          queueName: 'q',
        }),
      (error: Error & { code?: string }) =>
        error.code === 'UNMASKED_SECRET' && !error.message.includes('securePassword123'),
    );
  });
});

describe('parseChannelConfigurationJson', () => {
  it('reads the documents texts', () => {
    const web = parseChannelConfigurationJson(0, String(getResponse['notificationChannelConfigurationJSON']));
    assert.deepEqual(web, {
      ok: true,
      channel: 'WebHook',
      config: { WebHookUrl: 'https://example.com/webhook', RetryCount: 3, ExponentialBackoffFactor: 2 },
    });
    const list = fixtureJson('002-list-all-response.json') as { notificationChannelConfigurationJSON: string }[];
    const rabbit = parseChannelConfigurationJson(2, list[0]?.notificationChannelConfigurationJSON ?? '');
    assert.equal(rabbit.ok && rabbit.channel, 'RabbitMQ');
  });

  it('reports bad text as a value', () => {
    assert.deepEqual(parseChannelConfigurationJson(0, '{'), {
      ok: false,
      reason: 'notificationChannelConfigurationJSON is not valid JSON',
    });
    assert.equal(parseChannelConfigurationJson(2, '{"Url":"amqp://h/"}').ok, false);
    assert.equal(parseChannelConfigurationJson(1, '{}').ok, false);
  });
});

describe('request queries and headers', () => {
  it('accepts the documents query examples', () => {
    assert.equal(ApplicationQuery.safeParse(fixtureJson('002-rabbitmq-create-query.json')).success, true);
    assert.equal(ApplicationQuery.safeParse(fixtureJson('002-webhook-create-query.json')).success, true);
    assert.deepEqual(ConfigurationQuery.parse(fixtureJson('002-rabbitmq-update-query.json')), {
      applicationId: '4e2d4910-d39f-f887-6ec4-b3c82e3c0099',
      configurationId: '4d082fcb-2632-47c3-ac16-b92081801c2c',
    });
  });

  it('says which query parameter is missing or malformed', () => {
    assert.deepEqual(errorsOf(ConfigurationQuery, { applicationId: 'abc' }), {
      applicationId: ['expected a UUID like d5eabbb8-c0f6-4640-94fd-3566edad499f; received "abc"'],
      configurationId: ['expected a UUID string; received nothing'],
    });
  });

  it('checks the shape of the documents credential headers without echoing them', () => {
    for (const name of [
      '002-rabbitmq-create-headers.json',
      '002-rabbitmq-update-headers.json',
      '002-webhook-create-headers.json',
    ]) {
      assert.equal(ApiCredentialHeaders.safeParse(fixtureJson(name)).success, true, name);
    }
    const errors = errorsOf(ApiCredentialHeaders, { Authorization: 'Basic c2VjcmV0', 'x-api-key': '' });
    assert.deepEqual(errors, {
      Authorization: ['expected Authorization: Bearer <token>'],
      'x-api-key': ['expected a non-empty x-api-key header'],
      'x-api-secret': ['expected the x-api-secret header'],
    });
    assert.ok(!JSON.stringify(errors).includes('c2VjcmV0'));
  });
});
