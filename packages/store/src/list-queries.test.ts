import assert from 'node:assert/strict';
import { DatabaseSync, type SQLInputValue } from 'node:sqlite';
import { describe, it } from 'node:test';
import { listAttemptsQuery } from './list-queries.ts';
import { SQLITE_MIGRATIONS } from './sqlite-migrations.ts';

/** The query plan's steps for one listing, on the schema every migration leaves (no statistics, as after set-up). */
function planOf(filter: Parameters<typeof listAttemptsQuery>[2]): string[] {
  const db = new DatabaseSync(':memory:');
  try {
    for (const m of SQLITE_MIGRATIONS) db.exec(m.sql);
    const q = listAttemptsQuery('sqlite', 'app', filter, {});
    return db
      .prepare(`EXPLAIN QUERY PLAN ${q.sql}`)
      .all(...(q.params as SQLInputValue[]))
      .map((r) => String(r['detail']));
  } finally {
    db.close();
  }
}

describe('listAttemptsQuery on SQLite', () => {
  it("reads a delivery's or a message's attempts through attempts_delivery, not every attempt of the application", () => {
    for (const filter of [{ deliveryId: 'd' }, { messageId: 'm' }]) {
      const plan = planOf(filter);
      assert.ok(
        plan.some((step) => step.includes('attempts USING INDEX attempts_delivery')),
        `${JSON.stringify(filter)}: ${plan.join(' | ')}`,
      );
      assert.ok(!plan.some((step) => step.includes('attempts_application')), plan.join(' | '));
    }
  });

  it('pages all attempts of an application through attempts_application', () => {
    assert.ok(planOf({}).some((step) => step.includes('attempts USING INDEX attempts_application')));
  });

  it('leaves no attempts index on message_id after the migrations', () => {
    const db = new DatabaseSync(':memory:');
    try {
      for (const m of SQLITE_MIGRATIONS) db.exec(m.sql);
      const names = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'attempts'")
        .all()
        .map((r) => String(r['name']));
      assert.ok(!names.includes('attempts_message'), names.join(', '));
      assert.ok(names.includes('attempts_delivery'));
    } finally {
      db.close();
    }
  });
});
