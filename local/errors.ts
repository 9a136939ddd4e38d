/**
 * Errors the local stack reports to the person running it. Each message is one line that says
 * what is wrong and what to do, because `npm start` prints it as is and exits 1.
 */

/** A startup problem the user can fix (Java missing, a port in use, a bad variable). */
export class LocalStackError extends Error {
  override readonly name = 'LocalStackError';
}
