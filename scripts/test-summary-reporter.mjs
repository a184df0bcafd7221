// node:test reporter that writes {passed, failed, skipped} for the root summary line.
export default async function* summaryReporter(source) {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const d = event.data;
    if (d.details?.type === 'suite' && event.type === 'test:pass') continue;
    if (d.skip || d.todo) skipped++;
    else if (event.type === 'test:pass') passed++;
    else if (d.details?.type !== 'suite' || d.details?.error?.failureType !== 'subtestsFailed') failed++;
  }
  yield `${JSON.stringify({ passed, failed, skipped })}\n`;
}
