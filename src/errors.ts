/**
 * An error the user can cause and fix (bad config, missing dataset, unreadable
 * image). The CLI prints its one-line message and exits with code 2; anything
 * else is a bug and keeps its stack.
 */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}
