import type { Context } from 'hono';
import { ApiError } from './api-error.ts';
import { BodyTooLargeError, nodeIncoming, readIncomingBody, requestHeader } from './node-request.ts';

export type BodyKind = 'json' | 'form';

/** Limits on the shape of a JSON body, checked without recursion (no stack overflow on deep input). */
export const JSON_LIMITS = { maxDepth: 64, maxNodes: 100_000 } as const;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

function badRequest(field: string, message: string): ApiError {
  return new ApiError('invalid_request', message, { errors: { [field]: [message] } });
}

function tooMany(maxNodes: number): ApiError {
  return badRequest('$', `expected at most ${maxNodes} JSON values in the body`);
}

/** NUL cannot be stored in PostgreSQL text and has no place in any field: refused everywhere. */
export function hasNul(text: string): boolean {
  return text.includes('\u0000');
}

export function nulRefused(field: string): ApiError {
  return badRequest(field, 'expected text without NUL characters (U+0000)');
}

/** Throws a 400 when `value` nests deeper than `maxDepth`, holds more than `maxNodes` values, or has a NUL in a string. */
export function checkJsonShape(value: unknown, limits: { maxDepth: number; maxNodes: number } = JSON_LIMITS): void {
  const stack: Array<[unknown, number]> = [[value, 1]];
  let nodes = 0;
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    nodes += 1;
    if (nodes > limits.maxNodes) throw tooMany(limits.maxNodes);
    if (typeof v === 'string' && hasNul(v)) throw nulRefused('$');
    if (typeof v !== 'object' || v === null) continue;
    if (depth > limits.maxDepth) throw badRequest('$', `expected JSON nested at most ${limits.maxDepth} levels deep`);
    // Children are counted before they are visited: a million keys are refused without walking them.
    if (Array.isArray(v)) {
      if (nodes + stack.length + v.length > limits.maxNodes) throw tooMany(limits.maxNodes);
      for (const child of v) stack.push([child, depth + 1]);
      continue;
    }
    const keys = Object.keys(v);
    if (nodes + stack.length + keys.length > limits.maxNodes) throw tooMany(limits.maxNodes);
    for (const key of keys) {
      if (hasNul(key)) throw nulRefused('$');
      // JSON.parse keeps "__proto__" as an own key, but any later copy or spread of the object turns it into a
      // prototype change (prototype pollution) or drops it silently: refused wherever it appears. So is a
      // "constructor" object carrying "prototype", the other pollution path.
      if (key === '__proto__') throw badRequest(key, 'expected no "__proto__" key anywhere in the JSON body');
      if (key === 'constructor') {
        const inner = (v as Record<string, unknown>)[key];
        if (typeof inner === 'object' && inner !== null && Object.hasOwn(inner, 'prototype')) {
          throw badRequest(key, 'expected no "constructor.prototype" anywhere in the JSON body');
        }
      }
      stack.push([(v as Record<string, unknown>)[key], depth + 1]);
    }
  }
}

function mediaType(c: Context): string {
  return (requestHeader(c, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
}

/** The 413 of the API; the connection is closed after it (the rest of the body is not read). */
export function payloadTooLarge(limit: number): ApiError {
  const message = `expected a body of at most ${limit} bytes`;
  return new ApiError('payload_too_large', message, { errors: { $: [message] }, headers: { connection: 'close' } });
}

/** The body's bytes: straight from the node request when there is one (limit enforced while reading). */
async function bodyBytes(c: Context, limit: number): Promise<Uint8Array> {
  const incoming = nodeIncoming(c);
  if (incoming === undefined) return new Uint8Array(await c.req.arrayBuffer());
  try {
    return await readIncomingBody(incoming, limit);
  } catch (error) {
    if (error instanceof BodyTooLargeError) throw payloadTooLarge(limit);
    throw badRequest('$', 'expected a complete request body');
  }
}

type FormFields = Record<string, string | File | (string | File)[]>;

/** Form fields of a body already read (multipart or urlencoded), repeated names collected in arrays. */
async function parseFormBytes(bytes: Uint8Array, contentType: string): Promise<FormFields> {
  const form = await new Response(bytes, { headers: { 'content-type': contentType } }).formData();
  const out: FormFields = Object.create(null);
  for (const [name, value] of form.entries()) {
    const prev = out[name];
    if (prev === undefined) out[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[name] = [prev, value];
  }
  return out;
}

/**
 * Reads the request body as JSON or (when `kinds` allows) multipart / urlencoded form fields.
 * 415 for another content type, 400 for malformed or over-deep JSON or a file in a form.
 * The body size is already bounded by the body-limit middleware.
 */
export async function readBody(c: Context, kinds: readonly BodyKind[], limit: number): Promise<unknown> {
  const type = mediaType(c);
  // text/json too: ASP.NET's JSON input formatter takes it, so the documents' clients may send it.
  const isJson =
    type === 'application/json' || type === 'text/json' || (type.startsWith('application/') && type.endsWith('+json'));
  const isForm = type === 'multipart/form-data' || type === 'application/x-www-form-urlencoded';
  if (isJson && kinds.includes('json')) {
    let text: string;
    try {
      // JSON is UTF-8 (RFC 8259): invalid bytes are refused, not silently replaced with U+FFFD.
      text = utf8.decode(await bodyBytes(c, limit));
    } catch (error) {
      if (error instanceof ApiError) throw error;
      throw badRequest('$', 'expected a JSON body in UTF-8; received bytes that are not valid UTF-8');
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      if (text.trim() === '') throw badRequest('$', 'expected a JSON body; received an empty body');
      throw badRequest('$', 'expected a valid JSON body; received malformed JSON');
    }
    checkJsonShape(value);
    return value;
  }
  if (isForm && kinds.includes('form')) {
    let form: FormFields;
    try {
      form = await parseFormBytes(await bodyBytes(c, limit), requestHeader(c, 'content-type') ?? '');
    } catch (error) {
      if (error instanceof ApiError) throw error;
      throw badRequest('$', 'expected a valid form body; received one that could not be parsed');
    }
    const entries = Object.entries(form);
    if (entries.length > 1000) throw badRequest('$', 'expected at most 1000 form fields');
    const fields: Array<[string, string]> = [];
    for (const [name, value] of entries) {
      const values = Array.isArray(value) ? value : [value];
      if (values.some((v) => typeof v !== 'string')) throw badRequest(name, 'expected a text field; received a file');
      // A field sent twice with different values is ambiguous: refused rather than guessed.
      if (new Set(values).size > 1) throw badRequest(name, 'expected one value; received the field more than once');
      if (hasNul(name) || hasNul(values[0] as string)) throw nulRefused(hasNul(name) ? '$' : name);
      fields.push([name, values[0] as string]);
    }
    // fromEntries defines own properties: a field named __proto__ stays a field (and is refused as unknown).
    return Object.fromEntries(fields);
  }
  const accepted = kinds.flatMap((k) =>
    k === 'json' ? ['application/json'] : ['multipart/form-data', 'application/x-www-form-urlencoded'],
  );
  const message = `expected a body of type ${accepted.join(', ')}; received ${type === '' ? 'no content type' : JSON.stringify(type.slice(0, 100))}`;
  throw new ApiError('unsupported_media_type', message, { errors: { 'content-type': [message] } });
}

/** True when the request carries a body (any length, chunked included). */
export function hasBody(c: Context): boolean {
  const incoming = nodeIncoming(c);
  if (incoming === undefined) {
    if (c.req.header('content-length') === '0') return false;
    return c.req.raw.body !== null;
  }
  const length = incoming.headers['content-length'];
  if (length !== undefined) return length !== '0';
  return incoming.headers['transfer-encoding'] !== undefined;
}
