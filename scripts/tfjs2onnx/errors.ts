/** A conversion failure that names where it happened: the file, and the graph node and op when known. */
export class ConvertError extends Error {
  constructor(
    message: string,
    readonly where: { file?: string; node?: string; op?: string } = {},
  ) {
    const parts = [
      where.file && `file ${where.file}`,
      where.node && `node '${where.node}'`,
      where.op && `op ${where.op}`,
    ].filter(Boolean);
    super(parts.length ? `${message} (${parts.join(', ')})` : message);
    this.name = 'ConvertError';
  }
}
