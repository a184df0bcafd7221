import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stripImageContentBytes } from './strip-image-content.ts';

const completed =
  '{"MessageType":"ImageGenerationTaskCompleted","ApplicationId":"d5eabbb8-c0f6-4640-94fd-3566edad499f","UserId":"0b0d6f1e-5b8e-4d0c-9d5c-1c1f0e9f1a11","ImageRenderProcessId":"5f0e1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b","TaskId":"9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d","ImageContentBytes":"aGVsbG8=","IsSuccessful":true,"ErrorMessage":""}';

describe('stripImageContentBytes', () => {
  it('removes ImageContentBytes and keeps every other field in order', () => {
    const out = stripImageContentBytes(completed);
    assert.equal(out.includes('ImageContentBytes'), false);
    assert.equal(out, completed.replace(',"ImageContentBytes":"aGVsbG8="', ''));
  });

  it('returns a body without the field unchanged (same text, doubles as written)', () => {
    const progress = '{"MessageType":"ImageGenerationProgress","Progress":80.0}';
    assert.equal(stripImageContentBytes(progress), progress);
  });

  it('throws on a body that mentions the field but is not JSON (a corrupted row)', () => {
    assert.throws(() => stripImageContentBytes('{"ImageContentBytes": '), SyntaxError);
  });
});
