import { randomUUID } from 'node:crypto';
import { createWebhookSigner } from '@herald/auth';
import { Agent, request } from 'undici';

/** A valid ImageGenerationProgress message. */
export function progressMessage(progress = 50): Record<string, unknown> {
  const task = randomUUID();
  return {
    MessageType: 'ImageGenerationProgress',
    RequestRenderState: 'InProgress',
    ApplicationId: randomUUID(),
    UserId: randomUUID(),
    ImageRenderProcessId: randomUUID(),
    TotalTaskCount: 2,
    CompletedTaskCount: 1,
    Progress: progress,
    Tasks: { [task]: 'Succeeded' },
    RenderKind: 1,
    RenderType: 2,
    IsSuccessful: true,
    ErrorMessage: '',
  };
}

export interface PushOptions {
  url: string;
  body: string;
  ca: string;
  clientCert?: { cert: string; key: string };
  localAddress?: string;
  headers?: Record<string, string>;
  signingSecret?: string;
  id?: string;
}

/** POSTs over real (m)TLS with undici, signing when asked. */
export async function push(options: PushOptions): Promise<{ status: number; body: string }> {
  const agent = new Agent({
    connect: { ca: options.ca, ...(options.clientCert ?? {}) },
    ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
  });
  try {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...(options.headers ?? {}) };
    const id = options.id ?? `msg_${randomUUID()}`;
    headers['webhook-id'] = id;
    if (options.signingSecret !== undefined) {
      const signed = createWebhookSigner({ secrets: [options.signingSecret] }).sign({
        id,
        timestampSeconds: Math.floor(Date.now() / 1000),
        body: options.body,
      });
      Object.assign(headers, signed);
    }
    const response = await request(options.url, { method: 'POST', headers, body: options.body, dispatcher: agent });
    return { status: response.statusCode, body: await response.body.text() };
  } finally {
    await agent.close();
  }
}
