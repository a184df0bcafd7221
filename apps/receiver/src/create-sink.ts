import type { ReceiverConfig } from './receiver-config.ts';
import { createCommandSink } from './sinks/command-sink.ts';
import { createFileSink } from './sinks/file-sink.ts';
import { createForwardSink } from './sinks/forward-sink.ts';
import type { Sink } from './sinks/sink.ts';
import { createStdoutSink } from './sinks/stdout-sink.ts';

/** Builds the sink a config names. */
export function createSink(config: ReceiverConfig['sink']): Sink {
  switch (config.type) {
    case 'file':
      return createFileSink(config.path);
    case 'stdout':
      return createStdoutSink();
    case 'forward':
      return createForwardSink({
        url: config.url,
        ...(config.timeoutMs === undefined ? {} : { timeoutMs: config.timeoutMs }),
      });
    case 'command':
      return createCommandSink({
        argv: config.argv,
        ...(config.timeoutMs === undefined ? {} : { timeoutMs: config.timeoutMs }),
      });
  }
}
