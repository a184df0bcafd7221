/** Valid messages of the documents, for tests and the benchmark. */
export function imageCheckingMessage(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ImageId: '7f8a5a63-8bd1-4b7e-9c36-d6a0c9b5e2a1',
    Orientation: 'Horizontal',
    ImageType: 'Gallery',
    ImageState: 'Accepted',
    RejectionCode: '00',
    SubmissionTimeStamp: '20240101120000',
    ImageCheckingTimeStamp: '',
    DataCapture: { camera: 'x' },
    ...overrides,
  };
}

export function taskCompletedMessage(
  applicationId: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    MessageType: 'ImageGenerationTaskCompleted',
    ApplicationId: applicationId,
    UserId: '11111111-2222-4333-8444-555555555555',
    ImageRenderProcessId: '22222222-3333-4444-8555-666666666666',
    TaskId: '33333333-4444-4555-8666-777777777777',
    ImageContentBytes: null,
    IsSuccessful: true,
    ErrorMessage: '',
    ...overrides,
  };
}
