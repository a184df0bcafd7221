import type { FastReceiver } from './bench-helpers.ts';

/** Placeholder until the API and client are available in this tree. */
export async function measureSteadyState(
  _receiver: FastReceiver,
  _options: { rate: number; seconds: number; log: (line: string) => void },
): Promise<Record<string, number | string | null>> {
  return { steadyP50Ms: null, steadyP99Ms: null, highestSustainedRate: null };
}
