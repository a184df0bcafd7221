export { ApiCredentialHeaders, ApplicationQuery, ConfigurationQuery } from './api-request.ts';
export { ApiTimestamp, formatApiTimestamp } from './api-timestamp.ts';
export {
  ActiveChannelConfigurationsResponse,
  ChannelConfigurationListResponse,
  ChannelConfigurationResponse,
  DeleteChannelConfigurationResponse,
  NotificationChannelSettings,
  PASSWORD_MASK,
  type ParseChannelConfigurationJsonResult,
  parseChannelConfigurationJson,
  RabbitMqChannelConfigurationJson,
  type RabbitMqConfigurationFields,
  toChannelConfigurationJson,
  WebHookChannelConfigurationJson,
  type WebHookConfigurationFields,
} from './channel-configuration-response.ts';
export {
  CHANNEL_LIMITS,
  ORDERING_KEYS,
  RabbitMqChannelRequest,
  type RabbitMqChannelRequestInput,
  RESERVED_HEADER_NAMES,
  SignalRChannelRequest,
  type SignalRChannelRequestInput,
  WebHookChannelRequest,
  type WebHookChannelRequestInput,
} from './channel-request.ts';
export { type DeliveryOutcome, OUTCOME_CODES, type OutcomeCode } from './delivery-outcome.ts';
export { describeValue } from './describe-value.ts';
export { Base64, Uuid } from './fields.ts';
export { formatDouble } from './format-double.ts';
export { formBoolean, formInt, formNumber } from './form-values.ts';
export { HERALD_MESSAGE_SCHEMAS, type HeraldMessage } from './herald-message.ts';
export {
  ACCEPTED_REJECTION_CODE,
  IMAGE_CHECKING_FIELD_ORDER,
  IMAGE_STATES,
  IMAGE_TYPES,
  ImageCheckingNotification,
  ORIENTATIONS,
} from './image-checking-notification.ts';
export { formatImageCheckingTimestamp, parseImageCheckingTimestamp } from './image-checking-timestamp.ts';
export {
  IMAGE_GENERATION_SCHEMAS,
  ImageBackgroundRemovingProgress,
  ImageBackgroundRemovingTaskCompleted,
  ImageFaceEnhancingProgress,
  ImageFaceEnhancingTaskCompleted,
  ImageGenerationMessage,
  ImageGenerationProgress,
  type ImageGenerationProgressMessage,
  ImageGenerationTaskCompleted,
  type ImageGenerationTaskCompletedMessage,
  ImageStockGenerationProgress,
  ImageStockGenerationTaskCompleted,
  ImageUpscalingProgress,
  ImageUpscalingTaskCompleted,
  PROGRESS_FIELD_ORDER,
  RENDER_STATES,
  RenderState,
  TASK_COMPLETED_FIELD_ORDER,
} from './image-generation-message.ts';
export { type JsonSchema, messageJsonSchemas } from './message-json-schemas.ts';
export {
  HERALD_MESSAGE_TYPES,
  HeraldMessageType,
  IMAGE_CHECKING_MESSAGE_TYPE,
  IMAGE_GENERATION_COMPLETED_TYPES,
  IMAGE_GENERATION_MESSAGE_TYPES,
  IMAGE_GENERATION_PROGRESS_TYPES,
  type ImageGenerationCompletedType,
  type ImageGenerationMessageType,
  type ImageGenerationProgressType,
  isHeraldMessageType,
  type MessageCategory,
  messageCategory,
} from './message-types.ts';
export {
  NotificationChannel,
  type NotificationChannelName,
  NotificationChannelValue,
  notificationChannelName,
} from './notification-channel.ts';
export {
  type ParseHeraldMessageOptions,
  type ParseHeraldMessageResult,
  parseHeraldMessage,
} from './parse-herald-message.ts';
export {
  type CreateProblemInput,
  createProblem,
  DEFAULT_PROBLEM_TITLE,
  DEFAULT_PROBLEM_TYPE,
  formatIssuePath,
  issuesToErrors,
  noActiveChannelProblem,
  ProblemDetails,
  type ProblemDocument,
  problemFromZodError,
  unauthorizedProblem,
} from './problem-details.ts';
export { SchemasError, type SchemasErrorCode } from './schemas-error.ts';
export { type SerializeOptions, serializeMessage, stripImageContent } from './serialize-message.ts';
export { parseTraceparentTraceId, type RandomBytes, traceIdFromTraceparent } from './trace-id.ts';
