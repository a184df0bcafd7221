export {
  type AcceptInput,
  type AcceptResult,
  type CreateReceiverOptions,
  createReceiver,
  type Receiver,
  type ReceiverAuthOptions,
  type ReceiverLogger,
  type RunningReceiver,
} from './create-receiver.ts';
export { createDedupeIndex, type DedupeIndex } from './dedupe-index.ts';
export { createSink } from './create-sink.ts';
export {
  loadReceiverConfigFile,
  parseReceiverConfig,
  parseReceiverConfigJson,
  ReceiverConfig,
  readPemFile,
} from './receiver-config.ts';
export { ReceiverError, type ReceiverErrorCode } from './receiver-error.ts';
export { createCommandSink, type CommandSinkOptions } from './sinks/command-sink.ts';
export { createFileSink } from './sinks/file-sink.ts';
export { createForwardSink, type ForwardSinkOptions } from './sinks/forward-sink.ts';
export { formatJsonLine, type ReceivedMessage, type Sink } from './sinks/sink.ts';
export { createStdoutSink } from './sinks/stdout-sink.ts';
export { type StartedReceiver, startReceiver } from './start-receiver.ts';
