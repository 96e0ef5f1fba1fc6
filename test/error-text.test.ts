/** errorText (src/lib/errors.ts): what a page shows of a thrown thing is never empty. */
import { describe, expect, it } from 'vitest';
import { errorText } from '../src/lib/errors.ts';

describe('errorText', () => {
  it('a message, else the name (a DOMException with only its name: an IndexedDB quota abort), else the thing as text', () => {
    expect(errorText(new Error('disk on fire'))).toBe('disk on fire');
    expect(errorText(new DOMException('', 'QuotaExceededError'))).toBe('QuotaExceededError');
    expect(errorText({ name: 'AbortError' })).toBe('AbortError');
    expect(errorText(new Error(''))).toBe('Error');
    expect(errorText('plain text')).toBe('plain text');
    expect(errorText(42)).toBe('42');
    expect(errorText(null)).toBe('unknown error');
    expect(errorText(undefined)).toBe('unknown error');
  });
});
