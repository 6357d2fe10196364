import { createHmac } from 'node:crypto';
import { ANONYMOUS, isAnonymous, normaliseNumber, pseudonymise } from '../../src/ledger/pseudonym';

const KEY = 'unit-test-key-0123456789abcdef';

describe('caller pseudonyms', () => {
  test.each([
    ['0612345678', '+212612345678'],
    ['06 12 34 56 78', '+212612345678'],
    ['06-12-34-56-78', '+212612345678'],
    ['06.12.34.56.78', '+212612345678'],
    ['(0612) 345 678', '+212612345678'],
    ['00212612345678', '+212612345678'],
    ['+212 6 12 34 56 78', '+212612345678'],
    ['212612345678', '+212612345678'],
    ['0033612345678', '+33612345678'],
    ['+33 6 12 34 56 78', '+33612345678'],
    ['0522', '0522'],
    ['15', '15'],
  ])('When the number %p is normalised, then it becomes %p', (raw, want) => {
    expect(normaliseNumber(raw)).toBe(want);
  });

  test.each(['', '   ', 'anonymous', 'Anonymous', 'unknown', 'Restricted', 'PRIVATE', 'unavailable', 'abc'])(
    'When the caller ID is %p, then it normalises to the fixed anonymous token',
    (raw) => {
      expect(normaliseNumber(raw)).toBe(ANONYMOUS);
      expect(isAnonymous(raw)).toBe(true);
    },
  );

  test('When the same caller arrives in different formats, then they get one pseudonym: the HMAC-SHA256 of the normalised number', () => {
    const forms = ['0612345678', '+212612345678', '00212612345678', '212 6 12 34 56 78', '06-12-34-56-78'];
    const ps = new Set(forms.map((f) => pseudonymise(f, KEY)));
    expect(ps.size).toBe(1);
    expect([...ps][0]).toBe(createHmac('sha256', KEY).update('+212612345678').digest('hex'));
    expect([...ps][0]).toMatch(/^[0-9a-f]{64}$/);
  });

  test('When two callers or two keys differ, then the pseudonyms differ and do not contain the number', () => {
    const a = pseudonymise('0612345678', KEY);
    expect(pseudonymise('0612345679', KEY)).not.toBe(a);
    expect(pseudonymise('0612345678', `${KEY}x`)).not.toBe(a);
    expect(a).not.toContain('612345678');
  });

  test('When the key is missing or short, then pseudonymise refuses', () => {
    expect(() => pseudonymise('0612345678', '')).toThrow(/shorter than 16/);
    expect(() => pseudonymise('0612345678', 'short')).toThrow(/shorter than 16/);
  });
});
