import { z } from 'zod';
import { closedObject } from './closed-object.ts';
import { describeValue } from './describe-value.ts';
import { enumOf } from './fields.ts';
import { parseImageCheckingTimestamp } from './image-checking-timestamp.ts';

export const ORIENTATIONS = ['Horizontal', 'Vertical'] as const;
export const IMAGE_TYPES = ['Gallery', 'Custom'] as const;
export const IMAGE_STATES = ['Pending', 'Accepted', 'Rejected'] as const;

/** `RejectionCode` of an accepted image. */
export const ACCEPTED_REJECTION_CODE = '00';

/** Field order of the image-checking notification, as the document prints it. */
export const IMAGE_CHECKING_FIELD_ORDER = [
  'ImageId',
  'Orientation',
  'ImageType',
  'ImageState',
  'RejectionCode',
  'SubmissionTimeStamp',
  'ImageCheckingTimeStamp',
  'DataCapture',
] as const;

const timestampPatternText = '^[0-9]{14}$';

function timestamp(allowEmpty: boolean) {
  const expected = allowEmpty ? 'a yyyyMMddHHmmss UTC timestamp or ""' : 'a yyyyMMddHHmmss UTC timestamp';
  return z
    .string({ error: (i) => `expected ${expected}; received ${describeValue(i.input)}` })
    .refine((s) => (allowEmpty && s === '') || parseImageCheckingTimestamp(s) !== null, {
      error: (i) => `expected ${expected} naming a real date and time; received ${describeValue(i.input)}`,
    })
    .meta(
      allowEmpty ? { anyOf: [{ const: '' }, { pattern: timestampPatternText }] } : { pattern: timestampPatternText },
    );
}

function jsonSchemaRules(): object[] {
  const when = (ImageState: object, then: object) => ({
    if: { properties: { ImageState }, required: ['ImageState'] },
    // biome-ignore lint/suspicious/noThenProperty: a JSON Schema keyword, not a thenable
    then: { properties: { RejectionCode: { type: 'string', ...then } } },
  });
  return [
    when({ const: 'Accepted' }, { const: ACCEPTED_REJECTION_CODE }),
    when({ const: 'Pending' }, { const: '' }),
    when({ const: 'Rejected' }, { not: { enum: ['', ACCEPTED_REJECTION_CODE] } }),
    {
      if: {
        properties: { ImageType: { const: 'Custom' }, ImageState: { enum: ['Accepted', 'Rejected'] } },
        required: ['ImageType', 'ImageState'],
      },
      // biome-ignore lint/suspicious/noThenProperty: a JSON Schema keyword, not a thenable
      then: { properties: { ImageCheckingTimeStamp: { type: 'string', minLength: 1 } } },
      else: { properties: { ImageCheckingTimeStamp: { const: '' } } },
    },
  ];
}

/**
 * The image-checking push body. Its wire form has no `MessageType`; Herald routes it under
 * `IMAGE_CHECKING_MESSAGE_TYPE`. Cross-field rules of the document:
 * `RejectionCode` is "00" when Accepted, "" when Pending, another non-empty code when Rejected;
 * `ImageCheckingTimeStamp` is set only for Custom images that are Accepted or Rejected, "" otherwise.
 */
export const ImageCheckingNotification = closedObject({
  ImageId: z
    .string({ error: (i) => `expected a non-empty image id string; received ${describeValue(i.input)}` })
    .min(1, { error: () => 'expected a non-empty image id; received ""' })
    .max(256, { error: () => 'expected an image id of at most 256 characters' }),
  Orientation: enumOf(ORIENTATIONS),
  ImageType: enumOf(IMAGE_TYPES),
  ImageState: enumOf(IMAGE_STATES),
  RejectionCode: z
    .string({ error: (i) => `expected a rejection code string; received ${describeValue(i.input)}` })
    .max(64, { error: () => 'expected a rejection code of at most 64 characters' }),
  SubmissionTimeStamp: timestamp(false),
  ImageCheckingTimeStamp: timestamp(true),
  DataCapture: z
    .record(z.string(), z.unknown(), {
      error: (i) => `expected an object of captured values; received ${describeValue(i.input)}`,
    })
    .optional(),
})
  .check((ctx) => {
    const v = ctx.value;
    // The rules read ImageType and ImageState: when either is invalid it has its own error already.
    if (!(IMAGE_TYPES as readonly string[]).includes(v.ImageType)) return;
    if (!(IMAGE_STATES as readonly string[]).includes(v.ImageState)) return;
    if (typeof v.RejectionCode !== 'string' || typeof v.ImageCheckingTimeStamp !== 'string') return;
    const fail = (path: string, message: string) =>
      ctx.issues.push({ code: 'custom', input: v, path: [path], message });
    if (v.ImageState === 'Accepted' && v.RejectionCode !== ACCEPTED_REJECTION_CODE) {
      fail('RejectionCode', `expected "00" for an Accepted image; received ${describeValue(v.RejectionCode)}`);
    }
    if (v.ImageState === 'Pending' && v.RejectionCode !== '') {
      fail('RejectionCode', `expected "" for a Pending image; received ${describeValue(v.RejectionCode)}`);
    }
    if (v.ImageState === 'Rejected' && (v.RejectionCode === '' || v.RejectionCode === ACCEPTED_REJECTION_CODE)) {
      fail(
        'RejectionCode',
        `expected a rejection code other than "00" and "" for a Rejected image; received ${describeValue(v.RejectionCode)}`,
      );
    }
    const checked = v.ImageType === 'Custom' && (v.ImageState === 'Accepted' || v.ImageState === 'Rejected');
    if (checked && v.ImageCheckingTimeStamp === '') {
      fail(
        'ImageCheckingTimeStamp',
        `expected a yyyyMMddHHmmss timestamp for a Custom ${v.ImageState} image; received ""`,
      );
    }
    if (!checked && v.ImageCheckingTimeStamp !== '') {
      fail(
        'ImageCheckingTimeStamp',
        `expected "" for a ${v.ImageType} ${v.ImageState} image (set only for Custom images that are Accepted or Rejected); received ${describeValue(v.ImageCheckingTimeStamp)}`,
      );
    }
  })
  // The same rules for JSON Schema consumers (zod checks do not export).
  .meta({ allOf: jsonSchemaRules() });
export type ImageCheckingNotification = z.infer<typeof ImageCheckingNotification>;
