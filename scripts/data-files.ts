/** Paths of the data files carried in the repository (data/README.md says where they come from). */
import path from 'node:path';

/** The repository root, from a compiled script (dist/scripts/…) or a test (dist/test/…). */
const ROOT = path.resolve(__dirname, '../..');

/** Kafka's Metamorphosis, English (Project Gutenberg #5200): next-character experiments. */
export const METAMORPHOSIS = path.join(ROOT, 'data', 'metamorphosis.txt');
