import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  HERALD_MESSAGE_SCHEMAS,
  type HeraldMessage,
  IMAGE_CHECKING_FIELD_ORDER,
  IMAGE_CHECKING_MESSAGE_TYPE,
  IMAGE_GENERATION_COMPLETED_TYPES,
  IMAGE_GENERATION_PROGRESS_TYPES,
  messageJsonSchemas,
  PROGRESS_FIELD_ORDER,
  parseHeraldMessage,
  RENDER_STATES,
  serializeMessage,
  TASK_COMPLETED_FIELD_ORDER,
} from '@herald/schemas';
import { Ajv2020 } from 'ajv/dist/2020.js';

// Seeded PRNG (mulberry32): the same messages on every run, so a failure can be replayed.
function createRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = createRandom(0x5eed);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
const int = (max: number) => Math.floor(random() * (max + 1));
const hex = (n: number) => Array.from({ length: n }, () => pick([...'0123456789abcdef'])).join('');
const uuid = () => `${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}`;
// Quotes, backslashes, control characters, non-ASCII and astral characters: what JSON escaping must get right.
const text = () =>
  Array.from({ length: int(12) }, () =>
    pick(['a', 'Z', ' ', '"', '\\', '\n', '\t', '\u0001', 'é', '€', '😀', '/', '<']),
  ).join('');
const base64 = () => Buffer.from(Array.from({ length: int(40) }, () => int(255))).toString('base64');
const timestamp = () =>
  `${2000 + int(30)}${String(1 + int(11)).padStart(2, '0')}${String(1 + int(27)).padStart(2, '0')}${String(int(23)).padStart(2, '0')}${String(int(59)).padStart(2, '0')}${String(int(59)).padStart(2, '0')}`;

function randomProgress(): Record<string, unknown> {
  const total = int(50);
  const completed = int(total);
  const tasks = Object.fromEntries(Array.from({ length: int(4) }, () => [uuid(), pick(RENDER_STATES)]));
  return {
    MessageType: pick(IMAGE_GENERATION_PROGRESS_TYPES),
    RequestRenderState: pick(RENDER_STATES),
    ApplicationId: uuid(),
    UserId: uuid(),
    ImageRenderProcessId: uuid(),
    TotalTaskCount: total,
    CompletedTaskCount: completed,
    Progress: pick([0, 100, total === 0 ? 0 : (completed / total) * 100, Math.round(random() * 1000) / 10]),
    Tasks: tasks,
    RenderKind: int(5),
    RenderType: int(5),
    IsSuccessful: random() < 0.5,
    ErrorMessage: text(),
  };
}

function randomCompleted(): Record<string, unknown> {
  const body: Record<string, unknown> = {
    MessageType: pick(IMAGE_GENERATION_COMPLETED_TYPES),
    ApplicationId: uuid(),
    UserId: uuid(),
    ImageRenderProcessId: uuid(),
    TaskId: uuid(),
    ImageContentBytes: pick([base64(), null, undefined]),
    IsSuccessful: random() < 0.5,
    ErrorMessage: text(),
  };
  if (body['ImageContentBytes'] === undefined) delete body['ImageContentBytes'];
  return body;
}

function randomChecking(): Record<string, unknown> {
  const type = pick(['Gallery', 'Custom'] as const);
  const state = pick(['Pending', 'Accepted', 'Rejected'] as const);
  const body: Record<string, unknown> = {
    ImageId: text() || 'id',
    Orientation: pick(['Horizontal', 'Vertical']),
    ImageType: type,
    ImageState: state,
    RejectionCode: state === 'Accepted' ? '00' : state === 'Pending' ? '' : pick(['01', '07', 'R42']),
    SubmissionTimeStamp: timestamp(),
    ImageCheckingTimeStamp: type === 'Custom' && state !== 'Pending' ? timestamp() : '',
  };
  if (random() < 0.5) body['DataCapture'] = { [text()]: text(), nested: { list: [1, 'two', null, true] } };
  return body;
}

function shuffled(body: Record<string, unknown>): Record<string, unknown> {
  const entries = Object.entries(body);
  for (let i = entries.length - 1; i > 0; i--) {
    const j = int(i);
    [entries[i], entries[j]] = [entries[j] as [string, unknown], entries[i] as [string, unknown]];
  }
  return Object.fromEntries(entries);
}

// Input keys in random order: the written order must come from the documents, not from the input.
const cases = Array.from({ length: 300 }, (_, i) =>
  shuffled([randomProgress, randomCompleted, randomChecking][i % 3]?.() ?? {}),
);

describe('serialise round trip on generated messages', () => {
  it('parses every generated message and writes text that reads back to the same value', () => {
    for (const body of cases) {
      const r = parseHeraldMessage(body);
      assert.ok(r.ok, JSON.stringify(!r.ok && r.problem.errors));
      const once = serializeMessage(r.message);
      assert.deepEqual(JSON.parse(once), JSON.parse(JSON.stringify(r.message)));
      assert.deepEqual(JSON.parse(serializeMessage(r.message, { indent: 2 })), JSON.parse(once));
      const again = parseHeraldMessage(JSON.parse(once));
      assert.ok(again.ok);
      assert.equal(serializeMessage(again.message), once);
    }
  });

  it('agrees with the exported JSON Schemas on every generated message', () => {
    const ajv = new Ajv2020({ strict: true, strictRequired: false });
    const schemas = messageJsonSchemas();
    for (const [type, schema] of Object.entries(schemas)) ajv.addSchema(schema, type);
    for (const body of cases) {
      const type = typeof body['MessageType'] === 'string' ? body['MessageType'] : IMAGE_CHECKING_MESSAGE_TYPE;
      const validate = ajv.getSchema(String(type));
      assert.ok(validate);
      assert.equal(validate(body), true, `${type}: ${JSON.stringify(validate.errors)}`);
      assert.equal(HERALD_MESSAGE_SCHEMAS[type as keyof typeof HERALD_MESSAGE_SCHEMAS].safeParse(body).success, true);
    }
  });

  it('keeps the documented key order on every generated message', () => {
    for (const body of cases) {
      const r = parseHeraldMessage(body);
      assert.ok(r.ok);
      const keys = Object.keys(JSON.parse(serializeMessage(r.message as HeraldMessage)));
      const order: readonly string[] =
        r.type === IMAGE_CHECKING_MESSAGE_TYPE
          ? IMAGE_CHECKING_FIELD_ORDER
          : 'TaskId' in r.message
            ? TASK_COMPLETED_FIELD_ORDER
            : PROGRESS_FIELD_ORDER;
      assert.deepEqual(
        keys,
        order.filter((k) => k in body),
      );
    }
  });
});
