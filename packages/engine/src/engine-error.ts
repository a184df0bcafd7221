export type EngineErrorCode = 'invalid_config' | 'already_started' | 'drain_timeout';

/** Misconfiguration or misuse of the engine (never an expected delivery outcome). */
export class EngineError extends Error {
  readonly code: EngineErrorCode;

  constructor(code: EngineErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EngineError';
    this.code = code;
  }
}
