import { tagRowCount } from '../../src/core/db/batch.js';

describe('tagRowCount: the row count in a CommandComplete tag', () => {
  test.each([
    ['INSERT 0 1', 1],
    ['INSERT 0 0', 0],
    ['UPDATE 12', 12],
    ['DELETE 0', 0],
    ['SELECT 3', 3],
    ['CREATE TABLE', undefined],
    ['BEGIN', undefined],
    ['', undefined],
  ])('%j → %p', (tag, count) => {
    expect(tagRowCount(tag)).toBe(count);
  });
});
