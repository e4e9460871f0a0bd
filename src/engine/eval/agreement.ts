import { TriagemError } from '../errors.js';
import { cohensKappa, kappaBand } from './metrics.js';
import { readLabels, type LabelProblem, type LabelSet } from './truth.js';

export interface Disagreement {
  path: string;
  a: string;
  b: string;
}

/** Two annotators' labels for the same files. Keys are the JSON keys of `triagem agreement --json`. */
export interface AgreementReport {
  a: string;
  b: string;
  /** Files labelled by both. */
  n: number;
  /** Rows and columns of `confusion`: a's labels, then labels only b used. */
  labels: string[];
  observed_agreement: number;
  /** Agreement expected by chance from each annotator's label frequencies. */
  expected_agreement: number;
  kappa: number | null;
  kappa_note: string | null;
  /** Landis & Koch's words for kappa ("substantial"…). */
  kappa_band: string | null;
  /** a's label → b's label → count. */
  confusion: Record<string, Record<string, number>>;
  /** Sorted by path. */
  disagreements: Disagreement[];
  only_in_a: string[];
  only_in_b: string[];
  problems: LabelProblem[];
}

/**
 * Cohen's kappa, observed agreement and the files two annotators label differently. Files are matched
 * by absolute path (a relative path in each CSV is resolved against that CSV's folder); labels match
 * case-insensitively, as sort labels do.
 */
export function compareAnnotations(a: LabelSet, b: LabelSet): AgreementReport {
  const canonical = new Map<string, string>();
  const labels: string[] = [];
  const canon = (label: string) => {
    const key = label.toLocaleLowerCase();
    let known = canonical.get(key);
    if (known === undefined) {
      known = label;
      canonical.set(key, label);
      labels.push(label);
    }
    return known;
  };
  a.labels.forEach(canon);
  b.labels.forEach(canon);

  const pairs: { path: string; a: string; b: string }[] = [];
  const onlyInA: string[] = [];
  for (const [file, label] of a.entries) {
    const other = b.entries.get(file);
    if (other === undefined) onlyInA.push(file);
    else pairs.push({ path: file, a: canon(label), b: canon(other) });
  }
  const onlyInB = [...b.entries.keys()].filter((file) => !a.entries.has(file));
  if (pairs.length === 0) {
    throw new TriagemError(
      `no file is labelled in both ${a.source} and ${b.source} (relative paths are resolved against each CSV's own folder)`,
      'agreement-empty',
    );
  }

  const index = new Map(labels.map((l, i) => [l, i]));
  const matrix = labels.map(() => new Array<number>(labels.length).fill(0));
  for (const p of pairs) matrix[index.get(p.a)!][index.get(p.b)!]++;
  const kappa = cohensKappa(matrix);
  const byPath = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  return {
    a: a.source,
    b: b.source,
    n: pairs.length,
    labels,
    observed_agreement: kappa.observed,
    expected_agreement: kappa.expected,
    kappa: kappa.kappa,
    kappa_note: kappa.note,
    kappa_band: kappaBand(kappa.kappa),
    confusion: Object.fromEntries(labels.map((l, i) => [l, Object.fromEntries(labels.map((c, j) => [c, matrix[i][j]]))])),
    disagreements: pairs
      .filter((p) => p.a !== p.b)
      .sort((x, y) => byPath(x.path, y.path))
      .map(({ path, a: la, b: lb }) => ({ path, a: la, b: lb })),
    only_in_a: onlyInA.sort(byPath),
    only_in_b: onlyInB.sort(byPath),
    problems: [...a.problems, ...b.problems],
  };
}

/** `triagem agreement`: two label sources (CSV files or folder trees) compared. */
export function agreementBetween(a: string, b: string): AgreementReport {
  return compareAnnotations(readLabels(a, 'annotations'), readLabels(b, 'annotations'));
}
