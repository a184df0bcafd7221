import type { Writable } from 'node:stream';
import pc from 'picocolors';

export interface OutputOptions {
  json: boolean;
  color: boolean;
  stdout?: Writable & { isTTY?: boolean };
  stderr?: Writable & { isTTY?: boolean };
}

type Colors = Pick<typeof pc, 'bold' | 'dim' | 'green' | 'red' | 'yellow' | 'cyan'>;

/** Human output (tables, colour on a TTY) or one JSON document per result with `--json`. */
export interface Output {
  readonly json: boolean;
  readonly c: Colors;
  /** A result: JSON with --json, else the human text. */
  result(value: unknown, human: () => string): void;
  /** A line for humans on stderr (kept out of --json stdout). */
  note(text: string): void;
  /** A progress line on stderr, only on a TTY and without --json. */
  progress(text: string): void;
  table(rows: ReadonlyArray<Record<string, string>>, columns: readonly string[]): string;
}

export function createOutput(options: OutputOptions): Output {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const useColor = options.color && stdout.isTTY === true;
  const c: Colors = pc.createColors(useColor);
  const progressOn = !options.json && stderr.isTTY === true;
  let progressShown = false;
  const clearProgress = () => {
    if (progressShown) {
      stderr.write('\r\x1b[K');
      progressShown = false;
    }
  };
  return {
    json: options.json,
    c,
    result(value, human) {
      clearProgress();
      stdout.write(options.json ? `${JSON.stringify(value)}\n` : `${human()}\n`);
    },
    note(text) {
      clearProgress();
      if (!options.json) stderr.write(`${text}\n`);
    },
    progress(text) {
      if (!progressOn) return;
      stderr.write(`\r\x1b[K${text}`);
      progressShown = true;
    },
    table(rows, columns) {
      if (rows.length === 0) return c.dim('(none)');
      const widths = columns.map((col) => Math.max(col.length, ...rows.map((r) => (r[col] ?? '').length)));
      const line = (cells: string[]) =>
        cells
          .map((cell, i) => cell.padEnd(widths[i] ?? 0))
          .join('  ')
          .trimEnd();
      return [c.bold(line([...columns])), ...rows.map((r) => line(columns.map((col) => r[col] ?? '')))].join('\n');
    },
  };
}
