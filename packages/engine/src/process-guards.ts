/** What a log line may say about an error nobody handled: its name, code and message, credentials blanked. */
export function describeUnhandled(reason: unknown): { name: string; message: string; code?: string } {
  const error = reason instanceof Error ? reason : null;
  const raw = error?.message ?? (typeof reason === 'string' ? reason : typeof reason);
  // Driver and URL errors can carry credentials (postgres://user:password@host, amqp://…).
  const message = raw.replace(/\/\/[^/@\s]*@/g, '//***@').slice(0, 500);
  const code = (error as { code?: unknown } | null)?.code;
  return { name: error?.name ?? 'non-error', message, ...(typeof code === 'string' ? { code } : {}) };
}

/**
 * For the processes that host an engine (the worker, the API with its embedded worker). A promise rejected with
 * nobody listening is logged and the process keeps serving: Node's default would end it,
 * and with it every request and delivery in flight, for a fault that left no state half-changed (a rejection is
 * not a thrown exception; stored work is leased and retried either way). Returns the uninstaller.
 */
export function installRejectionGuard(log: (fields: Record<string, unknown>, message: string) => void): () => void {
  const onRejection = (reason: unknown) => {
    log({ err: describeUnhandled(reason) }, 'unhandled promise rejection (kept running)');
  };
  process.on('unhandledRejection', onRejection);
  return () => process.off('unhandledRejection', onRejection);
}
