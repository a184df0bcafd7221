import type { Receiver, ReceiverLogger } from './create-receiver.ts';
import type { ReceiverConfig } from './receiver-config.ts';
import { ReceiverError } from './receiver-error.ts';

/** Consumes the client's queue and hands each message to the receiver's validation, dedupe and sink. */
export async function startAmqpMode(
  _receiver: Receiver,
  _config: NonNullable<ReceiverConfig['amqp']>,
  _logger?: ReceiverLogger,
): Promise<{ stop(): Promise<void> }> {
  throw new ReceiverError('invalid_config', 'AMQP mode is not available yet');
}
