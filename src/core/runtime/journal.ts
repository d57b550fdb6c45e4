/**
 * What a run has changed so far, one line per change ("created database reg_ci_42"), in the
 * order it happened. A multi-step run (setup) that fails halfway reports it with the error, so
 * the operator knows what is left behind; the CLI prints it and puts it in the --json document.
 */
export class ChangeJournal {
  private readonly entries: string[] = [];

  record(change: string): void {
    this.entries.push(change);
  }

  get changes(): readonly string[] {
    return [...this.entries];
  }
}
