// The steady-state measurement in a process of its own (platform.ts runs it so): the load generator then starts
// with a small heap, not the one left by the drain phases' seeding (two 100,000-publish backlogs), whose
// collections delayed sends after their timestamps were taken. Prints its log lines, then one JSON line.
// Usage: node bench/steady-state-main.ts --rate 1000 --seconds 30
import { parseArgs } from 'node:util';
import { startFastReceiver } from './bench-helpers.ts';
import { measureSteadyState } from './steady-state.ts';

const { values } = parseArgs({
  options: { rate: { type: 'string', default: '1000' }, seconds: { type: 'string', default: '30' } },
});
const receiver = await startFastReceiver();
try {
  const figures = await measureSteadyState(receiver, {
    rate: Number(values.rate),
    seconds: Number(values.seconds),
    log: (line) => process.stdout.write(`${line}\n`),
  });
  process.stdout.write(`${JSON.stringify(figures)}\n`);
} finally {
  await receiver.close();
}
