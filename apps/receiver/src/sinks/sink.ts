/** One accepted push as a sink receives it. */
export interface ReceivedMessage {
  /** The message id (`webhook-id` header or AMQP message id); undefined when the sender gave none. */
  id: string | undefined;
  /** `MessageType` of the validated body (`ImageCheckingNotification` for the image-checking push). */
  messageType: string;
  receivedAtMs: number;
  correlationId: string | undefined;
  /** How it arrived. */
  via: 'https' | 'http' | 'amqp';
  /** The raw body exactly as sent (JSON text). */
  body: string;
  message: unknown;
}

/** Where accepted messages go. `write` resolves only once the message is durably handed over. */
export interface Sink {
  write(message: ReceivedMessage): Promise<void>;
  close(): Promise<void>;
}

/** The JSON line a file or stdout sink writes for one message. */
export function formatJsonLine(m: ReceivedMessage): string {
  return `${JSON.stringify({
    id: m.id ?? null,
    messageType: m.messageType,
    receivedAt: new Date(m.receivedAtMs).toISOString(),
    correlationId: m.correlationId ?? null,
    via: m.via,
    message: m.message,
  })}\n`;
}
