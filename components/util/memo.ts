/**
 * Memoization for pure functions of one string (parsers called by many rules on the same text).
 * Bounded: the oldest entry goes when `max` is reached. Callers must treat results as read-only.
 */
export function memoizeText<T>(fn: (text: string) => T, max = 256): (text: string) => T {
  const cache = new Map<string, T>();
  return (text: string): T => {
    const hit = cache.get(text);
    if (hit !== undefined || cache.has(text)) return hit as T;
    const value = fn(text);
    if (cache.size >= max) cache.delete(cache.keys().next().value!);
    cache.set(text, value);
    return value;
  };
}
