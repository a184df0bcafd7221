// Confirmed publishes/s through publisher.publish vs a bare amqplib ConfirmChannel loop with the same
// window, and the consumer helper's rate vs a bare amqplib consume with the same prefetch.
// Own vhost on the local broker, loopback only; bounded in rounds, messages and wall time.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createDestinationPolicy } from '@herald/ssrf';
import { createTestVhost } from '@herald/testing';
import type { Channel, ConfirmChannel, Options } from 'amqplib';
import amqp from 'amqplib';
import { consumeNotifications, createAmqpPublisher, EXCHANGE_NAME } from '../src/index.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const PUBLISHES = 4000;
const WINDOW = 64;
const CONSUMES = 4000;
const PREFETCH = 16;
const BUDGET_MS = 90_000;

const started = performance.now();
const overBudget = () => performance.now() - started > BUDGET_MS;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

const base = {
  MessageType: 'ImageGenerationProgress',
  RequestRenderState: 'Started',
  ApplicationId: 'd5eabbb8-c0f6-4640-94fd-3566edad499f',
  UserId: '2581c740-8e9d-4d63-96bc-5665bb9a646b',
  ImageRenderProcessId: '51d690da-f5ea-405e-90ff-10d56b0d633f',
  TotalTaskCount: 10,
  CompletedTaskCount: 3,
  Progress: 30.0,
  Tasks: { '24929cc8-34da-455b-a4f1-61f895ac3a06': 'Started' },
  RenderKind: 1,
  RenderType: 2,
  IsSuccessful: true,
  ErrorMessage: '',
};
const pad = 1024 - JSON.stringify(base).length;
const body = JSON.stringify({ ...base, ErrorMessage: 'x'.repeat(Math.max(0, pad)) });
const bodyBuffer = Buffer.from(body);

async function runWindow(total: number, window: number, one: () => Promise<boolean>): Promise<number> {
  let next = 0;
  let failed = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: window }, async () => {
      while (next < total) {
        next += 1;
        if (!(await one())) failed += 1;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  if (failed > 0) throw new Error(`${failed} publishes failed during the benchmark`);
  return total / seconds;
}

function bareConfirmedPublish(ch: ConfirmChannel): () => Promise<boolean> {
  let drain: Promise<void> | undefined;
  return async () => {
    if (drain !== undefined) await drain;
    const props: Options.Publish = {
      persistent: true,
      mandatory: true,
      contentType: 'application/json',
      messageId: randomUUID(),
      type: 'ImageGenerationProgress',
      timestamp: Math.floor(Date.now() / 1000),
      appId: 'bench',
    };
    return new Promise<boolean>((resolve) => {
      const ok = ch.publish(EXCHANGE_NAME, 'progress.update', bodyBuffer, props, (err: unknown) =>
        resolve(err == null),
      );
      if (!ok && drain === undefined) {
        drain = new Promise<void>((r) =>
          ch.once('drain', () => {
            drain = undefined;
            r();
          }),
        );
      }
    });
  };
}

async function preload(ch: ConfirmChannel, queue: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const ok = ch.sendToQueue(queue, bodyBuffer, {
      persistent: true,
      messageId: randomUUID(),
      type: 'ImageGenerationProgress',
      contentType: 'application/json',
    });
    if (!ok) await new Promise((r) => ch.once('drain', r));
  }
  await ch.waitForConfirms();
}

async function bareConsume(ch: Channel, queue: string, count: number): Promise<number> {
  await ch.prefetch(PREFETCH);
  let handled = 0;
  const t0 = performance.now();
  let tag = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('bare consume did not finish in 30 s')), 30_000);
    ch.consume(queue, (msg) => {
      if (msg === null) return;
      JSON.parse(msg.content.toString('utf8'));
      ch.ack(msg);
      handled += 1;
      if (handled === count) {
        clearTimeout(timer);
        resolve();
      }
    }).then((r) => {
      tag = r.consumerTag;
    }, reject);
  });
  const rate = count / ((performance.now() - t0) / 1000);
  await ch.cancel(tag);
  return rate;
}

async function heraldConsume(vhost: Awaited<ReturnType<typeof createTestVhost>>, count: number): Promise<number> {
  let handled = 0;
  let done = (): void => {};
  const finished = new Promise<void>((r) => {
    done = r;
  });
  const t0 = performance.now();
  const consumer = await consumeNotifications({
    url: `amqp://127.0.0.1:${vhost.port}/${encodeURIComponent(vhost.name)}`,
    username: vhost.username,
    password: vhost.password,
    queue: 'inbox',
    prefetch: PREFETCH,
    handler: async () => {
      handled += 1;
      if (handled === count) done();
    },
  });
  const timer = setTimeout(done, 30_000);
  await finished;
  clearTimeout(timer);
  const rate = count / ((performance.now() - t0) / 1000);
  await consumer.stop();
  if (handled < count) throw new Error(`consumer handled ${handled} of ${count} in 30 s`);
  return rate;
}

async function main(): Promise<void> {
  await using vhost = await createTestVhost('herald_bench');
  const policy = createDestinationPolicy({ allowCidrs: ['127.0.0.0/8'] });
  const publisher = createAmqpPublisher({ policy });
  const dest = {
    url: `amqp://127.0.0.1:${vhost.port}/${encodeURIComponent(vhost.name)}`,
    username: vhost.username,
    password: vhost.password,
    queueName: 'bench',
  };
  const conn = await amqp.connect(vhost.url);
  const ch = await conn.createConfirmChannel();
  const admin = await conn.createChannel();
  const herald: number[] = [];
  const bare: number[] = [];
  const consumeHerald: number[] = [];
  const consumeBare: number[] = [];
  try {
    const warm = await publisher.publish(dest, {
      body,
      messageId: randomUUID(),
      messageType: 'ImageGenerationProgress',
    });
    if (!warm.ok) throw new Error(`warm-up publish failed: ${warm.code}`);
    // The consumer's queue and dead-letter queue exist before the first preload.
    await (await heraldConsumeSetup(vhost)).stop();
    for (let round = 0; round < ROUNDS && !overBudget(); round++) {
      const publishHerald = () =>
        runWindow(PUBLISHES, WINDOW, async () => {
          const o = await publisher.publish(dest, {
            body,
            messageId: randomUUID(),
            messageType: 'ImageGenerationProgress',
          });
          return o.ok;
        });
      const publishBare = () => runWindow(PUBLISHES, WINDOW, bareConfirmedPublish(ch));
      // Alternate the order so neither side always runs on a warmer broker.
      if (round % 2 === 0) {
        herald.push(await publishHerald());
        await admin.purgeQueue('bench');
        bare.push(await publishBare());
      } else {
        bare.push(await publishBare());
        await admin.purgeQueue('bench');
        herald.push(await publishHerald());
      }
      await admin.purgeQueue('bench');

      const consumeWithHerald = async () => {
        await preload(ch, 'inbox', CONSUMES);
        consumeHerald.push(await heraldConsume(vhost, CONSUMES));
      };
      const consumeWithBare = async () => {
        await preload(ch, 'inbox', CONSUMES);
        consumeBare.push(await bareConsume(admin, 'inbox', CONSUMES));
      };
      if (round % 2 === 0) {
        await consumeWithHerald();
        await consumeWithBare();
      } else {
        await consumeWithBare();
        await consumeWithHerald();
      }
      console.log(
        `round ${round + 1}: publish herald ${herald.at(-1)?.toFixed(0)}/s, bare ${bare.at(-1)?.toFixed(0)}/s; ` +
          `consume herald ${consumeHerald.at(-1)?.toFixed(0)}/s, bare ${consumeBare.at(-1)?.toFixed(0)}/s`,
      );
    }
  } finally {
    await publisher.close();
    await conn.close().catch(() => {});
  }
  const figures = {
    bench: 'transport-amqp',
    rounds: herald.length,
    messageBytes: bodyBuffer.length,
    window: WINDOW,
    prefetch: PREFETCH,
    publishesPerRound: PUBLISHES,
    consumesPerRound: CONSUMES,
    publishHeraldPerSecMedian: Math.round(median(herald)),
    publishBarePerSecMedian: Math.round(median(bare)),
    publishRatio: Number((median(herald) / median(bare)).toFixed(3)),
    consumeHeraldPerSecMedian: Math.round(median(consumeHerald)),
    consumeBarePerSecMedian: Math.round(median(consumeBare)),
    consumeRatio: Number((median(consumeHerald) / median(consumeBare)).toFixed(3)),
    // Same-round pairs: steadier than a ratio of medians on a loaded machine.
    publishRatioPairedMedian: Number(median(herald.map((h, i) => h / (bare[i] as number))).toFixed(3)),
    consumeRatioPairedMedian: Number(median(consumeHerald.map((h, i) => h / (consumeBare[i] as number))).toFixed(3)),
  };
  console.log(
    `median confirmed publishes/s: herald ${figures.publishHeraldPerSecMedian}, bare amqplib ${figures.publishBarePerSecMedian} ` +
      `(ratio ${(figures.publishRatio * 100).toFixed(1)} %, paired ${(figures.publishRatioPairedMedian * 100).toFixed(1)} %, goal >= 80 %)`,
  );
  console.log(
    `median consumed messages/s (prefetch ${PREFETCH}): herald ${figures.consumeHeraldPerSecMedian} (validates each message), ` +
      `bare amqplib ${figures.consumeBarePerSecMedian} (JSON.parse + ack) (ratio ${(figures.consumeRatio * 100).toFixed(1)} %, paired ${(figures.consumeRatioPairedMedian * 100).toFixed(1)} %)`,
  );
  console.log(JSON.stringify(figures));
}

async function heraldConsumeSetup(vhost: Awaited<ReturnType<typeof createTestVhost>>) {
  return consumeNotifications({
    url: `amqp://127.0.0.1:${vhost.port}/${encodeURIComponent(vhost.name)}`,
    username: vhost.username,
    password: vhost.password,
    queue: 'inbox',
    prefetch: PREFETCH,
    handler: async () => {},
  });
}

await main();
