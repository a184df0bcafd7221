import { randomUUID } from 'node:crypto';

/** A valid ImageGenerationProgress message with fresh ids. */
export function progressMessage(progress = 50, applicationId: string = randomUUID()): Record<string, unknown> {
  return {
    MessageType: 'ImageGenerationProgress',
    RequestRenderState: 'InProgress',
    ApplicationId: applicationId,
    UserId: randomUUID(),
    ImageRenderProcessId: randomUUID(),
    TotalTaskCount: 4,
    CompletedTaskCount: 2,
    Progress: progress,
    Tasks: { [randomUUID()]: 'Succeeded', [randomUUID()]: 'InProgress' },
    RenderKind: 1,
    RenderType: 2,
    IsSuccessful: true,
    ErrorMessage: '',
  };
}
