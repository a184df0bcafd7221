export {
  createSignalRHub,
  HubConfigError,
  MessageKind,
  RECORD_SEPARATOR,
  type HubPrincipal,
  type SignalRHub,
  type SignalRHubOptions,
} from './signalr-hub.ts';
export { createSignalRTransport, type RealtimeJob, type SignalRTransportOptions } from './signalr-transport.ts';
