import { isHeraldMessageType, messageCategory } from '@herald/schemas';
import { AmqpTransportError } from './amqp-transport-error.ts';

/** The durable topic exchange every Herald AMQP delivery is published to (name from the source document). */
export const EXCHANGE_NAME = 'image-render.notifications';

/**
 * Routing key per message category. `progress.update` and `task.completed` come from the source
 * document; `image.checking` is Herald's own key for the image-checking push.
 */
export const ROUTING_KEYS = {
  progress: 'progress.update',
  completed: 'task.completed',
  'image-checking': 'image.checking',
} as const;

export type RoutingKey = (typeof ROUTING_KEYS)[keyof typeof ROUTING_KEYS];

/** Every routing key a subscriber queue is bound to. */
export const ALL_ROUTING_KEYS: readonly RoutingKey[] = Object.values(ROUTING_KEYS);

/**
 * The routing key for a message type: `*Progress` → `progress.update`, `*TaskCompleted` →
 * `task.completed`, `ImageCheckingNotification` → `image.checking`.
 * Throws `AmqpTransportError` (`UNKNOWN_MESSAGE_TYPE`) for anything else.
 */
export function routingKeyFor(messageType: string): RoutingKey {
  if (isHeraldMessageType(messageType)) return ROUTING_KEYS[messageCategory(messageType)];
  // Types Herald does not know yet still route by the document's naming rule.
  if (messageType.endsWith('TaskCompleted')) return ROUTING_KEYS.completed;
  if (messageType.endsWith('Progress')) return ROUTING_KEYS.progress;
  throw new AmqpTransportError(
    'UNKNOWN_MESSAGE_TYPE',
    `no routing key for message type ${JSON.stringify(messageType.slice(0, 80))}; expected a *Progress or *TaskCompleted type or ImageCheckingNotification`,
  );
}
