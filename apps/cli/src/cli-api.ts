/**
 * What the commands need from the API. Implemented over `@herald/client` in `create-cli-api.ts`;
 * views are the API's JSON as-is (the CLI prints what the API returns).
 */
import type { ORDERING_KEYS } from '@herald/schemas';

export type View = Record<string, unknown>;
export type OrderingKey = (typeof ORDERING_KEYS)[number];

export interface DeliveryFilter {
  state?: string;
  channelId?: string;
  messageId?: string;
  since?: string;
  limit?: number;
  cursor?: string;
}

export interface WebHookChannelInput {
  isActive: boolean;
  includeImageData: boolean;
  webHookUrl: string;
  retryCount: number;
  exponentialBackoffFactor: number;
  secretHeaderName?: string;
  secretHeaderValue?: string;
  signingSecret?: string;
  sourceAddress?: string;
  clientCertificate?: 'generate';
  orderingKey?: OrderingKey;
  coalesceProgress?: boolean;
  maxInFlight?: number;
}

export interface RabbitMqChannelInput {
  isActive: boolean;
  includeImageData: boolean;
  url: string;
  username: string;
  password: string;
  queueName: string;
}

export interface CliApi {
  /** The application the calls act on (from --application, the credentials file or the caller's token). */
  applicationId(): Promise<string>;
  createApplication(name: string): Promise<View>;
  listApplications(): Promise<View[]>;
  issueKey(applicationId: string, label?: string): Promise<View>;
  listKeys(applicationId: string): Promise<View[]>;
  rotateKey(applicationId: string, keyId: string): Promise<View>;
  revokeKey(applicationId: string, keyId: string): Promise<View | boolean>;
  mintToken(): Promise<View>;

  listChannels(): Promise<View[]>;
  listActiveChannels(): Promise<View[]>;
  getChannel(id: string): Promise<View>;
  getChannelDetails(id: string): Promise<View>;
  deleteChannel(id: string): Promise<unknown>;
  createWebHookChannel(input: WebHookChannelInput): Promise<View>;
  updateWebHookChannel(id: string, input: WebHookChannelInput): Promise<View>;
  createRabbitMqChannel(input: RabbitMqChannelInput): Promise<View>;
  updateRabbitMqChannel(id: string, input: RabbitMqChannelInput): Promise<View>;
  rotateSigningSecret(channelId: string): Promise<View>;
  issueClientCertificate(channelId: string): Promise<View>;

  publish(message: unknown, options: { type?: string; correlationId?: string; idempotencyKey?: string }): Promise<View>;
  listDeliveries(filter: DeliveryFilter): Promise<{ items: View[]; nextCursor: string | null }>;
  getDelivery(id: string): Promise<View>;
  redeliver(id: string, force: boolean): Promise<View>;
  recover(since: string, channelId?: string): Promise<View>;
}
