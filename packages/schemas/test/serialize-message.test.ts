import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  formatDouble,
  type HeraldMessage,
  ImageGenerationTaskCompleted,
  parseHeraldMessage,
  serializeMessage,
  stripImageContent,
} from '@herald/schemas';
import { fixtureJson, fixtureText, minifyJson } from './fixtures.ts';

const messageFixtures = [
  '001-webhook-task-completed.json',
  '001-rabbitmq-task-completed.json',
  '001-webhook-progress.json',
  '001-rabbitmq-progress.json',
  '000-gallery-accepted.json',
  '000-custom-pending.json',
  '000-custom-rejected.json',
  '000-custom-accepted.json',
];

function parsed(name: string): HeraldMessage {
  const r = parseHeraldMessage(fixtureJson(name));
  if (!r.ok) throw new Error(`${name}: ${JSON.stringify(r.problem.errors)}`);
  return r.message;
}

function reordered(value: unknown): unknown {
  // Same fields, reverse order: serialisation must not depend on the input's key order.
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).reverse());
}

describe('serializeMessage', () => {
  for (const name of messageFixtures) {
    it(`reproduces ${name} byte for byte, compact and indented`, () => {
      const text = fixtureText(name);
      const message = parsed(name);
      assert.equal(serializeMessage(message), minifyJson(text));
      const indent = name.startsWith('000') ? 4 : 2;
      assert.equal(serializeMessage(message, { indent }), text.trimEnd());
    });
  }

  it('writes the documented field order whatever order the input had', () => {
    for (const name of messageFixtures) {
      const r = parseHeraldMessage(reordered(fixtureJson(name)));
      assert.ok(r.ok);
      assert.equal(serializeMessage(r.message), minifyJson(fixtureText(name)), name);
    }
  });

  it('is stable: parse → serialise → parse → serialise gives the same bytes', () => {
    for (const name of messageFixtures) {
      const once = serializeMessage(parsed(name));
      const r = parseHeraldMessage(JSON.parse(once));
      assert.ok(r.ok);
      assert.equal(serializeMessage(r.message), once);
    }
  });

  it('writes a fractional Progress as JSON does and a whole one with ".0"', () => {
    const base = parsed('001-webhook-progress.json');
    assert.match(serializeMessage({ ...base, Progress: 33.25 } as HeraldMessage), /"Progress":33\.25,/);
    assert.match(serializeMessage({ ...base, Progress: 0 } as HeraldMessage), /"Progress":0\.0,/);
  });

  it('escapes strings as JSON', () => {
    const base = parsed('001-webhook-task-completed.json');
    const text = serializeMessage({ ...base, ErrorMessage: 'quote " and \n newline' } as HeraldMessage);
    assert.equal(JSON.parse(text).ErrorMessage, 'quote " and \n newline');
  });

  it('writes null image content and omits absent image content', () => {
    const base = ImageGenerationTaskCompleted.parse(fixtureJson('001-webhook-task-completed.json'));
    assert.match(
      serializeMessage({ ...base, ImageContentBytes: null }),
      /"TaskId":"[^"]+","ImageContentBytes":null,"IsSuccessful"/,
    );
    assert.match(serializeMessage(stripImageContent(base)), /"TaskId":"[^"]+","IsSuccessful"/);
  });

  it('rejects a bad indent', () => {
    assert.throws(() => serializeMessage(parsed('000-custom-accepted.json'), { indent: -1 }), {
      code: 'INVALID_ARGUMENT',
    });
  });
});

describe('stripImageContent', () => {
  it('drops ImageContentBytes, keeps the rest in order, and leaves the original alone', () => {
    const message = parsed('001-webhook-task-completed.json');
    const stripped = stripImageContent(message);
    assert.equal('ImageContentBytes' in stripped, false);
    assert.equal('ImageContentBytes' in message, true);
    assert.deepEqual(Object.keys(stripped), [
      'MessageType',
      'ApplicationId',
      'UserId',
      'ImageRenderProcessId',
      'TaskId',
      'IsSuccessful',
      'ErrorMessage',
    ]);
    const expected = minifyJson(fixtureText('001-webhook-task-completed.json')).replace(
      '"ImageContentBytes":"base64encodedimagecontent==",',
      '',
    );
    assert.equal(serializeMessage(stripped), expected);
    assert.equal(parseHeraldMessage(JSON.parse(serializeMessage(stripped))).ok, true);
  });

  it('returns an equal copy of messages without image content', () => {
    const progress = parsed('001-webhook-progress.json');
    const copy = stripImageContent(progress);
    assert.notEqual(copy, progress);
    assert.deepEqual(copy, progress);
  });
});

describe('formatDouble', () => {
  it('writes whole numbers with ".0" and others as JSON does', () => {
    assert.equal(formatDouble(2), '2.0');
    assert.equal(formatDouble(80), '80.0');
    assert.equal(formatDouble(1.5), '1.5');
    assert.equal(formatDouble(-3), '-3.0');
    assert.equal(formatDouble(1e21), '1e+21');
    assert.throws(() => formatDouble(Number.NaN), { code: 'INVALID_ARGUMENT' });
  });
});
