import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createProblem,
  formatIssuePath,
  ImageGenerationProgress,
  noActiveChannelProblem,
  ProblemDetails,
  problemFromZodError,
  unauthorizedProblem,
  WebHookChannelRequest,
} from '@herald/schemas';
import { fixtureJson, fixtureText, minifyJson, withFields } from './fixtures.ts';

const applicationId = 'd5eabbb8-c0f6-4640-94fd-3566edad499f';

describe('ProblemDetails', () => {
  it('parses every problem body of the documents', () => {
    for (const name of [
      '002-no-active-channel-404.json',
      '002-unauthorized-401.json',
      '002-active-not-found-404.json',
    ]) {
      const r = ProblemDetails.safeParse(fixtureJson(name));
      assert.equal(r.success, true, name);
    }
  });

  it('rejects a problem without status or with errors that are not string lists', () => {
    assert.equal(ProblemDetails.safeParse({ type: 'x', title: 'y' }).success, false);
    assert.equal(ProblemDetails.safeParse({ type: 'x', title: 'y', status: 400, errors: { a: 'b' } }).success, false);
  });
});

describe('documented problems', () => {
  it('builds the no-active-channel 404 byte for byte', () => {
    const problem = noActiveChannelProblem(applicationId, '00-ac4f3a19e10981f5f4b5aa22ffd0d0f4-60f1194e0090da68-00');
    assert.equal(JSON.stringify(problem), minifyJson(fixtureText('002-no-active-channel-404.json')));
    assert.equal(JSON.stringify(problem, null, 4), fixtureText('002-no-active-channel-404.json').trimEnd());
  });

  it('builds the 401 byte for byte', () => {
    const problem = unauthorizedProblem('00-fc878634896257c5991ac5399ab6c46c-416e4be3606fdbaa-00');
    assert.equal(JSON.stringify(problem), minifyJson(fixtureText('002-unauthorized-401.json')));
  });

  it('matches the short 404 of the list-active example in the fields it prints', () => {
    const short = fixtureJson('002-active-not-found-404.json') as Record<string, unknown>;
    const problem = noActiveChannelProblem(applicationId, '00-ac4f3a19e10981f5f4b5aa22ffd0d0f4-60f1194e0090da68-00');
    for (const [key, value] of Object.entries(short)) {
      assert.deepEqual(problem[key as keyof typeof problem], value, key);
    }
  });
});

describe('createProblem', () => {
  it('fills the documents defaults in their key order', () => {
    const problem = createProblem({ status: 409, traceId: 't' });
    assert.deepEqual(Object.keys(problem), ['errors', 'type', 'title', 'status', 'detail', 'instance', 'extensions']);
    assert.deepEqual(problem, {
      errors: {},
      type: 'https://tools.ietf.org/html/rfc7231#section-6.5.1',
      title: 'One or more errors occurred.',
      status: 409,
      detail: null,
      instance: null,
      extensions: { traceId: 't' },
    });
  });

  it('keeps given values', () => {
    const problem = createProblem({
      status: 410,
      traceId: 't',
      title: 'Gone',
      detail: 'd',
      instance: '/x',
      type: 'about:blank',
    });
    assert.equal(problem.title, 'Gone');
    assert.equal(problem.detail, 'd');
    assert.equal(problem.instance, '/x');
    assert.equal(problem.type, 'about:blank');
  });
});

describe('problemFromZodError', () => {
  it('keys the errors by field path', () => {
    const body = withFields(fixtureJson('001-webhook-progress.json'), {
      Progress: 'eighty',
      Tasks: { '24929cc8-34da-455b-a4f1-61f895ac3a06': 'Exploded' },
    });
    const r = ImageGenerationProgress.safeParse(body);
    assert.ok(!r.success);
    const problem = problemFromZodError(r.error, 'trace');
    assert.equal(problem.status, 400);
    assert.deepEqual(problem.errors, {
      Progress: ['expected a number from 0 to 100; received "eighty"'],
      'Tasks.24929cc8-34da-455b-a4f1-61f895ac3a06': [
        'expected one of NotStarted, Started, InProgress, Succeeded, Failed, Cancelled; received "Exploded"',
      ],
    });
    assert.equal(problem.extensions.traceId, 'trace');
  });

  it('keeps __proto__ and constructor as plain field paths (no crash, no prototype change)', () => {
    const r = WebHookChannelRequest.safeParse(JSON.parse('{"__proto__":{"polluted":1},"constructor":1,"toString":2}'));
    assert.ok(!r.success);
    const problem = problemFromZodError(r.error, 'trace');
    assert.equal(Object.getPrototypeOf(problem.errors), Object.prototype);
    assert.ok(Object.hasOwn(problem.errors, '__proto__'));
    assert.ok(Object.hasOwn(problem.errors, 'constructor'));
    assert.match(JSON.stringify(problem.errors), /"__proto__":\["unknown field/);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('cuts long field names and counts unknown fields beyond the first 20 (bounded answers)', () => {
    const body: Record<string, unknown> = { ['k'.repeat(100_000)]: 1 };
    for (let i = 0; i < 500; i++) body[`extra${i}`] = i;
    const r = WebHookChannelRequest.safeParse(body);
    assert.ok(!r.success);
    const problem = problemFromZodError(r.error, 'trace');
    const text = JSON.stringify(problem);
    assert.ok(text.length < 10_000, `problem of ${text.length} characters`);
    assert.ok(Object.keys(problem.errors).some((k) => k === `${'k'.repeat(100)}...`));
    assert.match(text, /and 481 more unknown fields/);
  });

  it('formats paths with dots, brackets and $ for the root', () => {
    assert.equal(formatIssuePath([]), '$');
    assert.equal(formatIssuePath(['Tasks', 'abc']), 'Tasks.abc');
    assert.equal(formatIssuePath(['$values', 0, 'id']), '$values[0].id');
  });
});
