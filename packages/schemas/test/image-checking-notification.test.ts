import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatImageCheckingTimestamp, ImageCheckingNotification, parseImageCheckingTimestamp } from '@herald/schemas';
import { errorsOf, fixtureJson, fixtureText, withFields } from './fixtures.ts';

const galleryAccepted = fixtureJson('000-gallery-accepted.json');
const customPending = fixtureJson('000-custom-pending.json');
const customRejected = fixtureJson('000-custom-rejected.json');
const customAccepted = fixtureJson('000-custom-accepted.json');

describe('image-checking notification: documented scenarios', () => {
  for (const name of [
    '000-gallery-accepted.json',
    '000-custom-pending.json',
    '000-custom-rejected.json',
    '000-custom-accepted.json',
  ]) {
    it(`parses ${name}`, () => {
      const r = ImageCheckingNotification.safeParse(fixtureJson(name));
      assert.equal(r.success, true, JSON.stringify(r.error?.issues));
    });
  }

  it('treats the document body template as a placeholder, not a message', () => {
    const template = fixtureText('000-body-template.txt');
    // Curly quotes around the ImageId placeholder: the document's template is not even JSON.
    assert.throws(() => JSON.parse(template), SyntaxError);
    const repaired = JSON.parse(template.replace(/[“”]/g, '"'));
    const errors = errorsOf(ImageCheckingNotification, repaired);
    assert.deepEqual(Object.keys(errors ?? {}).sort(), [
      'ImageCheckingTimeStamp',
      'ImageState',
      'ImageType',
      'Orientation',
      'SubmissionTimeStamp',
    ]);
    assert.deepEqual(errors?.['Orientation'], [
      'expected one of Horizontal, Vertical; received "<Horizontal or Vertical>"',
    ]);
  });

  it('keeps DataCapture values and allows it to be absent', () => {
    const m = ImageCheckingNotification.parse(customPending);
    assert.deepEqual(m.DataCapture, {
      SessionId: '8f14e45f-ceea-467f-a0e6-1c2b3d4e5f60',
      CustomerReference: 'ORDER-88231',
    });
    assert.equal(ImageCheckingNotification.parse(customAccepted).DataCapture, undefined);
    assert.deepEqual(errorsOf(ImageCheckingNotification, withFields(customAccepted, { DataCapture: 'x' })), {
      DataCapture: ['expected an object of captured values; received "x"'],
    });
  });
});

describe('image-checking notification: RejectionCode rules', () => {
  it('requires "00" for an Accepted image', () => {
    assert.deepEqual(errorsOf(ImageCheckingNotification, withFields(galleryAccepted, { RejectionCode: '' })), {
      RejectionCode: ['expected "00" for an Accepted image; received ""'],
    });
    assert.deepEqual(errorsOf(ImageCheckingNotification, withFields(customAccepted, { RejectionCode: '07' })), {
      RejectionCode: ['expected "00" for an Accepted image; received "07"'],
    });
  });

  it('requires "" for a Pending image', () => {
    assert.deepEqual(errorsOf(ImageCheckingNotification, withFields(customPending, { RejectionCode: '00' })), {
      RejectionCode: ['expected "" for a Pending image; received "00"'],
    });
  });

  it('requires a code other than "00" and "" for a Rejected image', () => {
    for (const code of ['00', '']) {
      assert.deepEqual(errorsOf(ImageCheckingNotification, withFields(customRejected, { RejectionCode: code })), {
        RejectionCode: [
          `expected a rejection code other than "00" and "" for a Rejected image; received ${JSON.stringify(code)}`,
        ],
      });
    }
    const galleryRejected = withFields(customRejected, { ImageType: 'Gallery', ImageCheckingTimeStamp: '' });
    assert.equal(ImageCheckingNotification.safeParse(galleryRejected).success, true);
  });
});

describe('image-checking notification: ImageCheckingTimeStamp rules', () => {
  it('requires the timestamp for Custom Accepted and Custom Rejected images', () => {
    assert.deepEqual(errorsOf(ImageCheckingNotification, withFields(customAccepted, { ImageCheckingTimeStamp: '' })), {
      ImageCheckingTimeStamp: ['expected a yyyyMMddHHmmss timestamp for a Custom Accepted image; received ""'],
    });
    assert.deepEqual(errorsOf(ImageCheckingNotification, withFields(customRejected, { ImageCheckingTimeStamp: '' })), {
      ImageCheckingTimeStamp: ['expected a yyyyMMddHHmmss timestamp for a Custom Rejected image; received ""'],
    });
  });

  it('requires "" for Gallery images and Pending images', () => {
    assert.deepEqual(
      errorsOf(ImageCheckingNotification, withFields(galleryAccepted, { ImageCheckingTimeStamp: '20241220190512' })),
      {
        ImageCheckingTimeStamp: [
          'expected "" for a Gallery Accepted image (set only for Custom images that are Accepted or Rejected); received "20241220190512"',
        ],
      },
    );
    assert.deepEqual(
      errorsOf(ImageCheckingNotification, withFields(customPending, { ImageCheckingTimeStamp: '20241220190512' })),
      {
        ImageCheckingTimeStamp: [
          'expected "" for a Custom Pending image (set only for Custom images that are Accepted or Rejected); received "20241220190512"',
        ],
      },
    );
  });

  it('rejects timestamps that are not real dates', () => {
    for (const bad of [
      '20241341120000',
      '20230230120000',
      '20241220240000',
      '20241220236000',
      '20241220235960',
      '2024122018242',
      'yyyyMMddHHmmss',
    ]) {
      const errors = errorsOf(ImageCheckingNotification, withFields(customAccepted, { SubmissionTimeStamp: bad }));
      assert.deepEqual(errors, {
        SubmissionTimeStamp: [
          `expected a yyyyMMddHHmmss UTC timestamp naming a real date and time; received ${JSON.stringify(bad)}`,
        ],
      });
    }
    assert.deepEqual(errorsOf(ImageCheckingNotification, withFields(customAccepted, { SubmissionTimeStamp: '' })), {
      SubmissionTimeStamp: ['expected a yyyyMMddHHmmss UTC timestamp naming a real date and time; received ""'],
    });
    assert.deepEqual(
      errorsOf(ImageCheckingNotification, withFields(customAccepted, { ImageCheckingTimeStamp: '20240230000130' })),
      {
        ImageCheckingTimeStamp: [
          'expected a yyyyMMddHHmmss UTC timestamp or "" naming a real date and time; received "20240230000130"',
        ],
      },
    );
  });
});

describe('image-checking notification: field errors', () => {
  it('says what was expected and what was received for each enum', () => {
    const body = withFields(galleryAccepted, { Orientation: 'Landscape', ImageType: 'custom', ImageState: 3 });
    assert.deepEqual(errorsOf(ImageCheckingNotification, body), {
      Orientation: ['expected one of Horizontal, Vertical; received "Landscape"'],
      ImageType: ['expected one of Gallery, Custom; received "custom"'],
      ImageState: ['expected one of Pending, Accepted, Rejected; received number 3'],
    });
  });

  it('reports only the bad enum when a rule would depend on it', () => {
    assert.deepEqual(errorsOf(ImageCheckingNotification, withFields(customAccepted, { ImageType: 'custom' })), {
      ImageType: ['expected one of Gallery, Custom; received "custom"'],
    });
    assert.deepEqual(errorsOf(ImageCheckingNotification, withFields(customRejected, { ImageState: 'Declined' })), {
      ImageState: ['expected one of Pending, Accepted, Rejected; received "Declined"'],
    });
  });

  it('rejects an empty ImageId and an unknown field', () => {
    const body = withFields(galleryAccepted, { ImageId: '', MessageType: 'ImageCheckingNotification' });
    assert.deepEqual(errorsOf(ImageCheckingNotification, body), {
      ImageId: ['expected a non-empty image id; received ""'],
      MessageType: ['unknown field "MessageType" (field names are case-sensitive)'],
    });
  });
});

describe('yyyyMMddHHmmss timestamps', () => {
  it('reads real dates as UTC', () => {
    assert.equal(parseImageCheckingTimestamp('20241220182423')?.toISOString(), '2024-12-20T18:24:23.000Z');
    assert.equal(parseImageCheckingTimestamp('20240229000000')?.toISOString(), '2024-02-29T00:00:00.000Z');
    assert.equal(parseImageCheckingTimestamp('00010101000000')?.toISOString(), '0001-01-01T00:00:00.000Z');
  });

  it('returns null for impossible dates and other text', () => {
    for (const bad of [
      '20230229000000',
      '20241301000000',
      '20241200000000',
      '20241231246000',
      '2024-12-20 18:24',
      ' 20241220182423',
      '202412201824230',
    ]) {
      assert.equal(parseImageCheckingTimestamp(bad), null, bad);
    }
  });

  it('writes dates in UTC and round-trips', () => {
    const date = new Date('2024-03-05T07:08:09.999Z');
    assert.equal(formatImageCheckingTimestamp(date), '20240305070809');
    assert.equal(
      parseImageCheckingTimestamp(formatImageCheckingTimestamp(date))?.toISOString(),
      '2024-03-05T07:08:09.000Z',
    );
  });

  it('throws for an invalid Date', () => {
    assert.throws(() => formatImageCheckingTimestamp(new Date('nope')), { code: 'INVALID_ARGUMENT' });
  });
});
