/**
 * When and under what load a saved experiment suite's runs were measured: the whole suite, then
 * each `--methods` re-run, which replaces those methods' runs.
 */
export interface Part {
  /** 'all', or the re-run's method names joined by ', '. */
  methods: string;
  date: string;
  loadAverage?: { start: number[]; end: number[] };
}

/** What a saved suite says of its parts (one written before parts were recorded was measured whole). */
export interface SavedParts {
  date: string;
  loadAverage?: Part['loadAverage'];
  parts?: Part[];
}

/** A saved suite's parts. */
export const partsOf = (saved: SavedParts): Part[] =>
  saved.parts ?? [{ methods: 'all', date: saved.date, loadAverage: saved.loadAverage }];

/**
 * The parts after a re-run of `methods` measured as `part`: an earlier re-run of only those methods
 * no longer measured any run, so it is dropped (the whole-suite part stays: its other methods' runs remain).
 */
export function partsAfterRerun(saved: SavedParts, methods: readonly string[], part: Part): Part[] {
  const rerun = new Set(methods);
  const superseded = (p: Part) => p.methods !== 'all' && p.methods.split(', ').every((m) => rerun.has(m));
  return [...partsOf(saved).filter((p) => !superseded(p)), part];
}

/** "8.2→9.1", the 1-minute load averages at a part's start and end. */
export const loadOf = (p: Part): string =>
  p.loadAverage ? `${p.loadAverage.start[0].toFixed(1)}→${p.loadAverage.end[0].toFixed(1)}` : 'not recorded';

/** A part as the report header shows it. */
export const describePart = (p: Part): string =>
  p.methods === 'all' ? loadOf(p) : `${p.methods} re-run ${p.date.slice(0, 16)}Z ${loadOf(p)}`;
