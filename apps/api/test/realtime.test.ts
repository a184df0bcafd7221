import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as signalR from '@microsoft/signalr';
import { loadEnv } from '../src/env.ts';
import { type Platform, startPlatform } from '../src/platform.ts';
import { imageCheckingMessage } from './fixtures.ts';

interface Creds {
  demo: { applicationId: string; apiKey: string; apiSecret: string };
  operator: { apiKey: string; apiSecret: string };
}

describe('SignalR channel through the embedded platform (official @microsoft/signalr client)', () => {
  let dataDir: string;
  let platform: Platform;
  let creds: Creds;
  let headers: Record<string, string>;
  let token: string;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'herald-realtime-'));
    platform = await startPlatform(loadEnv({ HERALD_DATA_DIR: dataDir, HERALD_PORT: '0', HERALD_LOG_LEVEL: 'silent' }));
    creds = JSON.parse(readFileSync(platform.credentialsFile!, 'utf8')) as Creds;
    const minted = await fetch(`${platform.url}/api/v1/herald/tokens`, {
      method: 'POST',
      headers: { 'x-api-key': creds.demo.apiKey, 'x-api-secret': creds.demo.apiSecret },
    });
    token = ((await minted.json()) as { token: string }).token;
    headers = {
      authorization: `Bearer ${token}`,
      'x-api-key': creds.demo.apiKey,
      'x-api-secret': creds.demo.apiSecret,
    };
  });
  after(async () => {
    await platform.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  function hub(accessToken: string) {
    return new signalR.HubConnectionBuilder()
      .withUrl(`${platform.url}/hubs/notifications`, { accessTokenFactory: () => accessToken })
      .configureLogging(signalR.LogLevel.None)
      .build();
  }

  it('creates a SignalR channel with the documented form encoding and pushes published messages to the client', async () => {
    const form = new FormData();
    form.set('isActive', 'true');
    form.set('includeImageData', 'false');
    const created = await fetch(
      `${platform.url}/api/v1/Notification/ChannelConfiguration/SignalR?applicationId=${creds.demo.applicationId}`,
      { method: 'POST', headers, body: form },
    );
    assert.equal(created.status, 200);
    const channel = (await created.json()) as Record<string, unknown>;
    assert.equal(channel.channel, 1);
    assert.equal(channel.notificationChannelConfigurationJSON, '{"Hub":"/hubs/notifications"}');

    const connection = hub(token);
    const received = new Promise<[Record<string, unknown>, Record<string, unknown>]>((resolve) =>
      connection.on('ReceiveNotification', (message, meta) => resolve([message, meta])),
    );
    await connection.start();
    try {
      const published = await fetch(`${platform.url}/api/v1/herald/messages`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json', 'x-correlation-id': 'rt-1' },
        body: JSON.stringify(imageCheckingMessage()),
      });
      assert.equal(published.status, 202);
      const { id } = (await published.json()) as { id: string };
      const [message, meta] = await received;
      assert.equal(message.ImageId, imageCheckingMessage()['ImageId']);
      assert.equal(meta.messageId, id);
      assert.equal(meta.correlationId, 'rt-1');
      assert.equal(meta.messageType, 'ImageCheckingNotification');
    } finally {
      await connection.stop();
    }
  });

  it('refuses hub connections with an invalid token or an operator token', async () => {
    await assert.rejects(() => hub('not-a-token').start());
    const minted = await fetch(`${platform.url}/api/v1/herald/tokens`, {
      method: 'POST',
      headers: { 'x-api-key': creds.operator.apiKey, 'x-api-secret': creds.operator.apiSecret },
    });
    const operatorToken = ((await minted.json()) as { token: string }).token;
    await assert.rejects(() => hub(operatorToken).start());
  });
});
