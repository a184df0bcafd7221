import {
  HERALD_MESSAGE_TYPES,
  IMAGE_CHECKING_MESSAGE_TYPE,
  IMAGE_GENERATION_COMPLETED_TYPES,
  IMAGE_GENERATION_PROGRESS_TYPES,
} from '@herald/schemas';

// Values from the source documents' examples (seeds 000 and 001).
const APPLICATION_ID = 'd5eabbb8-c0f6-4640-94fd-3566edad499f';
const USER_ID = '2581c740-8e9d-4d63-96bc-5665bb9a646b';
const PROCESS_ID = '51d690da-f5ea-405e-90ff-10d56b0d633f';

function progressExample(type: string): Record<string, unknown> {
  return {
    MessageType: type,
    RequestRenderState: 'Succeeded',
    ApplicationId: APPLICATION_ID,
    UserId: USER_ID,
    ImageRenderProcessId: PROCESS_ID,
    TotalTaskCount: 10,
    CompletedTaskCount: 8,
    Progress: 80.0,
    Tasks: {
      '24929cc8-34da-455b-a4f1-61f895ac3a06': 'Succeeded',
      '855c3f61-0f00-457a-81a0-b2c0653d2b21': 'Succeeded',
    },
    RenderKind: 1,
    RenderType: 2,
    IsSuccessful: true,
    ErrorMessage: '',
  };
}

function taskCompletedExample(type: string): Record<string, unknown> {
  return {
    MessageType: type,
    ApplicationId: APPLICATION_ID,
    UserId: USER_ID,
    ImageRenderProcessId: PROCESS_ID,
    TaskId: '9baa8e55-ddc8-4940-907f-eb5fc81e53f6',
    ImageContentBytes: 'aGVyYWxkIGV4YW1wbGUgaW1hZ2U=',
    IsSuccessful: true,
    ErrorMessage: '',
  };
}

const imageCheckingExample = {
  ImageId: 'IMG-2024-000418',
  Orientation: 'Horizontal',
  ImageType: 'Custom',
  ImageState: 'Accepted',
  RejectionCode: '00',
  SubmissionTimeStamp: '20240229235959',
  ImageCheckingTimeStamp: '20240301000130',
};

/** Every message type with an example body. */
export const EXAMPLE_TYPES: readonly string[] = HERALD_MESSAGE_TYPES;

/** The documents' example body for a type, or undefined for an unknown type. */
export function exampleMessage(type: string): Record<string, unknown> | undefined {
  if ((IMAGE_GENERATION_PROGRESS_TYPES as readonly string[]).includes(type)) return progressExample(type);
  if ((IMAGE_GENERATION_COMPLETED_TYPES as readonly string[]).includes(type)) return taskCompletedExample(type);
  if (type === IMAGE_CHECKING_MESSAGE_TYPE) return { ...imageCheckingExample };
  return undefined;
}
