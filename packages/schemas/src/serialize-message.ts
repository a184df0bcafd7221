import { SchemasError } from './schemas-error.ts';
import { IMAGE_CHECKING_FIELD_ORDER } from './image-checking-notification.ts';
import {
  type ImageGenerationTaskCompletedMessage,
  PROGRESS_FIELD_ORDER,
  TASK_COMPLETED_FIELD_ORDER,
} from './image-generation-message.ts';
import { formatDouble } from './format-double.ts';
import type { HeraldMessage } from './herald-message.ts';

export interface SerializeOptions {
  /** Spaces per level for pretty output (the documents print 2); compact when omitted or 0. */
  indent?: number;
}

// Fields the documents print as doubles: a whole value keeps its ".0" (80.0), as the producer's serialiser writes it.
const doubleFields: ReadonlySet<string> = new Set(['Progress']);

function fieldOrder(message: HeraldMessage): readonly string[] {
  if (!('MessageType' in message)) return IMAGE_CHECKING_FIELD_ORDER;
  return 'TaskId' in message ? TASK_COMPLETED_FIELD_ORDER : PROGRESS_FIELD_ORDER;
}

function writeValue(value: unknown, indent: number, depth: number): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new SchemasError('INVALID_ARGUMENT', `cannot write ${value} as JSON`);
    }
    const text = JSON.stringify(value);
    if (text === undefined) throw new SchemasError('INVALID_ARGUMENT', `cannot write a ${typeof value} as JSON`);
    return text;
  }
  if (Array.isArray(value)) {
    return writeEntries(
      value.map((v) => [null, writeValue(v ?? null, indent, depth + 1)] as const),
      '[',
      ']',
      indent,
      depth,
    );
  }
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  return writeEntries(
    entries.map(([k, v]) => [k, writeValue(v, indent, depth + 1)] as const),
    '{',
    '}',
    indent,
    depth,
  );
}

function writeEntries(
  entries: readonly (readonly [string | null, string])[],
  open: string,
  close: string,
  indent: number,
  depth: number,
): string {
  if (entries.length === 0) return open + close;
  const sep = indent > 0 ? ': ' : ':';
  const parts = entries.map(([k, v]) => (k === null ? v : JSON.stringify(k) + sep + v));
  if (indent === 0) return open + parts.join(',') + close;
  const inner = ' '.repeat(indent * (depth + 1));
  const outer = ' '.repeat(indent * depth);
  return `${open}\n${inner}${parts.join(`,\n${inner}`)}\n${outer}${close}`;
}

/** The compact form (the one stored and delivered): JSON.stringify per field, the same text as writeValue. */
function writeCompact(record: Record<string, unknown>, order: readonly string[]): string {
  let out = '{';
  for (const key of order) {
    const value = record[key];
    if (value === undefined) continue;
    let text: string | undefined;
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw new SchemasError('INVALID_ARGUMENT', `cannot write ${value} as JSON`);
      text = doubleFields.has(key) ? formatDouble(value) : JSON.stringify(value);
    } else if (value !== null && typeof value === 'object') {
      text = writeValue(value, 0, 1);
    } else {
      text = JSON.stringify(value);
      if (text === undefined) throw new SchemasError('INVALID_ARGUMENT', `cannot write a ${typeof value} as JSON`);
    }
    out += `${out.length === 1 ? '' : ','}${JSON.stringify(key)}:${text}`;
  }
  return `${out}}`;
}

/**
 * JSON text of a validated message with its keys in the documented order and doubles written as the
 * documents print them, so parse → serialise reproduces the producer's bytes and a signature over them stays valid.
 */
export function serializeMessage(message: HeraldMessage, options: SerializeOptions = {}): string {
  const indent = options.indent ?? 0;
  if (!Number.isInteger(indent) || indent < 0 || indent > 10) {
    throw new SchemasError('INVALID_ARGUMENT', `indent must be a whole number from 0 to 10; received ${indent}`);
  }
  const record = message as unknown as Record<string, unknown>;
  if (indent === 0) return writeCompact(record, fieldOrder(message));
  const entries: (readonly [string, string])[] = [];
  for (const key of fieldOrder(message)) {
    const value = record[key];
    if (value === undefined) continue;
    const text =
      doubleFields.has(key) && typeof value === 'number' ? formatDouble(value) : writeValue(value, indent, 1);
    entries.push([key, text]);
  }
  return writeEntries(entries, '{', '}', indent, 0);
}

/** A copy of the message without `ImageContentBytes` (for channels with `includeImageData = false`); field order kept. */
export function stripImageContent<T extends HeraldMessage>(message: T): T {
  if (!('ImageContentBytes' in message)) return { ...message };
  const { ImageContentBytes: _dropped, ...rest } = message as ImageGenerationTaskCompletedMessage;
  return rest as T;
}
