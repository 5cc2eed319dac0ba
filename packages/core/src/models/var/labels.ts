/** Class labels as the models take them: integers in [0, numClasses], where numClasses is unconditional. */
import { UsageError } from '../../errors.js';

export function validateLabels(labels: readonly number[], numClasses: number): Int32Array {
  if (!Array.isArray(labels) || labels.length === 0) {
    throw new UsageError(
      `labels must be a non-empty array of class indices in 0..${numClasses} (${numClasses} = unconditional)`,
    );
  }
  labels.forEach((label, i) => {
    if (!Number.isInteger(label) || label < 0 || label > numClasses) {
      throw new UsageError(
        `labels[${i}] = ${label} is not a class index: use an integer in 0..${numClasses} (${numClasses} = unconditional)`,
      );
    }
  });
  return Int32Array.from(labels);
}
