// Label values from the outside world (topic names, IQ payloads) are unbounded; Prometheus
// keeps one series per value. A LabelCap admits the first `max` distinct values it is asked
// about and folds every later one into `_other`, so the number of series stays bounded.
export const OTHER = '_other';

export class LabelCap {
  private readonly admitted = new Set<string>();

  constructor(readonly max: number) {}

  label(value: string): string {
    if (this.admitted.has(value)) return value;
    if (this.admitted.size >= this.max) return OTHER;
    this.admitted.add(value);
    return value;
  }
}
