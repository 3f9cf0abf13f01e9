// A problem in a password or ACL file, named by file and line so an operator can go
// straight to it. Errors are values with a place: callers decide whether to stop (at start)
// or keep the rules they had (on reload).

export class AuthFileError extends Error {
  override readonly name = 'AuthFileError';

  constructor(
    readonly file: string,
    /** 1-based; 0 when the problem is the file as a whole (cannot be read). */
    readonly line: number,
    readonly reason: string,
  ) {
    super(line > 0 ? `${file}:${line}: ${reason}` : `${file}: ${reason}`);
  }
}

/** Reading failed (missing file, permissions): an AuthFileError for the whole file. */
export function unreadable(file: string, err: unknown): AuthFileError {
  const code = (err as NodeJS.ErrnoException)?.code;
  return new AuthFileError(file, 0, code === 'ENOENT' ? 'no such file' : `cannot read (${code ?? String(err)})`);
}
