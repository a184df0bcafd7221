import { createReceiver, type Receiver, type ReceiverLogger, type RunningReceiver } from './create-receiver.ts';
import { createDedupeIndex } from './dedupe-index.ts';
import { createSink } from './create-sink.ts';
import { type ReceiverConfig, readPemFile } from './receiver-config.ts';
import { startAmqpMode } from './amqp-mode.ts';

export interface StartedReceiver {
  receiver: Receiver;
  /** Set when the receiver serves HTTP(S). */
  http: RunningReceiver | undefined;
  close(): Promise<void>;
}

/** Builds the sink, the dedupe index and the receiver from a validated config and starts serving / consuming. */
export async function startReceiver(
  config: ReceiverConfig,
  options: { logger?: ReceiverLogger; port?: number; host?: string } = {},
): Promise<StartedReceiver> {
  const a = config.auth;
  const receiver = createReceiver({
    auth: {
      ...(a.sharedSecret === undefined ? {} : { sharedSecret: a.sharedSecret }),
      ...(a.signature === undefined ? {} : { signature: a.signature }),
      ...(a.ipAllowlist === undefined ? {} : { ipAllowlist: a.ipAllowlist }),
      ...(a.mtls === undefined
        ? {}
        : {
            mtls: {
              caPem: readPemFile(a.mtls.caFile, 'auth.mtls.caFile'),
              ...(a.mtls.allowedSubjects === undefined ? {} : { allowedSubjects: a.mtls.allowedSubjects }),
              ...(a.mtls.allowedFingerprints256 === undefined
                ? {}
                : { allowedFingerprints256: a.mtls.allowedFingerprints256 }),
            },
          }),
    },
    sink: createSink(config.sink),
    dedupe: createDedupeIndex(config.dedupePath),
    ...(config.tls === undefined
      ? {}
      : {
          tls: {
            certPem: readPemFile(config.tls.certFile, 'tls.certFile'),
            keyPem: readPemFile(config.tls.keyFile, 'tls.keyFile'),
          },
        }),
    // An AMQP-only receiver serves nothing, so it needs no certificate.
    allowPlainHttp: config.allowPlainHttp || (config.amqp !== undefined && !config.amqp.serveHttp),
    path: config.path,
    maxBodyBytes: config.maxBodyBytes,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  let http: RunningReceiver | undefined;
  let amqp: { stop(): Promise<void> } | undefined;
  try {
    if (config.amqp === undefined || config.amqp.serveHttp) {
      http = await receiver.serve({
        port: options.port ?? config.listen.port,
        host: options.host ?? config.listen.host,
      });
    }
    if (config.amqp !== undefined) {
      amqp = await startAmqpMode(receiver, config.amqp, options.logger);
    }
  } catch (error) {
    await http?.close();
    await receiver.close();
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    receiver,
    http,
    close() {
      closing ??= (async () => {
        await amqp?.stop();
        await receiver.close();
      })();
      return closing;
    },
  };
}
