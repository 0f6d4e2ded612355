/** A kernel file whose content could not be parsed. Always names the file it came from. */
export class ParseError extends Error {
  constructor(
    readonly file: string,
    readonly detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = 'ParseError';
  }
}
