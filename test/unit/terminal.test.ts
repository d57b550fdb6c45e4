import { withoutOptionValues } from '../../src/cli/terminal.js';

describe('withoutOptionValues: usage errors do not repeat what followed an unknown option', () => {
  test.each([
    ["error: unknown option '--password=hunter2'", "error: unknown option '--password=…'"],
    ["error: unknown option '--password=ab'cd3fg'", "error: unknown option '--password=…'"], // a quote inside the value
    ["error: unknown option '-pS3cret'", "error: unknown option '-p…'"], // a short option's cluster
    ["error: unknown option '--rotate-pasword=x'\n(Did you mean --rotate-password?)", "error: unknown option '--rotate-pasword=…'\n(Did you mean --rotate-password?)"],
    ["error: unknown option '--bogus'", "error: unknown option '--bogus'"],
    ["error: unknown option '-x'", "error: unknown option '-x'"],
    ["error: unknown command 'migrat'", "error: unknown command 'migrat'"],
  ])('%j', (message, expected) => {
    expect(withoutOptionValues(message)).toBe(expected);
  });
});
