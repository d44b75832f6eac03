/** The middle sample (upper middle of an even count): what bench runs and comparisons report. */
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
